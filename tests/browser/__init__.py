"""Browser tests in real Chromium (Debian's /usr/bin/chromium) through pytest-playwright."""
