"""Failed sign-ins, counted per account and per address, in a sliding window.

Only failures count, and a success clears the account's count. The limit applies to any email,
existing or not, so a 429 tells nothing about which accounts exist. Counts are per process:
with sticky sessions (ip_hash) one address reaches one process anyway.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque

MAX_KEYS = 100_000


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds until ``key`` may try again, or None if it may now."""
        now = time.monotonic() if now is None else now
        failures = self._recent(key, now)
        if failures is None or len(failures) < self.max_failures:
            return None
        return max(1, math.ceil(failures[0] + self.window_s - now))

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
