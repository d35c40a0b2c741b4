# City Meetups — the two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
MEETUPS_PORT ?= 5000
PO_FILES := $(wildcard meetups/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test bench install install-dev translations extract-messages clean

run: install translations
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "Serving http://127.0.0.1:$(MEETUPS_PORT)  (Ctrl-C stops it)"
	$(FLASK) run --host 127.0.0.1 --port $(MEETUPS_PORT)

test: install-dev translations
	$(PY) -m pytest $(PYTEST_ARGS)

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

%.mo: %.po | $(VENV)/.installed
	$(VENV)/bin/pybabel compile --use-fuzzy -i $< -o $@

# Developers: after adding translatable text, refresh the catalogues and fill in the Chinese.
extract-messages: install-dev
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o meetups/translations/messages.pot .
	$(VENV)/bin/pybabel update -i meetups/translations/messages.pot -d meetups/translations

clean:
	rm -rf $(VENV) .pytest_cache
