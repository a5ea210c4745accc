# Chairside: the commands a newcomer needs.
#   make run   set up and run the whole app (web, Celery worker and beat) with demo data
#   make test  set up and run the tests
# With DATABASE_URL and REDIS_URL set, both use PostgreSQL and Redis instead of the
# embedded defaults (SQLite and a file-system broker under var/).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes side by side (pytest-xdist); TEST_WORKERS=0 runs in one.
TEST_WORKERS ?= 3

.PHONY: run test venv dev-venv lint check migrate seed bench clean

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed
dev-venv: $(BIN)/.installed-dev

run: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo --once
	DEBUG=$${DEBUG:-1} HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m config.run_local

test: dev-venv
	DEBUG=$${DEBUG:-1} $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

check: dev-venv
	DEBUG=1 $(BIN)/python manage.py check
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

migrate: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput

seed: venv
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py seed_demo

clean:
	rm -rf var staticfiles .pytest_cache
