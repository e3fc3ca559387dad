"""The round-trip benchmark still runs (tiny scale): benchmarks must not rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import timeout

ROOT = Path(__file__).resolve().parents[2]


def test_roundtrip_bench_runs_and_reports_its_figures() -> None:
    result = subprocess.run(
        [sys.executable, "bench/roundtrip.py", "--students", "2", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(180),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "outcomes: {'present': 4}" in result.stdout
    assert "capture -> ack (ms)" in result.stdout
    assert "(n=4)" in result.stdout
