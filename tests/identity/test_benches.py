"""The identity benchmarks still run (tiny scale, photos already installed): they must not rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.timing import timeout

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(240),
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_evaluation_reports_both_error_rates_with_pair_counts() -> None:
    out = run("-m", "bench.identity_eval", "--quick", "--no-fetch")
    assert "people: 2 (astronaut, hopper)" in out
    assert "| clear frontal | 2 | 100.0 % |" in out  # both women matched their own template
    assert "| (all) template vs frame |" in out
    assert "| t | FMR | FNMR clear frontal | FNMR all conditions |" in out


def test_the_speed_bench_reports_percentiles() -> None:
    out = run("-m", "bench.identity_speed", "--n", "5")
    assert "descriptor (landmarks + ResNet), CPU: p50" in out
    assert "IdentityPool.describe, wall: p50" in out
