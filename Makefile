# City Meetups — `make run`, `make test`, `make lint` and `make bench` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
MEETUPS_PORT ?= 5000
PO_FILES := $(wildcard meetups/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test lint bench install install-dev translations extract-messages clean

run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Serving http://127.0.0.1:$(MEETUPS_PORT)  (Ctrl-C stops it)"
	$(FLASK) run --host 127.0.0.1 --port $(MEETUPS_PORT)

test: install-dev translations
	$(PY) -m pytest $(PYTEST_ARGS)

# ruff: pyflakes, pycodestyle, import order and a few bug patterns (configured in pyproject.toml).
lint: install-dev
	$(VENV)/bin/ruff check .

bench: install-dev translations
	$(PY) -m bench

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

translations: $(MO_FILES)

# Fuzzy entries (guesses left by `pybabel update`) are not compiled: they may be wrong, and
# tests/test_i18n.py fails until a translator has reviewed them.
%.mo: %.po | $(VENV)/.installed
	$(VENV)/bin/pybabel compile --statistics -i $< -o $@

# Developers: after adding translatable text, refresh the catalogues and fill in the Chinese
# (tests/test_i18n.py fails while a message is untranslated or fuzzy).
LOCALES := zh
POT := meetups/translations/messages.pot
extract-messages: install
	mkdir -p $(dir $(POT))
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-comments=TRANSLATORS: \
		--project="City Meetups" -o $(POT) .
	@for locale in $(LOCALES); do \
		if [ -f meetups/translations/$$locale/LC_MESSAGES/messages.po ]; then action=update; else action=init; fi; \
		echo "$(VENV)/bin/pybabel $$action -l $$locale"; \
		$(VENV)/bin/pybabel $$action -i $(POT) -d meetups/translations -l $$locale $$([ $$action = update ] && echo --ignore-obsolete) || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache
