"""Protocol limits python-socketio and python-engineio do not enforce by themselves.

- A binary packet announces how many binary frames follow, and the server keeps each of them
  (up to the message limit apiece) until the count is reached. A capture carries one image,
  so a packet announcing more is refused and its connection closed.
- A long-polling POST over the message limit is answered 413 here, before python-engineio
  sees it: its own refusal waits for a poll that may never come.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import engineio
import socketio

logger = logging.getLogger(__name__)

MAX_ATTACHMENTS = 1
DISCARD_AT_MOST = 64_000_000

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class TooManyAttachments(ValueError):
    pass


class LimitedPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet that may carry at most :data:`MAX_ATTACHMENTS` binary frames."""

    def decode(self, encoded_packet: Any) -> int:
        count = int(super().decode(encoded_packet))
        if count > MAX_ATTACHMENTS:
            raise TooManyAttachments(f"a packet announced {count} binary attachments")
        return count


class LimitedServer(socketio.AsyncServer):  # type: ignore[misc]
    """Closes the connection of a client that breaks :class:`LimitedPacket`'s limit."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(serializer=LimitedPacket, **kwargs)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except TooManyAttachments as exc:
            logger.info("closing connection %s: %s", eio_sid, exc)
            await close_session(self.eio, eio_sid)


async def close_session(eio: engineio.AsyncServer, eio_sid: str) -> None:
    """Close an Engine.IO session without waiting for its client to collect the close packet
    (a long-polling client may never poll again); the server forgets it on its next sweep."""
    session = eio.sockets.get(eio_sid)
    if session is None:
        return
    await session.close(wait=False, reason=eio.reason.TRANSPORT_ERROR)
    if session.upgraded:
        # A WebSocket: wake its writer, which then closes the socket at once rather than at
        # the next ping timeout, so the client cannot go on sending.
        session.queue.put_nowait(None)


class LimitedASGIApp(socketio.ASGIApp):  # type: ignore[misc]
    """The Socket.IO ASGI app, with an over-long polling POST answered 413 at once, from its
    Content-Length, and its session closed."""

    def __init__(self, sio: socketio.AsyncServer, other_asgi_app: Any, *, max_bytes: int) -> None:
        super().__init__(sio, other_asgi_app=other_asgi_app)
        self.sio = sio
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") == "/socket.io"
            and _declared_length(scope) > self.max_bytes
        ):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            if sid := query.get("sid", [""])[0]:
                logger.info("closing polling session %s: message over the limit", sid)
                await close_session(self.sio.eio, sid)
            await _discard_body(receive)
            await _answer_413(send, self.max_bytes)
            return
        await super().__call__(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _discard_body(receive: Receive, at_most: int = DISCARD_AT_MOST) -> None:
    """Read and drop the request body (clients read the answer only once they have sent it),
    up to a bound past which the connection is simply closed after the answer."""
    seen = 0
    while seen <= at_most:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _answer_413(send: Send, max_bytes: int) -> None:
    body = f"a message may be at most {max_bytes} bytes".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
