# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint format venv bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# The main job on the embedded SQLite default: build One-Roof, show its gate and gap.
demo: venv
	$(BIN)/govgate demo
	$(BIN)/govgate status --why
	$(BIN)/govgate gap

# The whole test suite: SQLite, throwaway PostgreSQL and MariaDB servers the suite starts
# itself, the Directus lab and headless Chromium.
test: venv
	scripts/ensure-chromium
	scripts/ensure-mariadb
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Formatting and lint rules (pyproject.toml [tool.ruff]); CI runs this before the tests.
lint: venv
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

format: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) oneroof-demo.db govgate-reports .pytest_cache
