"""Every wait in the tests and benchmark smoke runs goes through `timeout`."""

from __future__ import annotations

import os

# Slow machines: TL_TEST_TIMEOUT_SCALE=3 makes every wait three times longer.
TIMEOUT_SCALE = float(os.environ.get("TL_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE
