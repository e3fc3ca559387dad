"""MediaPipe's native messages, sifted.

Loading the graphs makes MediaPipe's C++ code (absl, TensorFlow Lite) write straight to the
process's standard error: one "XNNPACK delegate created", one "messages before
absl::InitializeLog()" and a "feedback manager" warning per graph, none of which an operator
can act on. While models load, descriptor 2 points at a temporary file; afterwards the lines
known to be noise are dropped and any other line is logged as a warning, so a message that
means something still shows.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO

__all__ = ["NOISE", "sifted_native_output"]

logger = logging.getLogger("vision.mediapipe")

NOISE = (
    re.compile(r"Created TensorFlow Lite XNNPACK delegate for CPU"),
    re.compile(r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"),
    re.compile(r"inference_feedback_manager\.cc:\d+\] Feedback manager requires a model"),
)

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_sink: IO[bytes] | None = None


@contextmanager
def sifted_native_output() -> Iterator[None]:
    """Collect what native code writes to standard error meanwhile; log what is not noise.

    Re-entrant and safe across threads: the first caller redirects, the last one restores.
    """
    global _depth, _saved_fd, _sink
    with _lock:
        if _depth == 0:
            _sink = _redirect()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            sink, done = _sink, _depth == 0
            if done:
                _restore()
        if done and sink is not None:
            _report(sink)


def _redirect() -> IO[bytes]:
    global _saved_fd
    with suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
    sink = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _report
    _saved_fd = os.dup(2)
    os.dup2(sink.fileno(), 2)
    return sink


def _restore() -> None:
    global _saved_fd, _sink
    if _saved_fd is not None:
        os.dup2(_saved_fd, 2)
        os.close(_saved_fd)
        _saved_fd = None
    _sink = None


def _report(sink: IO[bytes]) -> None:
    with sink:
        sink.seek(0)
        text = sink.read().decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.strip() and not any(p.search(line) for p in NOISE):
            logger.warning("%s", line.rstrip())
