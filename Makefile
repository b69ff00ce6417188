# Two commands do all the setup: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Where `make serve`'s gunicorn workers count rate limits together (production refuses
# per-process memory:// counts when several processes serve).
RATELIMIT_STORAGE_URI ?= redis://127.0.0.1:6379/0
export FLASK_APP := surveyapp

.PHONY: run test test-postgres audit lint db serve clean translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: set up everything and serve on http://127.0.0.1:5000
run: db
	$(BIN)/flask run --host $(HOST) --port $(PORT)

## db: upgrade the database, load Table 1 when the registry is empty, create a first admin
db: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask registry import-table1 --if-empty
	$(BIN)/flask users create-first-admin

## test: lint and run the whole suite (SQLite)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/pytest

## audit: static security checks (bandit) and known vulnerabilities (pip-audit)
audit: $(VENV)/.installed-dev
	$(BIN)/bandit -q -r surveyapp -x surveyapp/dashboard/data
	.ci/pip-audit

## test-postgres: run the whole suite against PostgreSQL at $(PG_TEST_URL)
test-postgres: $(VENV)/.installed-dev
	SURVEYAPP_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

## serve: production-style serving with gunicorn (needs SECRET_KEY and Redis)
serve: db
	SURVEYAPP_CONFIG=production RATELIMIT_STORAGE_URI=$(RATELIMIT_STORAGE_URI) $(BIN)/gunicorn --workers 3 --bind $(HOST):$(PORT) 'surveyapp:create_app()'

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

## translations: extract translatable text, update the catalogues, compile them
translations: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -k lazy_gettext --no-location --sort-output \
		--project surveyapp -o surveyapp/translations/messages.pot .
	$(BIN)/pybabel update -i surveyapp/translations/messages.pot -d surveyapp/translations \
		--no-fuzzy-matching --width 100
	$(BIN)/pybabel compile -d surveyapp/translations --statistics
