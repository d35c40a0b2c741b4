"""The test suite; tests/conftest.py holds fixtures and factories."""
