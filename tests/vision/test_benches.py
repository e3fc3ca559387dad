"""The vision benchmarks still run (tiny scale): benchmarks must not rot."""

from __future__ import annotations

from testkit.processes import module_output


def test_the_evaluation_runs_and_reports_the_targets() -> None:
    out = module_output("bench.vision_eval", "--quick", within=240)

    assert "Confusion matrix" in out
    assert "false no_face on clearly visible frontal faces" in out
    assert "multiple_faces recall, second face >= 10 %" in out
    assert "present on frames without a face                      0" in out


def test_the_speed_bench_runs_and_reports_the_ratio() -> None:
    out = module_output("bench.vision_speed", "--rounds", "1", within=240)

    assert "x bare (OpenCV)" in out
    assert "1 thread : p50" in out
    assert "2 threads: p50" in out
