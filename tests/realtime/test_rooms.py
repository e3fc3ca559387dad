"""The room index keeps python-socketio's rooms exactly as python-socketio would."""

from __future__ import annotations

import random
from typing import Any

import socketio

from realtime.rooms import RoomManager

NS = "/student"


def _apply(manager: Any, ops: list[tuple[str, str, Any]]) -> None:
    for op, sid, room in ops:
        if op == "connect":
            manager.basic_enter_room(sid, NS, None, eio_sid=f"eio-{sid}")
            manager.basic_enter_room(sid, NS, sid, eio_sid=f"eio-{sid}")
        elif op == "enter":
            manager.basic_enter_room(sid, NS, room)
        elif op == "leave":
            manager.basic_leave_room(sid, NS, room)
        elif op == "callback":
            manager.callbacks[sid] = {"pending": True}
        elif op == "pending":
            manager.pending_disconnect.setdefault(NS, []).append(sid)
        else:
            manager.basic_disconnect(sid, NS)


def _random_ops(rng: random.Random, n: int) -> list[tuple[str, str, Any]]:
    connected: set[str] = set()
    ops: list[tuple[str, str, Any]] = []
    for i in range(n):
        if not connected or rng.random() < 0.25:
            sid = f"s{i}"
            connected.add(sid)
            ops.append(("connect", sid, None))
            continue
        sid = rng.choice(sorted(connected))
        kind = rng.choice(["enter", "enter", "leave", "callback", "pending", "disconnect"])
        if kind == "disconnect":
            connected.discard(sid)
        ops.append((kind, sid, f"room{rng.randrange(6)}"))
    return ops


def test_any_sequence_leaves_the_same_rooms_as_python_socketio() -> None:
    rng = random.Random(7)
    for _ in range(50):
        ops = _random_ops(rng, 80)
        plain, indexed = socketio.AsyncManager(), RoomManager()
        _apply(plain, ops)
        _apply(indexed, ops)
        assert indexed.rooms == plain.rooms
        assert indexed.callbacks == plain.callbacks
        assert indexed.pending_disconnect == plain.pending_disconnect
        for sid in {sid for _, sid, _ in ops}:
            assert sorted(indexed.get_rooms(sid, NS)) == sorted(plain.get_rooms(sid, NS))


def test_a_student_who_leaves_is_in_no_room_and_the_others_stay() -> None:
    manager = RoomManager()
    for sid in ("a", "b"):
        _apply(manager, [("connect", sid, None), ("enter", sid, "lesson"), ("enter", sid, sid * 2)])
    manager.basic_disconnect("a", NS)
    assert manager.get_rooms("a", NS) == []
    assert dict(manager.get_participants(NS, "lesson")) == {"b": "eio-b"}
    assert "aa" not in manager.rooms[NS] and "a" not in manager.rooms[NS]
    assert sorted(manager.get_rooms("b", NS)) == ["b", "bb", "lesson"]


class _Server:
    """The part of a Socket.IO server a manager delivers through: records what each socket got,
    and fails for sockets that closed meanwhile."""

    packet_class = socketio.packet.Packet

    def __init__(self, closed: set[str]) -> None:
        self.closed = closed
        self.sent: dict[str, list[str]] = {}

    async def _send_eio_packet(self, eio_sid: str, pkt: Any) -> None:
        if eio_sid in self.closed:
            raise RuntimeError("socket is closed")
        self.sent.setdefault(eio_sid, []).append(pkt.data)


async def test_an_event_reaches_every_open_socket_in_the_room_in_order() -> None:
    manager = RoomManager()
    server = _Server(closed={"eio-b"})
    manager.server = server
    for sid in ("a", "b", "c"):
        _apply(manager, [("connect", sid, None), ("enter", sid, "tutors")])
    _apply(manager, [("connect", "d", None)])  # not in the room
    await manager.emit("attendance", {"n": 1}, NS, room="tutors")
    await manager.emit("attendance", {"n": 2}, NS, room="tutors", skip_sid="c")
    # "2" is Socket.IO's EVENT packet type; b's socket closed meanwhile, d is elsewhere.
    assert server.sent == {
        "eio-a": ['2/student,["attendance",{"n":1}]', '2/student,["attendance",{"n":2}]'],
        "eio-c": ['2/student,["attendance",{"n":1}]'],
    }
