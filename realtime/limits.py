"""Protocol limits python-socketio and python-engineio do not enforce by themselves.

- A binary packet announces how many binary frames follow, and the server keeps each of them
  (up to the message limit apiece) until the count is reached. A capture carries one image,
  so a packet announcing more is refused and its connection closed.
- A long-polling POST over the message limit is answered 413 here, before python-engineio
  sees it: its own refusal waits for a poll that may never come. One that declares no length
  is answered 411: python-engineio would read it all and ignore it.
- A packet that cannot be decoded is noted in one line, not logged as a server error.

These override python-socketio and python-engineio internals: docs/library-internals.md.
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
# What python-socketio raises for a packet it cannot decode: not JSON or nested too deep, not
# an event list, an empty one, an unknown type, a bad attachment count.
UNDECODABLE = (ValueError, TypeError, KeyError, IndexError, RecursionError)
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
    """Closes the connection of a client that breaks :class:`LimitedPacket`'s limit, and
    notes a packet that cannot be decoded in one line: it is the client's error, not the
    server's, and python-engineio would log each one as an error with its traceback."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(serializer=LimitedPacket, **kwargs)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except TooManyAttachments as exc:
            logger.info("closing connection %s: %s", eio_sid, exc)
            await close_session(self.eio, eio_sid)
        except UNDECODABLE as exc:
            # Raised while the packet is decoded and routed; the handlers themselves run in
            # tasks of their own, and connection handlers answer every error they meet.
            logger.info("undecodable packet from %s: %s", eio_sid, type(exc).__name__)


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
    Content-Length, and one that declares no length (chunked) answered 411: python-engineio
    would read it to its end, however long, and drop what it says without a word."""

    def __init__(self, sio: socketio.AsyncServer, other_asgi_app: Any, *, max_bytes: int) -> None:
        super().__init__(sio, other_asgi_app=other_asgi_app)
        self.sio = sio
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"].rstrip("/") == "/socket.io"
        ):
            declared = _declared_length(scope)
            if declared is None:
                await self._refuse(scope, "no length declared")
                await _discard_body(receive)
                await _answer(send, 411, "a polling POST must declare its Content-Length")
                return
            if declared > self.max_bytes:
                await self._refuse(scope, "message over the limit")
                await _discard_body(receive)
                await _answer(send, 413, f"a message may be at most {self.max_bytes} bytes")
                return
        await super().__call__(scope, receive, send)

    async def _refuse(self, scope: Scope, why: str) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if sid := query.get("sid", [""])[0]:
            logger.info("closing polling session %s: %s", sid, why)
            await close_session(self.sio.eio, sid)


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length (0 if it is not a number), or None when there is none."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return None


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


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
