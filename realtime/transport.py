"""What each connection costs while it sits idle: python-engineio made smaller.

A lesson holds hundreds or thousands of students who send a frame a minute or two, so the
memory a connection holds when nothing happens is what limits a process (bench/RESULTS.md,
idle scenario). Measured with tracemalloc, two things python-engineio keeps per connection are
larger than they need to be:

- **Its packet queue**, an ``asyncio.Queue``: four deques (items, waiting getters, waiting
  putters, and the waiters of its ``join`` event), empty or not, and
  a task of its own for every ``asyncio.wait_for(queue.get(), ...)`` its writer runs.
  :class:`LeanQueue` holds the same packets in a deque made only while there are some, and its
  ``get()`` is a future, which ``wait_for`` awaits without a task. (uvicorn's WebSocket
  protocol gets the same queue, and :class:`LeanEvent` for its "writable" event:
  ``server.websocket_protocol``.)
- **The handshake request's body reader**, which stays in the connection's environ: a class
  python-engineio defines anew for every request. A
  WebSocket connection never reads it again; :class:`LeanEngineIOServer` drops it.

What each costs: bench/RESULTS.md, "Figures behind the code". These are python-engineio
internals, checked by tests/contracts: docs/library-internals.md.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

import engineio

T = TypeVar("T")


class LeanQueue(Generic[T]):
    """An unbounded FIFO with the part of ``asyncio.Queue``'s interface python-engineio and
    uvicorn use: ``put``/``put_nowait``, ``get``/``get_nowait``, ``task_done``/``join``,
    ``empty``/``qsize``.

    One difference: ``get()`` returns a future that is resolved with the item, not a coroutine
    (``await queue.get()`` reads the same). An item is handed to the oldest getter still
    waiting; a getter cancelled first (a ``wait_for`` that timed out) is skipped.
    """

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished")

    def __init__(self) -> None:
        self._items: deque[T] | None = None
        self._getters: list[asyncio.Future[T]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: T) -> None:
        self._unfinished += 1
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                if not getters:
                    self._getters = None
                getter.set_result(item)
                return
        self._getters = None
        if self._items is None:
            self._items = deque()
        self._items.append(item)

    async def put(self, item: T) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> T:
        items = self._items
        if not items:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        return item

    def get(self) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self.get_nowait())
        else:
            if self._getters is None:
                self._getters = []
            self._getters.append(future)
        return future

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            for joiner in self._joiners:
                if not joiner.done():
                    joiner.set_result(None)
            self._joiners = None

    async def join(self) -> None:
        if self._unfinished == 0:
            return
        joiner: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(joiner)
        await joiner


class LeanEvent:
    """``asyncio.Event`` (``is_set``, ``set``, ``clear``, ``wait``) without a deque of its own
    for the waiters it has not got yet."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = False
        self._waiters: list[asyncio.Future[bool]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        if self._set:
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            return await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)


class LeanEngineIOServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server with :class:`LeanQueue` packet queues, and without the
    handshake's body reader in a connection's environ."""

    def create_queue(self, *args: Any, **kwargs: Any) -> LeanQueue[Any]:
        return LeanQueue()

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect" and len(args) >= 2 and isinstance(args[1], dict):
            # (sid, environ): read by nobody once the session exists.
            args[1].pop("wsgi.input", None)
        return await super()._trigger_event(event, *args, **kwargs)
