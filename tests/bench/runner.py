"""Running a benchmark the way its README command does, for the smoke tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import timeout

ROOT = Path(__file__).resolve().parents[2]


def bench_module(module: str, *args: str) -> str:
    """``python -m module args`` from the repository; its output, once it has exited 0."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(180),
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout
