# driftwarden — `make demo` and `make test` are the whole set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PG_DIR ?= .pg
PG_PORT ?= 55432
PYTEST_ARGS ?=

.PHONY: install demo test lint bench system-deps pg-start pg-stop dashboard clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

## demo: install, build the lending demo on ./driftwarden.db, analyse it, start the dashboard
demo: install
	$(VENV)/bin/driftwarden demo
	$(VENV)/bin/driftwarden dashboard --port 8501

dashboard: install
	$(VENV)/bin/driftwarden dashboard --port 8501

pg-start: system-deps install
	$(PY) scripts/pgcluster.py start --dir $(PG_DIR) --port $(PG_PORT)

pg-stop:
	-$(PY) scripts/pgcluster.py stop --dir $(PG_DIR)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

## test: install, lint, type-check, every test on SQLite and PostgreSQL (and in Chromium)
test: install system-deps lint
	DRIFTWARDEN_TEST_POSTGRES_URL=$${DRIFTWARDEN_TEST_POSTGRES_URL:-$$($(PY) scripts/pgcluster.py start --dir $(PG_DIR) --port $(PG_PORT))} \
	DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS=true \
	$(PY) -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

## bench: speed and memory benchmarks, JSON lines into bench/results/
bench: install system-deps
	mkdir -p bench/results
	export DRIFTWARDEN_BENCH_POSTGRES_URL=$$($(PY) scripts/pgcluster.py start --dir $(PG_DIR) --port $(PG_PORT)); \
	for b in ingest analyze fairness explain dashboard; do \
	  if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; $(PY) bench/$$b.py | tee bench/results/$$b.jsonl; fi; \
	done

clean:
	rm -rf $(VENV) .pg driftwarden.db driftwarden.db-* tests/artifacts
