"""Socket payloads in and out, validated once at the boundary.

Incoming payloads come from untrusted clients: anything may arrive (null, lists, numbers,
huge strings). Each validator returns a typed value or raises :class:`PayloadError` whose
message names the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from realtime.errors import PayloadError
from realtime.rules import Track

MAX_ID_CHARS = 64
CAMERA_STATES = frozenset({"ok", "denied", "unavailable"})


@dataclass(frozen=True, slots=True)
class ConnectAuth:
    token: str
    lesson_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Capture:
    prompt_id: str
    image: bytes


def connect_auth(auth: Any) -> ConnectAuth:
    if not isinstance(auth, dict):
        raise PayloadError("auth must be an object {token, lesson_id}")
    token = auth.get("token")
    if not isinstance(token, str) or not token:
        raise PayloadError("auth.token is required")
    return ConnectAuth(token=token, lesson_id=_uuid(auth.get("lesson_id"), "auth.lesson_id"))


def prompt_id_of(data: Any) -> str | None:
    """The prompt id a payload names, if it names one well-formed; for echoing in acks."""
    if isinstance(data, dict):
        value = data.get("prompt_id")
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS:
            return value
    return None


def capture(data: Any) -> Capture:
    if not isinstance(data, dict):
        raise PayloadError("capture must be an object {prompt_id, image}")
    prompt_id = prompt_id_of(data)
    if prompt_id is None:
        raise PayloadError(f"prompt_id must be a string of 1 to {MAX_ID_CHARS} characters")
    image = data.get("image")
    if isinstance(image, bytearray | memoryview):
        image = bytes(image)
    if not isinstance(image, bytes) or not image:
        raise PayloadError("image must be binary (a JPEG, PNG or WebP file), not text")
    return Capture(prompt_id=prompt_id, image=image)


def camera_state(data: Any) -> str:
    state = data.get("state") if isinstance(data, dict) else None
    if not isinstance(state, str) or state not in CAMERA_STATES:
        raise PayloadError("state must be one of: ok, denied, unavailable")
    return state


def check_now_target(data: Any) -> uuid.UUID | None:
    """``{}`` (or nothing) means every connected student; ``{student_id}`` one of them."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise PayloadError("check_now takes {} or {student_id}")
    if data.get("student_id") is None:
        return None
    return _uuid(data["student_id"], "student_id")


def _uuid(value: Any, field: str) -> uuid.UUID:
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS:
        raise PayloadError(f"{field} must be an id string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise PayloadError(f"{field} is not a valid id") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def student_state(track: Track) -> dict[str, Any]:
    """The tutor's view of one student (``StudentState`` in docs/protocol.md)."""
    counts = track.counts
    return {
        "student_id": track.student_id,
        "name": track.name,
        "connected": track.connected,
        "camera": track.camera,
        "identity": track.identity,
        "state": track.state.value,
        "last_outcome": track.last_outcome,
        "last_check_at": _iso(track.last_check_at),
        "checks": {
            "issued": counts.issued,
            "passed": counts.passed,
            "failed": counts.failed,
            "missed": counts.missed,
        },
        "ratio": counts.ratio,
    }


def frame_reply(
    prompt_id: str | None,
    outcome: str,
    *,
    final: bool,
    attempts_left: int,
    hint: str | None,
    status: str | None = None,
) -> dict[str, Any]:
    """The capture ack and the ``verdict`` event share this shape."""
    reply: dict[str, Any] = {
        "prompt_id": prompt_id,
        "outcome": outcome,
        "final": final,
        "attempts_left": attempts_left,
        "hint": hint,
    }
    if status is not None:
        reply["status"] = status
    return reply
