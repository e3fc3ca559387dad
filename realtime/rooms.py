"""The Socket.IO client managers, with the rooms of each connection indexed.

python-socketio finds the rooms of a connection that leaves (and answers ``get_rooms``) by
looking through every room of the namespace. Every connection has a room of its own and every
student one more, so one student leaving costs two checks per student still connected, and a
lesson of N students ending costs N² of them: 110 s of the event loop for 10,000 students,
during which nothing else was served (bench/RESULTS.md, idle). :class:`IndexedRooms` keeps,
for each connection, the rooms it is in, and leaves just those.
"""

from __future__ import annotations

from typing import Any

import socketio


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


class RoomManager(IndexedRooms, socketio.AsyncManager):  # type: ignore[misc]
    """One process: python-socketio's in-memory manager."""


class RedisRoomManager(IndexedRooms, socketio.AsyncRedisManager):  # type: ignore[misc]
    """Several processes: python-socketio's Redis manager."""
