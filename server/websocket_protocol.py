"""uvicorn's WebSocket protocol, holding less for each idle connection.

uvicorn's ``websockets-sansio`` protocol (its default from uvicorn 0.50) keeps, for the life of
a connection, an ``asyncio.Queue`` of incoming messages (four deques, empty or not), an
``asyncio.Event`` (one more deque), and the handshake's request and response with all their
headers, read by nobody once the connection is accepted. Here the queue and the event are
`realtime.transport`'s smaller ones, and the handshake is let go once it is answered: less held
for each of thousands of students (bench/RESULTS.md, idle). These are uvicorn internals:
docs/library-internals.md.

WebSocket-level keepalive pings are off in `server.serving.uvicorn_config`: Engine.IO has its
own heartbeat (``TL_PING_INTERVAL_S``/``TL_PING_TIMEOUT_S``), which closes a silent
connection, so uvicorn's would only double the timers and the traffic.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from realtime.transport import LeanEvent, LeanQueue


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Duck-typed: the part of asyncio.Queue the protocol uses.
        self.queue = LeanQueue()  # type: ignore[assignment]
        self.writable = LeanEvent()  # type: ignore[assignment]
        self.writable.set()

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and hasattr(self, "request"):
            # Answered: nothing reads the handshake again.
            del self.request, self.response
