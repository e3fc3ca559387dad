# Two commands: `make run` and `make test`. Each sets up what it needs from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
NPM ?= npm
# The browser pages' one dependency (socket.io-client), installed exactly as locked.
WEB_DEPS := web_client/node_modules/.installed

.PHONY: run test lint setup clean bench lock wheel

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every Python package is installed at the exact version and hash locked in requirements/
# (`make lock` writes them), and nothing else (--no-deps: the lock is the whole set, less what
# requirements/overrides.txt leaves out); the project itself is installed without dependencies.
$(VENV)/.runtime: requirements/runtime.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(VENV)/.dev: requirements/dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	touch $@

# `make lock` brings requirements/*.txt in step with pyproject.toml, keeping every locked
# version that still fits; `make lock UPGRADE=1` moves everything to the newest allowed.
# It runs `uv pip compile` (uv itself is locked in requirements/tools.txt).
LOCK_FLAGS := --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
PROJECT_LOCK_FLAGS := $(LOCK_FLAGS) --override requirements/overrides.txt
lock: | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/tools.txt
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements/tools.in -o requirements/tools.txt
	$(BIN)/uv pip compile $(PROJECT_LOCK_FLAGS) pyproject.toml requirements/build.in \
		--extra dev -o requirements/dev.txt
	$(BIN)/uv pip compile $(PROJECT_LOCK_FLAGS) pyproject.toml requirements/build.in \
		-c requirements/dev.txt -o requirements/runtime.txt

$(WEB_DEPS): web_client/package.json web_client/package-lock.json
	cd web_client && $(NPM) ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.dev $(WEB_DEPS)

# The wheel operators install (README: Running in production), in dist/.
wheel: $(VENV)/.runtime $(WEB_DEPS)
	rm -rf build
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation -w dist .
	rm -rf build

run: $(VENV)/.runtime $(WEB_DEPS)
	TL_PUBLIC_URL=$${TL_PUBLIC_URL:-http://$(HOST):$(PORT)} $(BIN)/trust-lesson demo --if-empty
	$(BIN)/trust-lesson serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev $(WEB_DEPS)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# `make bench` runs the benchmarks in bench/RESULTS.md (an hour or more); `make bench
# SCENARIO=capacity` runs one (roundtrip, capacity, idle, fanout, steady, cluster, tuning), with
# BENCH_ARGS passed on to it, e.g. BENCH_ARGS="--students 2000".
BENCH_SCENARIOS := capacity idle fanout cluster
bench: $(VENV)/.dev
ifeq ($(SCENARIO),)
	$(BIN)/python -m bench.roundtrip --students 1 --rounds 50
	$(BIN)/python -m bench.roundtrip --students 5 --rounds 20
	set -e; for s in $(BENCH_SCENARIOS); do $(BIN)/python -m bench.loadgen $$s; done
else ifeq ($(SCENARIO),roundtrip)
	$(BIN)/python -m bench.roundtrip $(BENCH_ARGS)
else
	$(BIN)/python -m bench.loadgen $(SCENARIO) $(BENCH_ARGS)
endif

clean:
	rm -rf $(VENV) *.egg-info build dist .pytest_cache .mypy_cache .ruff_cache web_client/node_modules
