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
