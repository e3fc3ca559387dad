"""Time for the live parts: wall-clock time, a monotonic clock, timers and sleeping.

The parts of the hub take a :class:`Clock` instead of reading time themselves, so prompting,
frames and check-now waves run under a fake clock in unit tests (``tests/realtime``) exactly
as they run under the event loop in the server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current UTC time (what records and deadlines are written in)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary start, never going back (for rate limits)."""

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        """Run ``callback(*args)`` on the event loop after ``delay`` seconds."""

    async def sleep(self, seconds: float) -> None: ...


class LoopClock:
    """The real clock: the system's time and the running event loop's timers."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
