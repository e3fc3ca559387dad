"""What one idle connected student holds in the server, by the file that allocated it.

Starts the server with tracemalloc on (``TL_BENCH_TRACEMALLOC``, bench/asgi.py) and the same
WebSocket setup as ``trust-lesson serve``, loads a lesson, takes a snapshot, connects N
students, waits, takes another, and prints the difference per student: the table behind the
idle scenario's "RSS per student" (tracemalloc counts Python's allocations, not RSS).

    .venv/bin/python -m bench.connection_memory --students 1000
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import tracemalloc

from bench.classes import policy
from bench.scenarios import NEVER, Bench, Options
from bench.servers import ROOT, parse_variant

# `trust-lesson serve`'s WebSocket settings (server.serving.uvicorn_config), on uvicorn's CLI.
SHIPPED_WS = "--ws server.websocket_protocol:LeanWebSocketProtocol --ws-ping-interval 0"
SHIPPED_WS += " --ws-per-message-deflate false"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.connection_memory", description=__doc__)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--hold-seconds", type=float, default=30)
    parser.add_argument("--uvicorn", default=SHIPPED_WS, help="uvicorn flags for the server")
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args(argv)
    variant = parse_variant(f"uvicorn={args.uvicorn};TL_BENCH_TRACEMALLOC=12")
    for old in ROOT.glob("tracemalloc-*.snap"):
        old.unlink()
    with Bench(Options(variant=variant), args.students) as bench:
        members = bench.school.students
        lesson = bench.admin.live_lesson(bench.admin.course(members, policy(NEVER, NEVER)))
        tutor_seat, seats = bench.seats(lesson, members)
        clients = bench.workers
        clients.reset()
        clients.connect([tutor_seat], [])  # the lesson is loaded: not a per-student cost
        pid = bench.servers[0].pid
        time.sleep(3)
        os.kill(pid, signal.SIGUSR1)
        time.sleep(5)
        _, connected = clients.connect([], seats)
        time.sleep(args.hold_seconds)
        os.kill(pid, signal.SIGUSR1)
        time.sleep(8)
    before, after = (
        tracemalloc.Snapshot.load(str(p))
        for p in sorted(ROOT.glob(f"tracemalloc-{pid}-*.snap"), key=os.path.getmtime)[:2]
    )
    n = max(1, connected.connected)
    stats = after.compare_to(before, "filename")
    print(f"server: uvicorn {args.uvicorn}; {connected.connected} students connected")
    print(f"Python allocations per connected student: {sum(s.size_diff for s in stats) / n:.0f} B")
    for stat in stats[: args.rows]:
        where = stat.traceback[0].filename.replace(str(ROOT) + "/", "")
        where = where.split("site-packages/")[-1]
        print(f"{stat.size_diff / n:8.0f} B  {stat.count_diff / n:5.1f} blocks  {where}")
    for snap in ROOT.glob(f"tracemalloc-{pid}-*.snap"):
        snap.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
