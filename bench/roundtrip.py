"""Check round trip on a real face frame, through a real server process.

Starts `trust-lesson serve` on a free port with a fresh SQLite database, makes a class through
the API, then runs rounds of: tutor `check_now` for everyone -> each student answers its prompt
with a 640x480 JPEG of a real face -> ack. It prints, per frame, capture -> ack and
capture -> tutor `attendance` latencies, and in the same run the bare decode+detect time of the
same frame in this process, for comparison.

    .venv/bin/python -m bench.roundtrip --students 5 --rounds 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import socketio

from testkit.api import Api, User, make_classroom
from testkit.frames import face_jpeg  # a real face, built from skimage's astronaut
from testkit.processes import ServerProcess, admin_env


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return (
        f"p50 {statistics.median(ordered):6.1f}  p95 {pick(0.95):6.1f}  "
        f"p99 {pick(0.99):6.1f}  max {ordered[-1]:6.1f}  (n={len(ordered)})"
    )


async def setup_class(
    base: str, n: int, policy: dict[str, Any] | None = None
) -> tuple[str, User, list[User]]:
    """A started lesson of ``n`` students (prompts only on request unless ``policy`` says
    otherwise): its id, the tutor and the students, each with a token."""
    async with Api(base) as api:
        room = await make_classroom(api, n_students=n, policy=policy)
    return room.lesson_id, room.tutor, room.students


async def run(base: str, n_students: int, rounds: int) -> dict[str, list[float]]:
    lesson, tutor, students = await setup_class(base, n_students)
    frame = face_jpeg()
    sent_at: dict[str, float] = {}
    to_ack: list[float] = []
    to_tutor: list[float] = []
    outcomes: dict[str, int] = {}
    round_done = asyncio.Event()
    pending: set[str] = set()  # "tutor:<id>" and "ack:<id>" still awaited this round

    def done(key: str) -> None:
        pending.discard(key)
        if not pending:
            round_done.set()

    tutor_sock = socketio.AsyncClient()

    async def on_attendance(row: dict[str, Any]) -> None:
        sid = row["student_id"]
        if row["state"] == "verified" and f"tutor:{sid}" in pending:
            to_tutor.append((time.perf_counter() - sent_at[sid]) * 1000)
            done(f"tutor:{sid}")

    tutor_sock.on("attendance", on_attendance, namespace="/tutor")
    await tutor_sock.connect(
        base,
        namespaces=["/tutor"],
        transports=["websocket"],
        auth={"token": tutor["token"], "lesson_id": lesson},
    )
    socks = []
    for student in students:
        sock = socketio.AsyncClient()
        sid = student["id"]

        def make_handler(sock: socketio.AsyncClient, sid: str) -> Any:
            async def on_prompt(prompt: dict[str, Any]) -> None:
                sent_at[sid] = time.perf_counter()
                ack = await sock.call(
                    "capture",
                    {"prompt_id": prompt["prompt_id"], "image": frame},
                    namespace="/student",
                    timeout=30,
                )
                to_ack.append((time.perf_counter() - sent_at[sid]) * 1000)
                outcomes[ack["outcome"]] = outcomes.get(ack["outcome"], 0) + 1
                done(f"ack:{sid}")

            return on_prompt

        sock.on("prompt", make_handler(sock, sid), namespace="/student")
        await sock.connect(
            base,
            namespaces=["/student"],
            transports=["websocket"],
            auth={"token": student["token"], "lesson_id": lesson},
        )
        socks.append(sock)

    started = time.perf_counter()
    for _ in range(rounds):
        round_done.clear()
        pending.update(f"{kind}:{s['id']}" for s in students for kind in ("tutor", "ack"))
        await tutor_sock.call("check_now", {}, namespace="/tutor", timeout=30)
        await asyncio.wait_for(round_done.wait(), 60)
    elapsed = time.perf_counter() - started
    for sock in [*socks, tutor_sock]:
        await sock.disconnect()
    print(f"outcomes: {outcomes}; {len(to_ack)} frames in {elapsed:.1f} s")
    return {"ack": to_ack, "tutor": to_tutor}


def bare_judge_ms(repeat: int = 200) -> tuple[float, float]:
    """Per-frame milliseconds of (bare decode+detect, the project's judge_frame) in-process."""
    import io

    import numpy as np
    from PIL import Image

    from vision import Challenge, FaceDetector, ImageLimits, judge_frame

    frame = face_jpeg()
    detector = FaceDetector()
    bare, full = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        rgb = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
        detector.detect(rgb)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        judge_frame(frame, Challenge.NONE, detector, ImageLimits())
        full.append(time.perf_counter() - t)
    detector.close()
    return statistics.median(bare) * 1000, statistics.median(full) * 1000


@contextmanager
def serving() -> Iterator[str]:
    """`trust-lesson serve` on a free port with a fresh SQLite database; yields its address."""
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite+aiosqlite:///{tmp}/bench.db"
        server = ServerProcess(
            admin_env(database), Path(tmp) / "server.log", args=("--log-level", "warning")
        )
        try:
            yield server.start().url
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    with serving() as base:
        results = asyncio.run(run(base, args.students, args.rounds))
    bare, full = bare_judge_ms()
    print(
        f"students {args.students}, rounds {args.rounds}, frame 640x480 JPEG "
        f"{len(face_jpeg()) // 1024} KB"
    )
    print(f"capture -> ack (ms)            {percentiles(results['ack'])}")
    print(f"capture -> tutor update (ms)   {percentiles(results['tutor'])}")
    print(
        f"in-process, median per frame:  bare decode+detect {bare:.1f} ms, "
        f"judge_frame {full:.1f} ms"
    )


if __name__ == "__main__":
    main()
