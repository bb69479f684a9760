# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= siyu-data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres lint typecheck bench clean

$(BIN)/siyu: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(BIN)/siyu

run: $(BIN)/siyu
	$(BIN)/siyu demo $(DATA)
	$(BIN)/siyu serve --data $(DATA) --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL (127.0.0.1:5432, database `test`).
test: $(BIN)/siyu
	$(BIN)/ruff check src tests bench
	SIYU_TEST_DB=sqlite $(BIN)/pytest
	SIYU_TEST_DB=postgresql $(BIN)/pytest

test-sqlite: $(BIN)/siyu
	SIYU_TEST_DB=sqlite $(BIN)/pytest

test-postgres: $(BIN)/siyu
	SIYU_TEST_DB=postgresql $(BIN)/pytest

lint: $(BIN)/siyu
	$(BIN)/ruff check src tests bench

typecheck: $(BIN)/siyu
	$(BIN)/mypy

bench: $(BIN)/siyu
	$(BIN)/python -m bench ingest

clean:
	rm -rf $(VENV) $(DATA)
