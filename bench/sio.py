"""A lean Socket.IO v5 client over one bare WebSocket (Engine.IO v4, websocket transport only).

The load generator holds thousands of connections per process, on a machine whose two cores it
shares with the server it measures, so every client cycle it spends is taken from the server.
python-socketio's ``AsyncClient`` costs an aiohttp session and several tasks per connection;
this speaks only what the lesson server uses: one namespace with ``auth``, events both ways,
acks, one binary attachment per event, and Engine.IO heartbeats (the server pings, we pong).

Wire format, as the server sees it::

    server: 0{"sid":..,"pingInterval":..}      Engine.IO open
    client: 40/student,{"token":..,"lesson_id":..}
    server: 40/student,{"sid":..}  or  44/student,{"message":..,"data":{"code":..}}
    server: 42/student,["prompt",{..}]          an event
    client: 451-/student,7["capture",{"prompt_id":..,"image":{"_placeholder":true,"num":0}}]
    client: <binary frame: the JPEG>            its one attachment
    server: 43/student,7[{..}]                  the ack of event 7
    server: 2   client: 3                       heartbeat
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

try:  # the load generator's own JSON: orjson when installed (the dev extra has it)
    import orjson

    def _dumps(value: Any) -> str:
        return orjson.dumps(value).decode()

    _loads: Callable[[str | bytes], Any] = orjson.loads
except ImportError:  # pragma: no cover
    import json

    def _dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    _loads = json.loads

Handler = Callable[[Any], None]
_IMAGE = '"image":{"_placeholder":true,"num":0}'


class SioError(Exception):
    """The connection failed or closed; ``kind`` names the failure for the error table."""

    def __init__(self, kind: str, message: str = "") -> None:
        super().__init__(message or kind)
        self.kind = kind


class ConnectRefused(SioError):
    """The server answered the namespace connect with ``connect_error``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"refused:{code}", message)
        self.code = code


class SioClient:
    """One connection to one namespace. Handlers are plain callables, called on the loop."""

    __slots__ = ("_acks", "_next_id", "_reader", "_ws", "closed", "handlers", "namespace")

    def __init__(self, namespace: str, handlers: dict[str, Handler]) -> None:
        self.namespace = namespace
        self.handlers = handlers
        self.closed = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0

    async def connect(
        self, base_url: str, auth: dict[str, Any], *, compression: bool, timeout_s: float = 30
    ) -> None:
        """Open the socket and join the namespace; raises `ConnectRefused` or `SioError`."""
        url = base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        try:
            async with asyncio.timeout(timeout_s):
                ws = await connect(
                    url,
                    compression="deflate" if compression else None,
                    max_size=None,
                    ping_interval=None,  # Engine.IO has its own heartbeat, as in a browser
                    close_timeout=1,
                    user_agent_header=None,
                    proxy=None,
                )
                self._ws = ws
                opening = await ws.recv()
                if not isinstance(opening, str) or not opening.startswith("0"):
                    raise SioError("bad_open", repr(opening)[:80])
                await ws.send(f"40{self.namespace},{_dumps(auth)}")
                while True:
                    reply = await ws.recv()
                    if reply == "2":
                        await ws.send("3")
                        continue
                    break
        except TimeoutError:
            await self._abort()
            raise SioError("connect_timeout") from None
        except websockets.InvalidStatus as exc:
            raise SioError(f"http_{exc.response.status_code}") from None
        except (OSError, websockets.WebSocketException) as exc:
            await self._abort()
            raise SioError(f"connect_{type(exc).__name__}", str(exc)) from None
        assert isinstance(reply, str)
        if reply.startswith(f"44{self.namespace},"):
            await self._abort()
            body = _loads(reply[len(self.namespace) + 3 :])
            raise ConnectRefused(str((body.get("data") or {}).get("code")), body.get("message"))
        if not reply.startswith(f"40{self.namespace},"):
            await self._abort()
            raise SioError("bad_connect", reply[:80])
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def emit(self, event: str, data: Any) -> None:
        await self._send(f"42{self.namespace},{_dumps([event, data])}")

    async def call(
        self, event: str, data: Any, *, image: bytes | None = None, timeout_s: float = 30
    ) -> Any:
        """Emit with an ack and wait for it. With ``image``, ``data["image"]`` is that binary.

        Raises `SioError` ("ack_timeout", "closed").
        """
        self._next_id += 1
        ack_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            if image is None:
                await self._send(f"42{self.namespace},{ack_id}{_dumps([event, data])}")
            else:
                fields = _dumps(data)[1:-1]
                body = f"[{_dumps(event)},{{{_IMAGE}{',' if fields else ''}{fields}}}]"
                await self._send(f"451-{self.namespace},{ack_id}{body}", image)
            async with asyncio.timeout(timeout_s):
                return await future
        except TimeoutError:
            raise SioError("ack_timeout") from None
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        if self._ws is not None and not self.closed.is_set():
            with contextlib.suppress(Exception):
                await self._ws.send(f"41{self.namespace},")
        await self._abort()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _send(self, text: str, attachment: bytes | None = None) -> None:
        ws = self._ws
        if ws is None or self.closed.is_set():
            raise SioError("closed")
        try:
            # Nothing else on this connection sends between a packet and its attachment: the
            # reader only answers heartbeats, which live below Socket.IO.
            await ws.send(text)
            if attachment is not None:
                await ws.send(attachment)
        except websockets.ConnectionClosed:
            raise SioError("closed") from None

    async def _read(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for message in ws:
                if isinstance(message, str):
                    await self._dispatch(ws, message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._closed()

    async def _dispatch(self, ws: ClientConnection, message: str) -> None:
        kind = message[:1]
        if kind == "2":
            await ws.send("3")
            return
        if kind == "1":
            await ws.close()
            return
        if kind != "4":
            return
        packet_type = message[1:2]
        rest = message[2:]
        if rest.startswith("/"):
            namespace, _, rest = rest.partition(",")
            if namespace != self.namespace:
                return
        if packet_type == "2":  # event
            start = 0
            while start < len(rest) and rest[start].isdigit():
                start += 1
            event, *args = _loads(rest[start:])
            handler = self.handlers.get(event)
            if handler is not None:
                handler(args[0] if args else None)
        elif packet_type == "3":  # ack
            split = 0
            while split < len(rest) and rest[split].isdigit():
                split += 1
            future = self._acks.get(int(rest[:split]))
            if future is not None and not future.done():
                values = _loads(rest[split:])
                future.set_result(values[0] if values else None)
        elif packet_type == "1":  # the server disconnected this namespace
            await ws.close()

    def _closed(self) -> None:
        self.closed.set()
        for future in self._acks.values():
            if not future.done():
                future.set_exception(SioError("closed"))
                # Its caller may be gone already (shutting down): never a "not retrieved" warning.
                future.add_done_callback(lambda f: f.exception())
        handler = self.handlers.get("__closed__")
        if handler is not None:
            handler(None)

    async def _abort(self) -> None:
        """Close the socket; the reader, if running, sees it and finishes."""
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._reader is None:
            self.closed.set()
