"""What one identity comparison costs: the descriptor's CPU time, and the round trip through the
worker pool as the server makes it.

    .venv/bin/python -m bench.identity_speed            # 100 comparisons each way
    .venv/bin/python -m bench.identity_speed --n 20     # a smoke test

Printed: p50 and p99 of (1) the CPU time of one descriptor as a worker makes it (5-point landmarks
and ResNet, one BLAS thread, on a 640x480 webcam frame, face at 45 % of its height), (2) the CPU
time of `compare`, (3) the wall time of `IdentityPool.describe` with one worker, bytes in,
descriptor out (decoding and the pipe between processes included), and (4) the server process's
own CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from identity import MODEL_VERSION, IdentityPool, compare
from identity._blas import limit_blas_threads
from identity.model import FaceDescriber
from tests.identity import frames
from vision import Challenge, FaceDetector, ImageLimits, judge_frame

ROOT = Path(__file__).resolve().parent.parent


def _pcts(values: list[float]) -> str:
    values = sorted(values)
    p50 = values[len(values) // 2]
    p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
    return f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (n={len(values)})"


async def _through_pool(data: bytes, box: tuple[float, float, float, float], n: int) -> None:
    pool = IdentityPool(workers=1, max_pending=2)
    started = time.perf_counter()
    await pool.start()
    print(f"pool start (spawn, load the models, warm up): {time.perf_counter() - started:.2f} s")
    walls, cpus = [], []
    try:
        for _ in range(n):
            cpu, wall = time.process_time(), time.perf_counter()
            await pool.describe(data, box)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
    finally:
        await pool.close()
    print(f"IdentityPool.describe, wall: {_pcts(walls)}")
    print(f"  the server process's own CPU per request: {_pcts(cpus)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    data = frames.astronaut()
    verdict = judge_frame(data, Challenge.NONE, FaceDetector(0.5), ImageLimits())
    assert verdict.box is not None
    limit_blas_threads(1)  # as in an identity worker
    describer = FaceDescriber()
    rgb = frames.rgb(data)
    template = describer.describe(rgb, verdict.box).array()
    cpu, compared = [], []
    for _ in range(args.n):
        started = time.process_time()
        description = describer.describe(rgb, verdict.box)
        cpu.append((time.process_time() - started) * 1000)
        started = time.process_time()
        compare(template, MODEL_VERSION, description)
        compared.append((time.process_time() - started) * 1000)
    print(f"descriptor (landmarks + ResNet), CPU: {_pcts(cpu)}")
    print(f"compare, CPU: {_pcts(compared)}")
    asyncio.run(_through_pool(data, verdict.box, args.n))


if __name__ == "__main__":
    main()
