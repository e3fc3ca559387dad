# Two commands: `make run` and `make test`. Each sets up what it needs from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
NPM ?= npm
# The browser pages' one dependency (socket.io-client), installed exactly as locked.
WEB_DEPS := web_client/node_modules/.installed

.PHONY: run test lint setup clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(WEB_DEPS): web_client/package.json web_client/package-lock.json
	cd web_client && $(NPM) ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.dev $(WEB_DEPS)

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
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache web_client/node_modules
