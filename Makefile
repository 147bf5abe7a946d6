# The two commands a new machine needs:  `make run`  and  `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: run test test-sqlite test-postgres contracts openapi bench lint

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

## Set up and serve on 127.0.0.1:8000: SQLite file, simulated carrier, demo data, a fresh admin key.
run: $(STAMP)
	$(BIN)/spares serve --demo

## Set up and run the whole suite on SQLite, then on PostgreSQL (127.0.0.1:5432, user postgres).
test: test-sqlite test-postgres

## The package boundaries (import-linter contracts in pyproject.toml); also run by the test suite.
contracts: $(STAMP)
	$(BIN)/lint-imports

test-sqlite: $(STAMP)
	$(BIN)/pytest

test-postgres: $(STAMP)
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

openapi: $(STAMP)
	$(BIN)/spares openapi

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/lint-imports

## Benchmarks (need PostgreSQL on 127.0.0.1:5432); numbers go in bench/README.md.
bench: $(STAMP)
	$(BIN)/python -m bench.swap_throughput --requests 1000 --concurrency 32
