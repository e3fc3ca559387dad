"""The server app for ``python -m uvicorn --factory bench.asgi:app``: the benchmarks' way to try
uvicorn flags that ``trust-lesson serve`` does not expose.

Logging is set up as ``trust-lesson serve`` sets it up (INFO on the root logger), so the only
difference from the shipped server is the flags; ``TL_BENCH_LOG_LEVEL=WARNING`` measures what
the per-check INFO line costs.

Prototypes of changes the benchmarks recommend, set up from here without touching the server's
code, so that they can be measured before anyone writes them:

- ``TL_BENCH_ORJSON=1``: python-socketio encodes and decodes every packet with
  ``socketio.packet.Packet.json``, which ``AsyncServer(json=...)`` would set; this sets it to
  orjson.

Memory: ``TL_BENCH_TRACEMALLOC=FRAMES`` traces allocations (that many frames deep); each SIGUSR1
then writes a snapshot to ``tracemalloc-<pid>-<n>.snap`` in the working directory, to compare
with ``tracemalloc.Snapshot.load`` (what a connection holds: the difference between two).

Upper bounds, *not* valid ways to run the server (they drop work it must do), to tell what a
change could buy at most:

- ``TL_BENCH_SKIP=db_writes``: prompts, checks and resolutions are not written (what batching
  those writes could save, at most);
- ``TL_BENCH_SKIP=tutor_updates``: no ``attendance`` event is sent (what batching tutor updates
  could save, at most).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import socketio

from server.app import create_app
from server.settings import Settings


class OrjsonForSocketIO:
    """The two functions python-socketio calls on its ``json`` module."""

    @staticmethod
    def dumps(value: Any, **_options: Any) -> str:
        import orjson

        return orjson.dumps(value).decode()

    @staticmethod
    def loads(text: str | bytes, **_options: Any) -> Any:
        import orjson

        return orjson.loads(text)


async def _nothing(*_args: Any, **_kwargs: Any) -> None:
    return None


def _skip(what: str) -> None:
    if what == "db_writes":
        from storage import repositories

        for name in ("add_prompt", "add_check", "resolve_prompt"):
            setattr(repositories, name, _nothing)
    elif what == "tutor_updates":
        from realtime.emitter import SocketEmitter

        SocketEmitter.attendance = _nothing  # type: ignore[method-assign]
    else:
        raise ValueError(f"TL_BENCH_SKIP: unknown {what!r}")


def _trace_memory(frames: int) -> None:
    import signal
    import tracemalloc
    from itertools import count

    tracemalloc.start(frames)
    taken = count()

    def dump(_signum: int, _frame: Any) -> None:
        tracemalloc.take_snapshot().dump(f"tracemalloc-{os.getpid()}-{next(taken)}.snap")

    signal.signal(signal.SIGUSR1, dump)


def app() -> socketio.ASGIApp:
    if frames := int(os.environ.get("TL_BENCH_TRACEMALLOC", "0")):
        _trace_memory(frames)
    level = os.environ.get("TL_BENCH_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if os.environ.get("TL_BENCH_ORJSON") == "1":
        socketio.packet.Packet.json = OrjsonForSocketIO
    for what in filter(None, os.environ.get("TL_BENCH_SKIP", "").split(",")):
        _skip(what)
    return create_app(Settings())
