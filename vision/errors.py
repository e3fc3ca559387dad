"""Errors raised by the vision package.

VisionError
├── BadImage        the bytes are not an image we accept (format, size, damage)
├── PoolSaturated   every slot of the worker pool is taken; answer "rate_limited" now
├── PoolClosed      the pool has been closed
└── WorkerLost      a worker process died on this frame, and again on the retry
"""

from __future__ import annotations

__all__ = ["BadImage", "PoolClosed", "PoolSaturated", "VisionError", "WorkerLost"]


class VisionError(Exception):
    """Root of every error raised by the vision package."""


class BadImage(VisionError):
    """The input cannot be judged as a frame.

    ``str(error)`` is the technical reason, for logs; ``hint`` is the sentence a student may see.
    """

    def __init__(self, reason: str, *, hint: str = "the image could not be read") -> None:
        super().__init__(reason)
        self.hint = hint


class PoolSaturated(VisionError):
    """No worker slot is free; the frame was refused rather than queued."""


class PoolClosed(VisionError):
    """The pool no longer accepts frames."""


class WorkerLost(VisionError):
    """The worker process died on this frame, and again on the retry (`VisionProcesses`)."""
