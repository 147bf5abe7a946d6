# The two commands a new machine needs:  `make run`  and  `make test`.
# Python 3.12 or newer where the machine has it: coverage measures through sys.monitoring there, at
# almost no cost (3.11's tracer doubles the suite's time).
PY ?= $(or $(shell for p in python3.12 python3.13 $$(ls -d $$HOME/.pyenv/versions/3.1[23].*/bin/python3 2>/dev/null); do \
	$$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done),python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run reset test test-sqlite test-postgres contracts openapi bench lint

# uv installs in a third of pip's time (and compiles the bytecode the suite's workers would otherwise
# each compile again).
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $(STAMP)

## Set up and serve on 127.0.0.1:8000: SQLite file, simulated carrier, demo data, a fresh admin key.
run: $(STAMP)
	$(BIN)/spares serve --demo

## Start the demo afresh: every table of the database emptied, migrated and seeded again.
reset: $(STAMP)
	$(BIN)/spares seed-demo --reset

## Set up and run the whole suite on SQLite and on PostgreSQL (127.0.0.1:5432, user postgres) at once,
## under coverage; prints each half's time and the coverage of app/.
test: $(STAMP)
	$(BIN)/python -m tests.run_halves --pg $(PG_TEST_URL)

## The package boundaries (import-linter contracts in pyproject.toml); also run by the test suite.
contracts: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 2

test-postgres: $(STAMP)
	PYTHONDONTWRITEBYTECODE= TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -n 3

openapi: $(STAMP)
	$(BIN)/spares openapi

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/lint-imports

## Benchmarks (need PostgreSQL on 127.0.0.1:5432); numbers go in bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench.intake_load
	$(BIN)/python -m bench.allocation_scale
	$(BIN)/python -m bench.simulation_year --days 14
