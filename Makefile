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

# The page's browser tests drive Debian's chromium through playwright (whose own browser
# download cannot work offline) and check it with axe-core from npm. Both are installed here
# when missing and the machine allows it (root with apt-get; npm); otherwise those tests skip
# and say why.
$(BIN)/.browser-installed: $(BIN)/.dev-installed
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium could not be installed: the browser tests will be skipped"
	@[ -f $(VENV)/axe/node_modules/axe-core/axe.min.js ] || { command -v npm >/dev/null \
	  && npm install --silent --no-audit --no-fund --prefix $(VENV)/axe axe-core@4; } \
	  || echo "axe-core could not be installed: the accessibility check will be skipped"
	touch $@

install: $(BIN)/.installed

dev: $(BIN)/.dev-installed $(BIN)/.browser-installed

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
