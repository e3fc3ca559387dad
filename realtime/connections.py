"""The sockets this process holds: who each one is, in which lesson, and its rate limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from realtime.clock import Clock
from storage.models import Role

# Connections closed in the last few seconds are remembered, for frames still on their way in.
JUST_LEFT_S = 5.0


@dataclass(frozen=True, slots=True)
class Bucket:
    """Per connection: refused captures (no open prompt, too late, malformed) and camera changes
    draw from a bucket of ``burst`` tokens, refilled at ``refill_per_s``; when it is empty every
    capture is answered `rate_limited` at once, and camera changes reach the tutors at most once
    per refill. Answers to an open prompt draw nothing: ``max_frames`` already bounds them, so
    an honest student is never rate-limited, however often the tutor checks."""

    burst: float = 12.0
    refill_per_s: float = 1.0


DEFAULT_BUCKET = Bucket()


@dataclass(slots=True)
class Connection:
    sid: str
    user_id: uuid.UUID
    lesson_id: uuid.UUID
    role: Role
    presence_id: uuid.UUID | None = None
    tokens: float = DEFAULT_BUCKET.burst
    refilled_at: float = 0.0
    camera_update_due: bool = False
    bucket: Bucket = DEFAULT_BUCKET
    expires_at: datetime | None = None
    """When the token the connection was admitted with expires."""
    token_version: int | None = None
    token_id: str | None = None
    revoked: bool = False
    """Found no longer allowed (being closed): its frames and actions are refused."""

    @property
    def is_student(self) -> bool:
        return self.role is Role.STUDENT

    def may_capture(self, now: float) -> bool:
        """Refill the bucket; False while the connection's refusals have emptied it."""
        elapsed = now - self.refilled_at
        self.tokens = min(self.bucket.burst, self.tokens + elapsed * self.bucket.refill_per_s)
        self.refilled_at = now
        return self.tokens >= 1

    def charge(self) -> None:
        self.tokens = max(0.0, self.tokens - 1)


class Connections:
    """This process's connections by sid, with the few lookups the hub needs."""

    def __init__(self, clock: Clock, *, just_left_s: float = JUST_LEFT_S) -> None:
        self._clock = clock
        self._just_left_s = just_left_s
        self._by_sid: dict[str, Connection] = {}
        self._just_left: dict[str, Connection] = {}

    def add(self, conn: Connection) -> None:
        self._by_sid[conn.sid] = conn

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def __contains__(self, sid: str) -> bool:
        return sid in self._by_sid

    def get_or_just_left(self, sid: str) -> Connection | None:
        """The connection, also when it closed in the last few seconds."""
        return self._by_sid.get(sid) or self._just_left.get(sid)

    def remove(self, sid: str) -> Connection | None:
        conn = self._by_sid.pop(sid, None)
        if conn is not None:
            self._just_left[sid] = conn
            self._clock.call_later(self._just_left_s, self._just_left.pop, sid, None)
        return conn

    def __iter__(self) -> Iterator[Connection]:
        return iter(list(self._by_sid.values()))

    def students_in(self, lesson_id: uuid.UUID) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.lesson_id == lesson_id and c.is_student]

    def of_user(self, user_id: uuid.UUID) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.user_id == user_id]

    def in_lessons(self, lesson_ids: set[uuid.UUID]) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.lesson_id in lesson_ids]

    def presence_ids(self) -> list[uuid.UUID]:
        return [c.presence_id for c in self._by_sid.values() if c.presence_id is not None]

    @property
    def counts(self) -> dict[str, int]:
        students = sum(1 for c in self._by_sid.values() if c.is_student)
        return {"students": students, "tutors": len(self._by_sid) - students}

    def clear(self) -> None:
        self._by_sid.clear()
