"""Failed sign-ins, counted per account and per address, in a sliding window.

Only failures count, and a success clears the account's count. The limit applies to any email,
existing or not, so a 429 tells nothing about which accounts exist. Counts are per process:
with sticky sessions (ip_hash) one address reaches one process anyway.

An attempt is admitted only while it cannot take the key past its limit, counting the attempts
still being checked as failures-to-be: otherwise a burst of guesses sent at once would all be
checked before the first failure was counted. An attempt that would exceed the limit waits for
those in flight to settle (a burst of honest sign-ins behind one address is only queued), and is
refused once the failures alone have reached the limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque

MAX_KEYS = 100_000


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        now = time.monotonic() if now is None else now
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[0] + self.window_s - now))

    async def admit(self, key: str) -> int | None:
        """None once an attempt for ``key`` may be checked (it is then in flight until
        `release`), or the seconds until ``key`` may try again."""
        while True:
            if (wait := self.retry_after(key)) is not None:
                return wait
            failures = self._recent(key, time.monotonic())
            in_flight = self._in_flight.get(key, 0)
            if (len(failures) if failures else 0) + in_flight < self.max_failures:
                self._in_flight[key] = in_flight + 1
                return None
            settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.setdefault(key, []).append(settled)
            try:
                await settled
            finally:
                waiting = self._waiters.get(key, [])
                if settled in waiting:
                    waiting.remove(settled)
                if not waiting:
                    self._waiters.pop(key, None)

    def release(self, key: str, *, failed: bool) -> None:
        """An admitted attempt is settled: counted as a failure or not."""
        if failed:
            self.failed(key)
        left = self._in_flight.get(key, 0) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)
        for waiter in self._waiters.pop(key, []):
            if not waiter.done():
                waiter.set_result(None)

    def failed(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        failures = self._recent(key, now)
        if failures is None:
            failures = self._failures[key] = deque(maxlen=self.max_failures)
        failures.append(now)
        self._failures.move_to_end(key)
        while len(self._failures) > MAX_KEYS:
            self._failures.popitem(last=False)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
