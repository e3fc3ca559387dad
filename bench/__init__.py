"""Benchmarks and the load generator: run from the repository root, never shipped.

.venv/bin/python -m bench.loadgen --help
"""
