# driftwarden — `make demo` and `make test` are the whole set-up on a fresh machine.
# Overrides: make test PG_PORT=55433 PG_DIR=/tmp/dw-pg  (the throwaway PostgreSQL cluster),
#            make demo PORT=8502                        (the dashboard's port).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PG_DIR ?= .pg
PG_PORT ?= 55432
PORT ?= 8501
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
## (the dashboard stays in the foreground: Ctrl-C stops it; `make dashboard` restarts it)
demo: install
	$(VENV)/bin/driftwarden demo
	@echo "Dashboard at http://localhost:$(PORT) - runs in the foreground, Ctrl-C stops it."
	$(VENV)/bin/driftwarden dashboard --port $(PORT)

dashboard: install
	$(VENV)/bin/driftwarden dashboard --port $(PORT)

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
	for b in ingest analyze fairness explain dashboard estimated backtest calibration serve scale; do \
	  if [ -f bench/$$b.py ]; then echo "== bench/$$b.py"; $(PY) bench/$$b.py | tee bench/results/$$b.jsonl; fi; \
	done

## clean: stop and delete the PostgreSQL cluster (PG_DIR and the default .pg), the venv,
## the demo database and test artifacts
clean:
	$(PYTHON) scripts/pgcluster.py remove --dir $(PG_DIR)
	$(PYTHON) scripts/pgcluster.py remove --dir .pg
	rm -rf $(VENV) driftwarden.db driftwarden.db-* tests/artifacts
