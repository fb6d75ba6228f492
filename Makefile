# The two commands of the README: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint format venv lock lock-check bench reliability clean

venv: $(VENV)/.installed

# The development venv: exactly requirements/dev.txt (hash-checked), then govgate itself, editable,
# built offline by the locked setuptools.
$(VENV)/.installed: requirements/dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The two lock files, made by uv (pinned in requirements/dev.in) from pyproject.toml:
#   requirements/runtime.txt  what `pip install govgate` needs: deploy/install.sh installs it
#   requirements/dev.txt      that, plus the `test` extra and requirements/dev.in: `make venv`
# Pins already in a lock are kept unless pyproject.toml rules them out; to move them,
# `make lock LOCK_ARGS=--upgrade` (everything) or `LOCK_ARGS="--upgrade-package rich"`.
# `make lock-check` (part of `make lint`, so CI runs it) re-resolves into a scratch copy and
# fails on any difference of versions: a dependency changed in pyproject.toml without `make lock`.
UV = $(abspath $(BIN)/uv)
LOCK_FLAGS = --quiet --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" $(LOCK_ARGS)
define compile-locks
	cd $(1) && $(UV) pip compile $(LOCK_FLAGS) pyproject.toml -o requirements/runtime.txt
	cd $(1) && $(UV) pip compile $(LOCK_FLAGS) pyproject.toml requirements/dev.in --extra test \
		-c requirements/runtime.txt -o requirements/dev.txt
endef
LOCK_CHECK = $(abspath $(VENV))/lock-check

lock: venv
	$(call compile-locks,.)

lock-check: venv
	rm -rf $(LOCK_CHECK) && mkdir -p $(LOCK_CHECK)
	cp -R pyproject.toml requirements $(LOCK_CHECK)/
	$(call compile-locks,$(LOCK_CHECK))
	@# Versions, not hashes: a wheel added to an already pinned release changes its hash list,
	@# not what the lock means. `make lock` refreshes the hashes.
	@for f in runtime dev; do \
		sed -e '/--hash=/d' -e 's/ \\$$//' requirements/$$f.txt > $(LOCK_CHECK)/$$f.committed; \
		sed -e '/--hash=/d' -e 's/ \\$$//' $(LOCK_CHECK)/requirements/$$f.txt > $(LOCK_CHECK)/$$f.resolved; \
		diff -u $(LOCK_CHECK)/$$f.committed $(LOCK_CHECK)/$$f.resolved >&2 \
			|| { echo "requirements/$$f.txt does not match pyproject.toml: run make lock" >&2; exit 1; }; \
	done

# The main job on the embedded SQLite default: build One-Roof, show its gate and gap.
# Its last lines are the next commands, as `govgate demo` printed them (README's top says the same).
demo: venv
	$(BIN)/govgate demo
	$(BIN)/govgate status --why
	$(BIN)/govgate gap
	@echo
	@echo "next, as the demo's approver approver@oneroof.example with its key oneroof-demo-approver (type the approval id when asked):"
	@echo "  $(BIN)/govgate ratify PROP-AUTHMODEL-1 --as approver@oneroof.example --sign-key oneroof-demo-approver"
	@echo "  $(BIN)/govgate apply && $(BIN)/govgate report && $(BIN)/govgate rollback"

# The whole test suite: SQLite, throwaway PostgreSQL and MariaDB servers the suite starts
# itself, the Directus lab and headless Chromium.
test: venv
	scripts/ensure-chromium
	scripts/ensure-mariadb
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Formatting and lint rules (pyproject.toml [tool.ruff]), and the locks matching pyproject.toml;
# CI runs this before the tests.
lint: venv lock-check
	$(BIN)/ruff format --check src tests bench reliability
	$(BIN)/ruff check src tests bench reliability

format: venv
	$(BIN)/ruff format src tests bench reliability
	$(BIN)/ruff check --fix src tests bench reliability

bench: venv
	$(BIN)/python bench/run.py

# The reliability suite (reliability/README.md): every family at full size, one line per figure,
# recorded in docs/RELIABILITY.md (about 20 minutes). RELIABILITY_ARGS="--backends sqlite,postgres"
# leaves MariaDB out; tests/test_reliability_quick.py runs a quick slice inside `make test`.
reliability: venv
	scripts/ensure-mariadb
	$(BIN)/python -m reliability.run $(RELIABILITY_ARGS)

clean:
	rm -rf $(VENV) oneroof-demo.db govgate-reports .pytest_cache
