# mmtui: `make demo` and `make test` create .venv and install into it when needed.
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The first Python >= 3.11 on PATH (override: make PYTHON=/path/to/python3.12 test).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)

.PHONY: demo test lint bench venv clean snapshots screenshot

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "mmtui needs Python 3.11 or newer on PATH" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/mmtui demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check mmtui tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# Regenerate the SVG snapshot baselines (tests/__snapshots__/) after an intended UI change.
snapshots: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_snapshots.py --snapshot-update

# The README's screenshot, from the same pinned data as the snapshots.
screenshot: $(STAMP)
	$(BIN)/python -m tests.make_screenshot docs/overview.svg

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
