"""The round-trip benchmark still runs (tiny scale): benchmarks must not rot."""

from __future__ import annotations

from testkit.processes import module_output


def test_roundtrip_bench_runs_and_reports_its_figures() -> None:
    out = module_output("bench.roundtrip", "--students", "2", "--rounds", "2")
    assert "outcomes: {'present': 4}" in out
    assert "capture -> ack (ms)" in out
    assert "(n=4)" in out
