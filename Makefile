# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test venv bench clean

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

# The whole test suite: SQLite, a throwaway PostgreSQL the suite starts itself, and the labs.
test: venv
	scripts/ensure-chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) oneroof-demo.db govgate-reports .pytest_cache
