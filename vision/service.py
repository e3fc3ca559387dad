"""What the server needs of vision, whichever pool gives it (threads or worker processes)."""

from __future__ import annotations

from typing import Protocol

from vision.images import ImageLimits
from vision.verdict import Challenge, Verdict

__all__ = ["Vision"]


class Vision(Protocol):
    """`vision.VisionPool` (threads of the server) or `vision.VisionProcesses` (processes)."""

    @property
    def limits(self) -> ImageLimits: ...

    @property
    def workers(self) -> int: ...

    @property
    def max_pending(self) -> int: ...

    @property
    def pending(self) -> int:
        """Frames running or queued."""
        ...

    def alive(self) -> bool: ...

    def stats(self) -> dict[str, int]: ...

    async def warm_up(self) -> None:
        """Load the detectors and run each once; returns when every worker is ready."""

    async def judge(self, data: bytes, challenge: Challenge) -> Verdict:
        """The verdict; raises PoolSaturated at once when full, PoolClosed once shut down."""
        ...

    async def shutdown(self) -> None:
        """Refuse new frames, let those in flight finish, release the workers. Idempotent."""
