"""The Socket.IO client managers: rooms indexed per connection, and delivery without a task
per recipient.

python-socketio finds the rooms of a connection that leaves (and answers ``get_rooms``) by
looking through every room of the namespace. Every connection has a room of its own and every
student one more, so one student leaving costs two checks per student still connected, and a
lesson of N students ending costs N² of them, during which nothing else is served
(bench/RESULTS.md, idle, and "Figures behind the code"). :class:`IndexedRooms` keeps,
for each connection, the rooms it is in, and leaves just those.

Delivering an event to this process's sockets, python-socketio makes a task for every
recipient and waits for them all: a task's cost for a packet that only joins a queue, and,
for events that came from another process through Redis, a pause of the Redis listener until
the event loop's next turn for every single event. Under load that listener fell tens of
seconds behind the students (bench/RESULTS.md, cluster). :func:`deliver` puts the packet on
each recipient's queue in turn, in order, without tasks.

Both rely on python-socketio internals, checked by tests/contracts: docs/library-internals.md.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any

import engineio
import socketio
from socketio import packet

from realtime.cluster import RESUBSCRIBE_S, redis_client
from realtime.queue_link import QueueLink

logger = logging.getLogger(__name__)


class IndexedRooms:
    """Mixed in before a python-socketio manager class: the same rooms, and an index."""

    rooms: dict[str, dict[Any, Any]]
    callbacks: dict[str, Any]
    pending_connect: dict[str, list[str]]
    pending_disconnect: dict[str, list[str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (namespace, sid) -> the rooms it is in, in the order it entered them.
        self._rooms_of: dict[tuple[str, str], dict[Any, None]] = {}

    def basic_enter_room(
        self, sid: str, namespace: str, room: Any, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)  # type: ignore[misc]
        self._rooms_of.setdefault((namespace, sid), {})[room] = None

    def basic_leave_room(self, sid: str, namespace: str, room: Any) -> None:
        super().basic_leave_room(sid, namespace, room)  # type: ignore[misc]
        key = (namespace, sid)
        if (rooms := self._rooms_of.get(key)) is not None:
            rooms.pop(room, None)
            if not rooms:
                del self._rooms_of[key]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # python-socketio's own, with the index in place of the scan over every room.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get((namespace, sid), ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[Any]:
        return [room for room in self._rooms_of.get((namespace, sid), ()) if room is not None]


async def deliver(
    manager: Any, event: str, data: Any, namespace: str, room: Any, skip_sid: Any = None
) -> None:
    """``AsyncManager.emit`` for an event without an ack callback, to this process's sockets
    in ``room``: the packet is encoded once and queued for each recipient in turn."""
    if namespace not in manager.rooms:
        return
    # As python-socketio reads it: a tuple is several arguments, None none, anything else one.
    args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
    skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
    encoded = manager.server.packet_class(
        packet.EVENT, namespace=namespace, data=[event, *args]
    ).encode()
    eio_packets = [
        engineio.packet.Packet(engineio.packet.MESSAGE, p)
        for p in (encoded if isinstance(encoded, list) else [encoded])
    ]
    for sid, eio_sid in manager.get_participants(namespace, room):
        if sid in skip:
            continue
        try:
            for eio_packet in eio_packets:
                await manager.server._send_eio_packet(eio_sid, eio_packet)
        except Exception as exc:  # a socket closing meanwhile: the others still get theirs
            logger.info("%s not delivered to sid %s: %s", event, sid, type(exc).__name__)


class RoomManager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    """One process: python-socketio's in-memory manager."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
        else:
            await deliver(self, event, data, namespace, to or room, skip_sid)


# Messages for the other processes waiting to be published (while Redis is away or slow); beyond
# this the oldest are dropped, and said so.
PUBLISH_BACKLOG = 10_000
PUBLISH_TIMEOUT_S = 1.0


class RedisRoomManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """Several processes: python-socketio's Redis manager."""

    def __init__(self, url: str, *, channel: str, link: QueueLink | None = None) -> None:
        super().__init__(url, channel=channel)
        self.link = link or QueueLink()
        self._outgoing: collections.deque[str] = collections.deque(maxlen=PUBLISH_BACKLOG)
        self._queued = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None
        self._sender: Any = None
        self.dropped = 0

    async def _publish(self, data: Any) -> None:
        # Never waits on Redis: queued for the publisher task.
        if self._publisher is None:
            # Each try has its own time limit (below); the socket's is the longest of them.
            self._sender = redis_client(self.redis_url, timeout_s=8 * PUBLISH_TIMEOUT_S)
            self._publisher = asyncio.get_running_loop().create_task(
                self._publish_queued(), name="socketio-publisher"
            )
        if len(self._outgoing) == self._outgoing.maxlen:
            self.dropped += 1
            if self.dropped % PUBLISH_BACKLOG == 1:
                logger.error(
                    "events for other processes dropped: more than %d waited for Redis (%d so far)",
                    PUBLISH_BACKLOG,
                    self.dropped,
                )
        self._outgoing.append(self.json.dumps(data))
        self._queued.set()

    async def _publish_queued(self) -> None:
        # A publish that fails or takes longer than PUBLISH_TIMEOUT_S (Redis away, or only slow
        # on a saturated machine) is not given up: what waits is published once Redis answers
        # again, oldest first, before the link is said to be up (which sends every tutor their
        # class afresh, so the newest state is the last they see). Late is allowed, lost is
        # not; a batch cut off half-way may reach the others twice, in order, which for states
        # (each a whole snapshot) only repeats what they already show.
        batch: list[str] = []
        away = False
        timeout_s = PUBLISH_TIMEOUT_S  # doubled after each slow try, up to 8 s
        while True:
            if not batch:
                await self._queued.wait()
                self._queued.clear()
            while batch or self._outgoing:
                batch += self._outgoing
                self._outgoing.clear()
                if len(batch) > PUBLISH_BACKLOG:
                    over = len(batch) - PUBLISH_BACKLOG
                    self.dropped += over
                    logger.error(
                        "%d events for other processes dropped: more than %d waited for Redis",
                        over,
                        PUBLISH_BACKLOG,
                    )
                    batch = batch[over:]
                try:
                    async with asyncio.timeout(timeout_s):
                        async with self._sender.pipeline(transaction=False) as pipe:
                            for message in batch:
                                pipe.publish(self.channel, message)
                            await pipe.execute()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not away and await self._answers():
                        # Slow, not away (a saturated machine): published again at once, and
                        # nobody is told the class may be out of date.
                        logger.info(
                            "publishing %d events took over %.0f s (%r); again",
                            len(batch),
                            timeout_s,
                            exc,
                        )
                        timeout_s = min(8 * PUBLISH_TIMEOUT_S, 2 * timeout_s)
                        continue
                    self.link.down("socket.io publishing", type(exc).__name__ or "no answer")
                    away = True
                    await self._until_reachable()
                    continue
                if away:
                    logger.info("%d events for other processes published late", len(batch))
                    self.link.up("socket.io publishing")
                    away = False
                batch, timeout_s = [], PUBLISH_TIMEOUT_S

    async def _until_reachable(self) -> None:
        while True:
            await asyncio.sleep(RESUBSCRIBE_S)
            if await self._answers():
                return

    async def _answers(self) -> bool:
        """Whether Redis answers a ping within PUBLISH_TIMEOUT_S."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                await self._sender.ping()
            return True
        return False

    async def close(self) -> None:
        """Stop publishing (what is still queued is dropped: the process is stopping)."""
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            await self._sender.aclose()

    async def _redis_listen_with_retries(self) -> Any:
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                self.link.up("socket.io listener")
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.link.down("socket.io listener", type(exc).__name__)
                with contextlib.suppress(Exception):
                    await self.pubsub.aclose()
                    await self.redis.aclose()
            await asyncio.sleep(RESUBSCRIBE_S)

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("ignore_queue") and callback is None:
            await deliver(self, event, data, namespace or "/", to or room, skip_sid)
        else:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        # An event published by this process or another: delivered here, the same way.
        if message.get("callback") is not None or message.get("binary"):
            await super()._handle_emit(message)
            return
        data = message["data"]
        if isinstance(data, list):
            data = data[0] if len(data) == 1 else tuple(data)
        await deliver(
            self,
            message["event"],
            data,
            message.get("namespace") or "/",
            message.get("room"),
            message.get("skip_sid"),
        )
