# The two commands a new user runs (see README.md):
#   make demo   - create .venv from the pinned requirements, then run `keras-depth quickstart`
#   make test   - create the same .venv, then run the whole test suite (import contracts, Kotlin depth-core, Python)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
# pytest-xdist workers (whole test files per worker, so module fixtures run once).
PYTEST_WORKERS ?= logical
PYTEST := $(VENV)/bin/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast test-python test-kotlin lint-imports bench bench-quick docs clean

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "keras-depth needs Python 3.11 (set PYTHON=...)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/keras-depth quickstart

test-python: setup
	$(PYTEST)

# The layer contract of docs/architecture.md (.importlinter): a wrong arrow fails the build.
lint-imports: setup
	$(VENV)/bin/lint-imports --no-cache

# Everything but the end-to-end runs marked slow: under 3 minutes on 2 cores.
test-fast: lint-imports
	$(PYTEST) -m "not slow"

# depth-core (the Android demo's model-facing logic) on the JVM: JDK + junit4 from Debian,
# kotlinc from the npm registry, installed by its setup script when missing.
test-kotlin:
	android_demo/depth-core/setup.sh
	android_demo/depth-core/build_and_test.sh

test: lint-imports test-kotlin test-python

bench: setup
	$(PY) -m benchmarks.run_all

bench-quick: setup
	$(PY) -m benchmarks.run_all --quick

# docs/cli.md from the CLI's argparse parsers (tests/test_cli_doc.py fails when it is stale).
docs: setup
	$(PY) tools/cli_doc.py

clean:
	rm -rf runs .pytest_cache
