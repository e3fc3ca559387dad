"""The soak benchmark at a tiny scale, so it cannot rot: it runs, every frame is answered, and
it prints its table."""

from __future__ import annotations

from testkit.processes import run_module


def test_the_soak_runs_and_every_frame_is_acknowledged() -> None:
    done = run_module(
        "bench.soak",
        *("--students", "4", "--minutes", "0.25", "--warmup", "4", "--sample-every", "4"),
        *("--interval-min", "1", "--interval-max", "3"),
    )
    assert "unacknowledged 0" in done.stdout, done.stdout + done.stderr
    assert "rss_mb" in done.stdout and "event loop held > 100 ms" in done.stdout
    assert done.returncode in (0, 1), done.stderr  # 1: grew over a few seconds, not a crash
