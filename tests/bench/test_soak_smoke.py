"""The soak benchmark at a tiny scale, so it cannot rot: it runs, every frame is answered, and
it prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import timeout

ROOT = Path(__file__).resolve().parents[2]


def test_the_soak_runs_and_every_frame_is_acknowledged() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--students",
            "4",
            "--minutes",
            "0.25",
            "--warmup",
            "4",
            "--sample-every",
            "4",
            "--interval-min",
            "1",
            "--interval-max",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(180),
    )
    assert "unacknowledged 0" in done.stdout, done.stdout + done.stderr
    assert "rss_mb" in done.stdout and "event loop held > 100 ms" in done.stdout
    assert done.returncode in (0, 1), done.stderr  # 1: grew over a few seconds, not a crash
