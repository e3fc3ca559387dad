"""Issue 7 item 3, "make it fast": the same three measurements for each way of running the server.

Every variant runs the same code; only uvicorn's flags, a ``TL_*`` setting, or the clients'
choices differ. ``orjson`` is a prototype of a server change, and the two "upper bound" rows
skip work the server must do, to show what batching it could buy at most (see bench/asgi.py).

For each variant, on a fresh server:

- *saturated*: ``--students`` clients each answering a prompt every second, more than the server
  can judge: verified frames/s is the throughput; server CPU ms per verified frame its cost;
- *moderate*: 50 prompts/s: latency and CPU ms per frame with headroom;
- *idle*: ``--idle-students`` connected students, no prompts: server RSS per student.
"""

from __future__ import annotations

from dataclasses import replace

from bench.classes import policy
from bench.scenarios import NEVER, Bench, Options, cpu_ms_per_frame, describe_machine, run_phase
from bench.servers import Variant
from bench.stats import spread, table

UVICORN_DEFAULTS: tuple[str, ...] = ()


def variants(opts: Options) -> list[tuple[str, Options]]:
    def server(name: str, uvicorn: tuple[str, ...] | None, **env: str) -> tuple[str, Options]:
        return name, replace(opts, variant=Variant(name, uvicorn, env))

    fast = ("--ws-per-message-deflate", "false")
    return [
        server("shipped: trust-lesson serve", None),
        server("uvicorn, same defaults", UVICORN_DEFAULTS),
        server("--ws-per-message-deflate false", fast),
        server("--ws wsproto", ("--ws", "wsproto")),
        server("--ws websockets-sansio", ("--ws", "websockets-sansio")),
        server("--loop asyncio", ("--loop", "asyncio")),
        server("--http h11", ("--http", "h11")),
        server("log level WARNING", UVICORN_DEFAULTS, TL_BENCH_LOG_LEVEL="WARNING"),
        server("orjson for Socket.IO (prototype)", UVICORN_DEFAULTS, TL_BENCH_ORJSON="1"),
        server("TL_VISION_WORKERS=1", None, TL_VISION_WORKERS="1"),
        server("TL_VISION_WORKERS=3", None, TL_VISION_WORKERS="3"),
        server("TL_VISION_WORKERS=4", None, TL_VISION_WORKERS="4"),
        ("client frames 320x240", replace(opts, frame="320")),
        ("client offers no deflate", replace(opts, client_deflate=False)),
        server("upper bound: no DB writes", UVICORN_DEFAULTS, TL_BENCH_SKIP="db_writes"),
        server("upper bound: no tutor updates", UVICORN_DEFAULTS, TL_BENCH_SKIP="tutor_updates"),
        server(
            "combined: no deflate + WARNING + orjson",
            fast,
            TL_BENCH_LOG_LEVEL="WARNING",
            TL_BENCH_ORJSON="1",
        ),
    ]


def compare(
    opts: Options,
    *,
    students: int = 300,
    measure_s: float = 15,
    idle_students: int = 2000,
    repeat: int = 1,
    only: list[str] | None = None,
) -> None:
    """Server flags and client choices side by side: throughput, CPU per frame, RSS per student."""
    print(describe_machine(opts))
    chosen = [(n, o) for n, o in variants(opts) if not only or any(s in n for s in only)]
    rows = []
    for round_ in range(repeat):
        for name, variant_opts in chosen:
            print(f"  {name} (round {round_ + 1})", flush=True)
            rows.append([name, *_measure(variant_opts, students, measure_s, idle_students)])
    print()
    print(
        table(
            [
                "variant",
                "saturated verified/s",
                "CPU ms/frame",
                "capture->tutor ms p50/95/99/max",
                "rate_limited",
                "50/s: CPU ms/frame",
                "capture->tutor ms p50/95/99/max",
                "idle RSS/student",
            ],
            rows,
        )
    )


def _measure(opts: Options, students: int, measure_s: float, idle_students: int) -> list[object]:
    moderate_n = min(100, students)  # 50 prompts/s at full size
    with Bench(opts, max(students, moderate_n, idle_students)) as bench:
        members = bench.school.students
        course = bench.admin.course(members[:students], policy((1, 1), (0, 1)))
        lesson = bench.admin.live_lesson(course)
        warmup = min(3, measure_s)
        hot = run_phase(bench, [(lesson, members[:students])], warmup_s=warmup, measure_s=measure_s)

        course = bench.admin.course(members[:moderate_n], policy((1.5, 2.5), (0, 2)))
        lesson = bench.admin.live_lesson(course)
        calm = run_phase(
            bench, [(lesson, members[:moderate_n])], warmup_s=warmup, measure_s=measure_s
        )

        course = bench.admin.course(members[:idle_students], policy(NEVER, NEVER))
        lesson = bench.admin.live_lesson(course)
        tutor, seats = bench.seats(lesson, members[:idle_students])
        server = bench.server_usage()
        bench.workers.reset()
        bench.workers.connect([tutor], [])
        bench.hold(min(2, measure_s))
        base = server.rss()
        _, connected = bench.workers.connect([], seats)
        bench.hold(min(5, measure_s))
        per_student = (server.rss() - base) / max(1, connected.connected)
        bench.admin.end_lesson(lesson)
        bench.workers.close()
    return [
        f"{hot.window.verified_per_s:.0f}",
        f"{cpu_ms_per_frame(hot):.1f}",
        spread(hot.window.tutor_ms),
        hot.window.outcomes["rate_limited"],
        f"{cpu_ms_per_frame(calm):.1f}",
        spread(calm.window.tutor_ms),
        f"{per_student / 1024:.1f} KB",
    ]
