"""What runs first in every worker process of `offload.WarmProcesses`.

The pool names a setup function (module-level, so a spawned process can import it); the child
runs it once, then every worker waits for its peers at a barrier, so the pool is ready only when
each process has loaded its model and answered.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

_barrier: Any = None
_about = ""


def init(barrier: Any, setup: Callable[..., str | None], args: tuple[Any, ...], nice: int) -> None:
    """Process initializer: lower the worker's priority by ``nice``, keep the barrier and set
    the worker up (load and warm its model). What ``setup`` returns says what the worker runs
    on, for the pool's ready line."""
    global _barrier, _about
    if nice:
        os.nice(nice)
    _barrier = barrier
    _about = setup(*args) or ""


def warm(timeout_s: float) -> tuple[int, str]:
    """One per worker at start: wait for the others, so each has started. Returns the pid and
    what the worker runs on."""
    if _barrier is not None:
        try:
            _barrier.wait(timeout_s)
        except threading.BrokenBarrierError:
            logger.warning("worker %d warmed up without its peers", os.getpid())
    return os.getpid(), _about
