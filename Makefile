# ReturnDesk: `make run` serves the demo, `make test` runs the tests. Nothing else to install.
VENV ?= .venv
PY := $(VENV)/bin/python
# The port `make run` serves; every flask command gets it, so that the links in the emails
# the server, the seed and the workers write lead to it (unless PUBLIC_URL says otherwise).
PORT ?= 5000
FLASK := PORT=$(PORT) $(VENV)/bin/flask --app app
export FLASK_APP := app

.PHONY: run test setup worker lint format lock translations bench screenshots

# Every package, transitive ones included, comes pinned and hash-checked from the lock files.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.txt -r requirements-dev.txt
	touch $@

translations/nl/LC_MESSAGES/messages.mo: translations/nl/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations

# Our corrections to Flask-Admin's own words (admin_views.read_our_admin_words_last).
translations/nl/LC_MESSAGES/admin.mo: translations/nl/LC_MESSAGES/admin.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations -D admin

# The formal ("u") variants of the customer-facing Dutch (domain/formal_address.py).
translations_formal/nl/LC_MESSAGES/messages.mo: translations_formal/nl/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d translations_formal

setup: $(VENV)/.installed translations/nl/LC_MESSAGES/messages.mo \
	translations/nl/LC_MESSAGES/admin.mo translations_formal/nl/LC_MESSAGES/messages.mo

run: setup
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -m "not services" -n auto

worker: setup
	$(FLASK) rq worker

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# `make lock` pins requirements*.in into requirements*.txt with hashes; versions already
# pinned stay unless the .in file no longer allows them (README "Dependencies").
LOCK := $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	$(LOCK) $(LOCK_FLAGS) --output-file requirements.txt requirements.in
	$(LOCK) $(LOCK_FLAGS) --output-file requirements-dev.txt requirements-dev.in

# `make bench` runs the benchmark kit at a small size; `make bench FULL=1` at 1,000,000 requests.
bench: setup
	$(PY) bench/run.py $(if $(FULL),--full)

# `make screenshots` walks the demo through the seed's story in Debian's Chromium and writes
# PNGs (desktop and phone, Dutch and English) to docs/screenshots/.
screenshots: setup
	$(PY) docs/screenshots/make_screenshots.py

translations: setup
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o translations/messages.pot .
	$(VENV)/bin/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
