"""Soak: an accelerated lesson held for a long time; does anything grow?

Starts `trust-lesson serve` (SQLite, one process) and a lesson of N students whose prompts come
every few seconds instead of every few minutes; every student answers every prompt with a real
face frame and a tutor watches. After a warm-up it samples the server's resident memory, open
file descriptors, asyncio task count and event-loop lag (from /metrics), and at the end compares
the last sample with the first: a leak shows as growth. Every frame sent must be acknowledged.

    .venv/bin/python -m bench.soak --students 200 --minutes 10
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import socketio

from bench.roundtrip import serving, setup_class
from testkit.frames import face_jpeg

WATCHED = {
    "rss_mb": "process_resident_memory_bytes",
    "open_fds": "process_open_fds",
    "tasks": "trust_lesson_asyncio_tasks",
    "loop_lag_max_ms": "trust_lesson_event_loop_lag_max_seconds",
}


@dataclass
class Tally:
    prompts: int = 0
    sent: int = 0
    acked: int = 0
    unacked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def sample(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in text.splitlines():
        # Loop-lag samples in all, and those at most 100 ms: their difference is the stalls.
        if line.startswith("trust_lesson_event_loop_lag_seconds_count "):
            found["lag_samples"] = float(line.rsplit(" ", 1)[1])
        if line.startswith('trust_lesson_event_loop_lag_seconds_bucket{le="0.1"}'):
            found["lag_samples_le_100ms"] = float(line.rsplit(" ", 1)[1])
        for key, metric in WATCHED.items():
            if line.startswith(metric + " "):
                value = float(line.rsplit(" ", 1)[1])
                found[key] = (
                    value / 1e6 if key == "rss_mb" else value * 1000 if "ms" in key else value
                )
    return found


async def student(base: str, lesson: str, token: str, frame: bytes, tally: Tally) -> Any:
    client = socketio.AsyncClient(reconnection=True)

    async def on_prompt(data: dict[str, Any]) -> None:
        tally.prompts += 1
        tally.sent += 1
        try:
            ack = await client.call(
                "capture",
                {"prompt_id": data["prompt_id"], "image": frame},
                namespace="/student",
                timeout=30,
            )
        except Exception as exc:
            tally.unacked += 1
            tally.errors[type(exc).__name__] = tally.errors.get(type(exc).__name__, 0) + 1
            return
        tally.acked += 1
        tally.outcomes[ack["outcome"]] = tally.outcomes.get(ack["outcome"], 0) + 1

    client.on("prompt", on_prompt, namespace="/student")
    await client.connect(
        base,
        namespaces=["/student"],
        auth={"token": token, "lesson_id": lesson},
        transports=["websocket"],
        wait_timeout=30,
    )
    return client


async def soak(base: str, args: argparse.Namespace) -> tuple[Tally, list[dict[str, float]]]:
    policy = {
        "interval_min_s": args.interval_min,
        "interval_max_s": args.interval_max,
        "first_prompt_min_s": 1,
        "first_prompt_max_s": args.interval_max,
        "deadline_s": 15,
        "challenge_probability": 0,
    }
    lesson, tutor, students = await setup_class(base, args.students, policy)
    frame = face_jpeg()
    tally = Tally()
    watcher = socketio.AsyncClient()
    await watcher.connect(
        base,
        namespaces=["/tutor"],
        auth={"token": tutor["token"], "lesson_id": lesson},
        transports=["websocket"],
    )
    clients = []
    for s in students:
        clients.append(await student(base, lesson, s["token"], frame, tally))
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    end = started + args.minutes * 60
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        await asyncio.sleep(min(args.warmup, args.minutes * 60 / 2))
        while True:
            now = time.monotonic()
            samples.append(
                {"t_s": round(now - started), **sample((await http.get("/metrics")).text)}
            )
            print(
                f"t={samples[-1]['t_s']:>5}s  prompts {tally.prompts:>6}  acked {tally.acked:>6}  "
                + "  ".join(f"{k} {samples[-1].get(k, 0):.1f}" for k in WATCHED),
                flush=True,
            )
            if now >= end:
                break
            await asyncio.sleep(min(args.sample_every, max(0.5, end - now)))
    for c in clients:
        await c.disconnect()
    await watcher.disconnect()
    return tally, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--interval-min", type=float, default=5)
    parser.add_argument("--interval-max", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=60, help="seconds before the baseline")
    parser.add_argument("--sample-every", type=float, default=30)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))

    with serving() as base:
        tally, samples = asyncio.run(soak(base, args))

    first, last = samples[0], samples[-1]
    print()
    print(
        f"soak: {args.students} students, {args.minutes:g} min, prompts every "
        f"{args.interval_min:g}-{args.interval_max:g} s, baseline after {args.warmup:g} s"
    )
    print(f"{'':<18}{'after warm-up':>14}{'at the end':>12}{'change':>9}")
    grew = False
    for key in ("rss_mb", "open_fds", "tasks"):
        a, b = first.get(key, 0.0), last.get(key, 0.0)
        change = (b - a) / a * 100 if a else 0.0
        grew |= change > 5
        print(f"{key:<18}{a:>14.1f}{b:>12.1f}{change:>8.1f}%")
    print(
        f"{'loop_lag_max_ms':<18}{'':>14}{last.get('loop_lag_max_ms', 0.0):>12.1f}  (since start)"
    )
    stalls = (last.get("lag_samples", 0) - first.get("lag_samples", 0)) - (
        last.get("lag_samples_le_100ms", 0) - first.get("lag_samples_le_100ms", 0)
    )
    print(
        f"event loop held > 100 ms after warm-up: {stalls:.0f} times in "
        f"{last.get('lag_samples', 0) - first.get('lag_samples', 0):.0f} samples (every 50 ms)"
    )
    print(
        f"prompts {tally.prompts}, frames sent {tally.sent}, acknowledged {tally.acked}, "
        f"unacknowledged {tally.unacked}; outcomes {tally.outcomes}; errors {tally.errors}"
    )
    verdict = "steady" if not grew and tally.unacked == 0 else "GREW OR LOST FRAMES"
    print(f"verdict: {verdict}")
    sys.exit(0 if verdict == "steady" else 1)


if __name__ == "__main__":
    main()
