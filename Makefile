# Two commands for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA ?= $(CURDIR)/.data
QUERY ?= talks on the withdrawal of US forces from Iraq

.PHONY: run test lint format install dev clean

# torch is pinned in the same pip command as the project, so pip takes the CPU build on this
# disk instead of resolving a multi-GB CUDA build for sentence-transformers.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "torch==2.13.0" -e .
	touch $@

$(BIN)/.dev-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet "torch==2.13.0" -e ".[dev]"
	touch $@

install: $(BIN)/.installed

dev: $(BIN)/.dev-installed

run: install
	$(BIN)/newsarchive ingest seeds/ --data "$(DATA)"
	$(BIN)/newsarchive search "$(QUERY)" --data "$(DATA)" --limit 3

test: dev
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .data .pytest_cache
