"""The vision benchmarks still run (tiny scale): benchmarks must not rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import timeout

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


def test_the_evaluation_runs_and_reports_the_targets() -> None:
    out = run("bench/vision_eval.py", "--quick")

    assert "Confusion matrix" in out
    assert "false no_face on clearly visible frontal faces" in out
    assert "multiple_faces recall, second face >= 10 %" in out
    assert "present on frames without a face                      0" in out


def test_the_speed_bench_runs_and_reports_the_ratio() -> None:
    out = run("bench/vision_speed.py", "--rounds", "1")

    assert "x bare (OpenCV)" in out
    assert "1 thread : p50" in out
    assert "2 threads: p50" in out
