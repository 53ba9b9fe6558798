# Two commands for a newcomer: `make run` and `make test`. Each sets up .venv/ itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)  ## serve on 127.0.0.1:8000 with the embedded SQLite store under ./var
	$(BIN)/caseledger serve

demo: $(STAMP)  ## load the demo county into the embedded store
	$(BIN)/caseledger demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck  ## lint, type-check, then the whole suite on SQLite, memory and PostgreSQL
	$(BIN)/python -m pytest -n 2

bench: $(STAMP)  ## benchmarks on PostgreSQL (127.0.0.1:5432 or CASELEDGER_DATABASE_URL)
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
