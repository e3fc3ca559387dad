"""Shared test settings."""

from __future__ import annotations

import os

# Slow machines: TL_TEST_TIMEOUT_SCALE=3 makes every wait in the tests three times longer.
TIMEOUT_SCALE = float(os.environ.get("TL_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds: float) -> float:
    return seconds * TIMEOUT_SCALE
