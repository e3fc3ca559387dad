"""The yardstick: how many frames per second this machine decodes and runs MediaPipe on, bare.

The same frames the students send, on ``threads`` threads with one detector each (as the
server's vision pool does), with nothing else: no sockets, no database, no event loop.

- ``bare``: Pillow decode + one pass of MediaPipe's short-range face detector, called directly
  (``mp.solutions.face_detection``), so the yardstick does not move when ``vision/`` changes;
- ``judge``: the project's whole ``vision.judge_frame`` as it stands (hash, size checks, decode,
  light and sharpness, its detection passes, the rules).

`frames_per_second_in_processes` runs the same loop in worker processes instead of threads (one
thread each, started together), as the server's default vision pool does: no interpreter lock
shared between the workers.
"""

from __future__ import annotations

import concurrent.futures
import io
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

# MediaPipe's C++ side logs a few lines per detector; the tables are what this run prints.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True, slots=True)
class Throughput:
    per_s: float  # frames per second, all threads together
    cpu_ms: float  # CPU time per frame, every thread of the process (MediaPipe has its own)


def frames_per_second(
    frames: Sequence[bytes],
    *,
    threads: int,
    seconds: float,
    kind: str = "bare",
    ready_hook: Callable[[], None] | None = None,
) -> Throughput:
    """Run for ``seconds``; this process must be otherwise idle (its CPU time is counted).
    ``ready_hook`` is called once every thread has warmed up, before the clock starts."""
    import mediapipe as mp

    from vision import Challenge, FaceDetector, ImageLimits, judge_frame

    limits = ImageLimits()
    counts = [0] * threads
    ready = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(index: int) -> None:
        if kind == "bare":
            detector: Any = mp.solutions.face_detection.FaceDetection(
                model_selection=0, min_detection_confidence=0.5
            )
        else:
            detector = FaceDetector()
        try:

            def one(frame: bytes) -> None:
                if kind == "bare":
                    rgb = np.asarray(Image.open(io.BytesIO(frame)).convert("RGB"))
                    detector.process(rgb)
                else:
                    judge_frame(frame, Challenge.NONE, detector, limits)

            for frame in frames[:3]:  # warm up
                one(frame)
            ready.wait()
            i = index
            while not stop.is_set():
                one(frames[i % len(frames)])
                counts[index] += 1
                i += 1
        finally:
            detector.close()

    pool = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    ready.wait()
    if ready_hook is not None:
        ready_hook()
    started, cpu = time.perf_counter(), time.process_time()
    time.sleep(seconds)
    stop.set()
    for thread in pool:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    done = sum(counts)
    return Throughput(done / elapsed, cpu * 1000 / max(1, done))


_barrier: Any = None


def _init(barrier: Any) -> None:
    global _barrier
    _barrier = barrier


def _one_process(frames: Sequence[bytes], seconds: float, kind: str) -> Throughput:
    return frames_per_second(
        frames, threads=1, seconds=seconds, kind=kind, ready_hook=lambda: _barrier.wait(120)
    )


def frames_per_second_in_processes(
    frames: Sequence[bytes], *, processes: int, seconds: float, kind: str = "judge"
) -> Throughput:
    """`frames_per_second` on one thread in each of ``processes`` processes, their clocks
    started together (after every one has warmed up); frames per second summed."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    with concurrent.futures.ProcessPoolExecutor(
        processes, mp_context=context, initializer=_init, initargs=(barrier,)
    ) as pool:
        jobs = [pool.submit(_one_process, frames, seconds, kind) for _ in range(processes)]
        runs = [job.result() for job in jobs]
    return Throughput(sum(r.per_s for r in runs), sum(r.cpu_ms for r in runs) / len(runs))
