"""A bounded count of requests in flight, shared by the pools that keep CPU work off the loop.

A pool takes a slot before it submits work and frees it when the work itself ends (not when its
caller stops waiting), so a caller cancelled while its frame still runs cannot let more work in
than the workers can do. One request past the limit is refused at once: a burst becomes quick
"rate_limited" answers instead of a queue that grows without bound.
"""

from __future__ import annotations

import threading

__all__ = ["Slots", "SlotsClosed", "SlotsFull"]


class SlotsFull(Exception):
    """Every slot is taken."""


class SlotsClosed(Exception):
    """The pool no longer takes requests."""


class Slots:
    """At most ``limit`` requests in flight; thread-safe (slots are freed from worker callbacks)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_pending must be at least 1, not {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._taken = 0
        self._closed = False

    @property
    def taken(self) -> int:
        return self._taken

    @property
    def closed(self) -> bool:
        return self._closed

    def take(self) -> None:
        """Take a slot, or raise `SlotsClosed` / `SlotsFull`."""
        with self._lock:
            if self._closed:
                raise SlotsClosed("closed")
            if self._taken >= self.limit:
                raise SlotsFull(f"{self._taken} requests in flight, limit {self.limit}")
            self._taken += 1

    def free(self, _done: object = None) -> None:
        """Give a slot back (usable as a future's done-callback)."""
        with self._lock:
            self._taken -= 1

    def close(self) -> bool:
        """Refuse every later `take`; True the first time only."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            return True
