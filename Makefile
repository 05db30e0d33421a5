# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Test services; scripts/services.sh starts them on 127.0.0.1 only.
TEST_DATABASE_URL ?= postgres://app:app@127.0.0.1:5432/adt
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# The suite runs in this many processes (pytest-xdist), each on a test database of its own.
TEST_WORKERS ?= 2

.PHONY: run test venv services lint format messages bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

run: venv
	bash scripts/system_packages.sh
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo
	@echo "  Abnormal Device Tracking is running at http://$(HOST):$(PORT)/"
	@$(PY) manage.py demo_logins
	@echo
# The background worker (legacy imports) runs beside the server and is stopped with it.
	$(PY) manage.py db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --ws websockets-sansio --lifespan off

services:
	bash scripts/system_packages.sh
	bash scripts/services.sh

test: venv services
	ADT_REQUIRE_TOPOLOGY=1 DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Performance figures (ratios against baselines measured in the same run), on PostgreSQL.
bench: venv services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m scripts.bench

# Regenerate the Chinese catalogue: the project's strings and Unfold's own (Unfold ships none).
messages: venv
	bash scripts/messages.sh

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
