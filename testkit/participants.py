"""One Socket.IO connection that records every event it receives, with waits on them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from testkit.timing import timeout

RECORDED = ("prompt", "verdict", "lesson_ended", "roster", "attendance", "review", "cluster")


@dataclass
class Participant:
    """A tutor (``/tutor``) or a student (``/student``) of a lesson, over WebSocket."""

    base_url: str
    namespace: str
    client: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient())
    events: list[tuple[str, Any]] = field(default_factory=list)
    refusal: dict[str, Any] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for name in RECORDED:
            self.client.on(name, self._recorder(name), namespace=self.namespace)
        self.client.on("connect_error", self._refused, namespace=self.namespace)
        self.client.on("disconnect", self._recorder("disconnect"), namespace=self.namespace)

    def _recorder(self, name: str) -> Callable[..., Awaitable[None]]:
        async def record(data: Any = None) -> None:
            self.events.append((name, data))
            self._arrived.set()

        return record

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def connect(self, token: str | None, lesson_id: str, **auth: Any) -> None:
        await self.client.connect(
            self.base_url,
            namespaces=[self.namespace],
            auth={"token": token, "lesson_id": lesson_id, **auth},
            transports=["websocket"],
            wait_timeout=timeout(10),
        )

    async def wait_for(
        self,
        name: str,
        pred: Callable[[Any], bool] | None = None,
        within: float = 10,
        since: int = 0,
    ) -> Any:
        """The first event ``name`` (matching ``pred``) received after the ``since``-th event,
        so far or within the time."""
        deadline = asyncio.get_running_loop().time() + timeout(within)
        seen = since
        while True:
            for event, data in self.events[seen:]:
                if event == name and (pred is None or pred(data)):
                    return data
            seen = len(self.events)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(
                    f"no {name!r} on {self.namespace} within {within}s: {self.events}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def received(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def call(self, event: str, data: Any = None, within: float = 20) -> Any:
        return await self.client.call(
            event, data, namespace=self.namespace, timeout=timeout(within)
        )

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
        # A refused or broken connection leaves its HTTP session open: close it too.
        http = getattr(self.client.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()
