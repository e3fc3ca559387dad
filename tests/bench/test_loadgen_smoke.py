"""Every load scenario still runs end to end at a tiny scale: benchmarks must not rot.

Each starts real server processes and client workers, so each takes a few seconds; the figures
are not checked (the machine may be busy), only that every frame was judged and every table
printed with no errors.
"""

from __future__ import annotations

import shutil

import pytest

from testkit.processes import ROOT, module_output


def loadgen(*args: str) -> str:
    return module_output("bench.loadgen", *args, "--client-procs", "1")


def table_rows(output: str) -> list[str]:
    """The body lines of every table printed (after each header's dashes)."""
    rows, inside = [], False
    for line in output.splitlines():
        if line.startswith("-----"):
            inside = True
        elif not line.strip():
            inside = False
        elif inside:
            rows.append(line)
    return rows


def assert_clean(output: str) -> None:
    rows = table_rows(output)
    assert rows, output
    for row in rows:
        assert row.endswith(" none"), f"errors in a table row:\n{row}\n\n{output}"


def test_capacity_steps_and_measures_bare_decode_detect() -> None:
    out = loadgen(
        "capacity",
        *("--students", "4", "--start-rate", "2", "--step-seconds", "2", "--max-steps", "1"),
        *("--bare-seconds", "0.5"),
    )
    assert_clean(out)
    assert "bare decode+detect" in out
    assert "capacity: " in out


def test_idle_holds_every_student_and_reports_rss_per_student() -> None:
    out = loadgen("idle", "--students", "10", "--hold-seconds", "1")
    assert_clean(out)
    assert "idle: 10 students held by one server process" in out


def test_fanout_steady_and_check_everyone_burst() -> None:
    out = loadgen(
        "fanout",
        *("--students", "5", "--measure-seconds", "3", "--interval", "1,2", "--bursts", "1"),
        *("--warmup-seconds", "1"),
    )
    assert_clean(out)
    burst = table_rows(out)[-1].split()
    assert burst[:2] == ["1", "5"], out  # burst 1 issued a prompt to each of the 5 students
    assert "fan-out: 5 students" in out


def test_steady_on_one_process_with_the_frames_downscaled_and_identity_compared() -> None:
    # --templates: each student has a template of the face in the frames, so the first prompt
    # of each lesson compares identity (the default policy), and it must pass like the rest.
    out = loadgen(
        "steady",
        *("--students", "6", "--class-size", "3", "--interval", "1,2", "--templates"),
        *("--warmup-seconds", "1", "--measure-seconds", "3", "--frame", "320"),
    )
    assert_clean(out)
    assert "steady: 6 students on 1 process(es)" in out


def test_tuning_runs_a_uvicorn_variant() -> None:
    out = loadgen(
        "tuning",
        *("--students", "3", "--measure-seconds", "1", "--idle-students", "3"),
        *("--only", "--ws-per-message-deflate false"),
    )
    assert "--ws-per-message-deflate false" in out
    assert len(table_rows(out)) == 1, out


@pytest.mark.skipif(
    not (shutil.which("initdb") and shutil.which("redis-server")),
    reason="needs PostgreSQL (initdb) and redis-server on this machine",
)
def test_cluster_two_processes_postgres_and_redis() -> None:
    out = loadgen(
        "cluster",
        *("--students", "6", "--class-size", "3", "--interval", "1,2"),
        *("--warmup-seconds", "1", "--measure-seconds", "3"),
    )
    assert_clean(out)
    assert "cluster: 6 students on 2 process(es)" in out


def test_the_connection_memory_breakdown_runs_and_names_the_parts() -> None:
    out = module_output(
        "bench.connection_memory", "--students", "20", "--hold-seconds", "1", "--rows", "5"
    )
    assert "20 students connected" in out, out
    per_student = int(out.split("per connected student: ")[1].split(" B")[0])
    assert per_student > 1000, out  # a connection holds kilobytes, not nothing
    assert len([line for line in out.splitlines() if line.endswith(".py")]) == 5, out
    assert not list(ROOT.glob("tracemalloc-*.snap"))  # its snapshots are cleaned up
