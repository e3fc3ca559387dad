"""What a check costs: the bare MediaPipe loop against the project's judge path, in one run.

Both loops take the same JPEG frames (640x480, as the student page sends them), interleaved
round by round so that a busy machine slows them alike:

- bare (Pillow):  ``np.asarray(Image.open(BytesIO(data)).convert("RGB"))``, then the short-range
  face detector: the loop a tutorial would write;
- bare (OpenCV):  ``cv2.imdecode`` (the decoder `vision` uses), then the same detector: the
  strictest baseline, differing from the judge path only by what the judge adds;
- judge, no scan: `judge_frame` with ``FaceDetector(scan=False)``: validation, hashing, light
  and sharpness, head pose and the rules, and no model beyond the short-range detector;
- judge (default): the same with the side scan for a second, smaller face (the full-range model);
- full-range model alone: one run of that model on the decoded frame, nothing else. Its input is
  192x192 whatever it is given, so this is what every side scan adds at the least: the floor
  under the default judge path is this plus the bare loop;
- then the worst cases: the extra models each kind of frame brings (see `vision.detector`).

Then p50/p99 latency through `VisionPool` with 1 and 2 worker threads, with as many callers as
threads sending frames back to back.

    .venv/bin/python -m bench.vision_speed              # about 30 s
    .venv/bin/python -m bench.vision_speed --rounds 5   # shorter
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from io import BytesIO

import cv2
import mediapipe as mp
import numpy as np
from PIL import Image

from testkit import synth
from testkit.frames import blank_jpeg, face_jpeg
from vision import Challenge, FaceDetector, ImageLimits, Verdict, VisionPool, judge_frame
from vision._graphs import DetectionGraph

LIMITS = ImageLimits()


def present_frames() -> list[bytes]:
    """Typical frames that pass: one student facing the camera, half the frame high."""
    frames = [face_jpeg()]
    for portrait in (synth.ASTRONAUT, synth.HOPPER):
        for share, x in ((0.4, 0.45), (0.5, 0.55), (0.6, 0.5)):
            frame = synth.portrait_frame(portrait, share, at=(x, 0.5), backdrop="wall")
            frames.append(synth.encode_jpeg(frame, 80))
            frames.append(synth.encode_jpeg(frame[:, ::-1], 80))
    return frames


def worst_cases() -> dict[str, tuple[bytes, Challenge]]:
    astronaut = synth.portrait_frame(synth.ASTRONAUT, 0.5)
    return {
        "turn challenge (+ face mesh for the pose)": (
            synth.encode_jpeg(synth.turned_frame(synth.ASTRONAUT, -30), 80),
            Challenge.TURN_LEFT,
        ),
        "head turned 30° (+ face mesh for the pose)": (
            synth.encode_jpeg(synth.turned_frame(synth.HOPPER, 30), 80),
            Challenge.NONE,
        ),
        "far student, 10 % (+ full-range)": (
            synth.encode_jpeg(synth.portrait_frame(synth.ASTRONAUT, 0.1), 80),
            Challenge.NONE,
        ),
        "dark and noisy (+ mesh check)": (
            synth.encode_jpeg(synth.noise(synth.adjust_light(astronaut, 0.1), 4), 80),
            Challenge.NONE,
        ),
        "no face (+ full-range, contrast, both again)": (blank_jpeg(), Challenge.NONE),
    }


def per_frame(fn: Callable[[bytes], object], frames: list[bytes]) -> list[float]:
    times = []
    for data in frames:
        started = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - started)
    return times


def fmt(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return (
        f"{len(ms) / (sum(ms) / 1000):7.0f} frames/s   p50 {statistics.median(ms):6.2f} ms"
        f"   p99 {p99:6.2f} ms"
    )


def compare_loops(rounds: int) -> None:
    frames = present_frames()
    short = mp.solutions.face_detection.FaceDetection(
        model_selection=0, min_detection_confidence=0.5
    )
    full = DetectionGraph(full_range=True, min_confidence=0.5)
    plain = FaceDetector(scan=False)
    scanning = FaceDetector()
    for d in (plain, scanning):
        d.warm_up()
    decoded = {
        data: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB) for data in frames
    }

    def bare_pillow(data: bytes) -> object:
        return short.process(np.asarray(Image.open(BytesIO(data)).convert("RGB")))

    def bare_opencv(data: bytes) -> object:
        return short.process(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB))

    def full_range_alone(data: bytes) -> object:
        return full.run(decoded[data])

    def judge_plain(data: bytes) -> Verdict:
        return judge_frame(data, Challenge.NONE, plain, LIMITS)

    def judge_scanning(data: bytes) -> Verdict:
        return judge_frame(data, Challenge.NONE, scanning, LIMITS)

    loops: dict[str, Callable[[bytes], object]] = {
        "bare (Pillow decode + detect)": bare_pillow,
        "bare (OpenCV decode + detect)": bare_opencv,
        "judge_frame, no scan": judge_plain,
        "judge_frame (default: side scan)": judge_scanning,
        "full-range model alone (no decode)": full_range_alone,
    }
    for fn in loops.values():  # warm every path before timing
        per_frame(fn, frames)
    outcomes = {judge_plain(f).outcome for f in frames} | {
        judge_scanning(f).outcome for f in frames
    }
    times: dict[str, list[float]] = {name: [] for name in loops}
    names = list(loops)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            times[name].extend(per_frame(loops[name], frames))
    print(
        f"{len(frames)} typical present frames (640x480 JPEG, {rounds} rounds); "
        f"outcomes {sorted(str(o) for o in outcomes)}"
    )
    for name in names:
        print(f"  {name:36s} {fmt(times[name])}")
    med = {name: statistics.median(t) for name, t in times.items()}
    pillow, opencv = med[names[0]], med[names[1]]
    for name in names[2:]:
        print(
            f"  {name:36s} {med[name] / opencv:5.2f}x bare (OpenCV), "
            f"{med[name] / pillow:5.2f}x bare (Pillow)"
        )

    print("\nWorst cases, per frame (judge_frame, default detector; the passes it ran)")
    for label, (data, challenge) in worst_cases().items():
        verdict = judge_frame(data, challenge, scanning, LIMITS)
        t = []
        for _ in range(10 * rounds):
            started = time.perf_counter()
            judge_frame(data, challenge, scanning, LIMITS)
            t.append(time.perf_counter() - started)
        p50 = statistics.median(t)
        print(
            f"  {label:46s} p50 {p50 * 1000:6.2f} ms ({p50 / opencv:4.1f}x)  "
            f"{verdict.outcome}: {'+'.join(verdict.passes)}"
        )
    for d in (plain, scanning):
        d.close()
    full.close()
    short.close()


async def pool_latency(workers: int, frames: list[bytes], total: int) -> tuple[list[float], float]:
    pool = VisionPool(workers=workers, max_pending=workers * 4)
    await pool.warm_up()
    latencies: list[float] = []
    queue = [frames[i % len(frames)] for i in range(total)]

    async def caller() -> None:
        while queue:
            data = queue.pop()
            started = time.perf_counter()
            await pool.judge(data, Challenge.NONE)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(workers)))
    elapsed = time.perf_counter() - started
    await asyncio.to_thread(pool.close)
    return latencies, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    compare_loops(args.rounds)
    print("\nThrough VisionPool (default detector), as many callers as threads, back to back")
    frames = present_frames()
    for workers in (1, 2):
        latencies, elapsed = asyncio.run(pool_latency(workers, frames, 15 * args.rounds))
        ms = sorted(t * 1000 for t in latencies)
        threads = "2 threads" if workers > 1 else "1 thread "
        print(
            f"  {threads}: p50 {statistics.median(ms):6.2f} ms   "
            f"p99 {ms[min(len(ms) - 1, int(0.99 * len(ms)))]:6.2f} ms   "
            f"{len(ms) / elapsed:5.0f} frames/s"
        )


if __name__ == "__main__":
    main()
