"""A hand-written Socket.IO v5 / Engine.IO v4 client over one WebSocket, for what a real
client library never sends: events before the namespace is joined, undecodable packets,
binary frames with no packet, a close in the middle of the handshake. And below that, a
WebSocket driven frame by frame (`WireSocket`), for frames announced but never sent.

Packets are text frames ``<engine.io type><socket.io type>[/namespace,][ack id][json]``:
``40/student,{...}`` joins a namespace, ``42/student,7["capture",{...}]`` is an event with
ack id 7, ``43/student,7[...]`` its ack, ``44/student,{...}`` a refused join. A binary event
(``451-/student,7[...{"_placeholder":true,"num":0}...]``) is followed by one binary frame
per attachment. The server's pings (``2``) are answered (``3``) while reading.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from testkit.timing import timeout


@dataclass
class Packet:
    kind: str  # "0" connect, "2" event, "3" ack, "4" connect error, "1" disconnect
    namespace: str
    ack_id: int | None
    data: Any


def parse(text: str) -> Packet | None:
    """A Socket.IO packet from an Engine.IO message frame (``4...``); None for anything else."""
    if not text.startswith("4") or len(text) < 2:
        return None
    kind, rest = text[1], text[2:]
    namespace = "/"
    if rest.startswith("/"):
        namespace, _, rest = rest.partition(",")
    digits = ""
    while rest[:1].isdigit():
        digits, rest = digits + rest[0], rest[1:]
    return Packet(kind, namespace, int(digits) if digits else None, json.loads(rest or "null"))


@dataclass
class RawSocket:
    ws: ClientConnection
    packets: list[Packet] = field(default_factory=list)

    @classmethod
    async def open(cls, base_url: str) -> RawSocket:
        host = urlsplit(base_url).netloc
        ws = await connect(
            f"ws://{host}/socket.io/?EIO=4&transport=websocket",
            open_timeout=timeout(10),
            max_size=None,
        )
        opened = await asyncio.wait_for(ws.recv(), timeout(10))
        assert isinstance(opened, str) and opened.startswith("0{"), opened
        return cls(ws)

    async def send(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def join(self, namespace: str, auth: Any) -> Packet:
        """Join a namespace; the server's answer (``0`` joined, ``4`` refused)."""
        await self.send(f"40{namespace},{json.dumps(auth)}")
        return await self.next(lambda p: p.namespace == namespace and p.kind in "04")

    async def emit(self, namespace: str, event: str, data: Any, ack_id: int | None = None) -> None:
        ack = "" if ack_id is None else str(ack_id)
        await self.send(f"42{namespace},{ack}{json.dumps([event, data])}")

    async def emit_binary(
        self, namespace: str, event: str, data: dict[str, Any], blob: bytes, ack_id: int
    ) -> None:
        """``data`` with ``{"_placeholder": true, "num": 0}`` where the blob goes."""
        await self.send(f"451-{namespace},{ack_id}{json.dumps([event, data])}")
        await self.send(blob)

    async def next(self, pred: Any = None, within: float = 10) -> Packet:
        """The next Socket.IO packet matching ``pred``, answering pings meanwhile."""
        async with asyncio.timeout(timeout(within)):
            while True:
                message = await self.ws.recv()
                if message == "2":
                    await self.ws.send("3")
                    continue
                packet = parse(message) if isinstance(message, str) else None
                if packet is None:
                    continue
                self.packets.append(packet)
                if pred is None or pred(packet):
                    return packet

    async def ack(self, ack_id: int, within: float = 10) -> Any:
        packet = await self.next(lambda p: p.kind == "3" and p.ack_id == ack_id, within)
        return packet.data[0] if packet.data else None

    async def silent_for(self, seconds: float, pred: Any = None) -> bool:
        """True when nothing matching ``pred`` arrives for ``seconds`` (pings answered)."""
        try:
            await self.next(pred, within=seconds)
        except TimeoutError:
            return True
        return False

    async def is_open(self) -> bool:
        """Still connected: an Engine.IO message gets through and the socket is not closed."""
        try:
            await self.ws.send("3")  # an unsolicited pong: harmless
            await asyncio.sleep(0.05)
        except ConnectionClosed:
            return False
        return self.ws.close_code is None

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class WireSocket:
    """A WebSocket spoken frame by frame over TCP, for what no WebSocket library sends: a frame
    header announcing a payload that then arrives only in part, or never."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    @classmethod
    async def open(cls, base_url: str) -> WireSocket:
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        async with asyncio.timeout(timeout(10)):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def send_header(self, length: int, opcode: int = 0x2) -> None:
        """The header of one final frame of ``length`` bytes (masked, as from a client)."""
        if length < 126:
            size = bytes([0x80 | length])
        elif length < 1 << 16:
            size = bytes([0x80 | 126]) + struct.pack(">H", length)
        else:
            size = bytes([0x80 | 127]) + struct.pack(">Q", length)
        self.writer.write(bytes([0x80 | opcode]) + size + os.urandom(4))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close_code(self, within: float) -> int | None:
        """The code of the server's close frame (Engine.IO's messages are skipped), or None if
        none arrives within ``within`` seconds."""
        try:
            async with asyncio.timeout(timeout(within)):
                while True:
                    first, second = await self.reader.readexactly(2)
                    length = second & 0x7F
                    if length == 126:
                        (length,) = struct.unpack(">H", await self.reader.readexactly(2))
                    elif length == 127:
                        (length,) = struct.unpack(">Q", await self.reader.readexactly(8))
                    payload = await self.reader.readexactly(length)
                    if first & 0x0F == 0x8:
                        return int.from_bytes(payload[:2], "big") if payload else 1005
        except TimeoutError:
            return None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
