"""Stand-ins at the hub parts' seams: a clock whose time moves only when told, an emitter that
records what it would send, and storage and vision that answer as a test says."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.policy import Policy
from realtime.checks import CheckNow, WaveTuning
from realtime.clock import Timer
from realtime.connections import Connection, Connections
from realtime.events import NoEvents
from realtime.faces import FaceChecks
from realtime.frames import Frames
from realtime.live import LiveLesson
from realtime.prompting import Prompter
from realtime.rights import LessonAccess, Rights
from realtime.rules import Classroom, Track
from realtime.tasks import TaskSet
from storage.models import Role
from vision import Challenge, ImageLimits, Outcome, PoolSaturated, Verdict

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """Time stands still until :meth:`advance` moves it, running the timers that fall due."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, _Handle, Callable[..., object], tuple[Any, ...]]] = []

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return self.elapsed

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> Timer:
        handle = _Handle()
        entry = (self.elapsed + max(0.0, delay), next(self._seq), handle, callback, args)
        heapq.heappush(self._timers, entry)
        return handle

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self.call_later(seconds, lambda: woken.done() or woken.set_result(None))
        await woken

    def due(self) -> list[float]:
        """When the timers not cancelled fall due, in seconds from the start."""
        return sorted(at for at, _, handle, _, _ in self._timers if not handle.cancelled)

    async def advance(self, seconds: float, *, step: float = 0.05) -> None:
        """Move time forward in steps, running what falls due and letting tasks run between."""
        end = self.elapsed + seconds
        while True:
            await settle()
            next_at = min(end, self.elapsed + step)
            while self._timers and self._timers[0][0] <= next_at:
                at, _, handle, callback, args = heapq.heappop(self._timers)
                self.elapsed = max(self.elapsed, at)
                if not handle.cancelled:
                    callback(*args)
                await settle()
            self.elapsed = next_at
            if next_at >= end:
                break
        await settle()


async def settle() -> None:
    """Let every ready task run until none is left ready (a few loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


@dataclass
class RecordingEmitter:
    """Records each event instead of sending it."""

    sent: list[tuple[str, Any, str, dict[str, Any]]] = field(default_factory=list)
    """(kind, recipient, event, payload): kind is student, sid or tutors."""
    disconnected: list[str] = field(default_factory=list)

    async def to_student(
        self, lesson_id: uuid.UUID, student_id: str, event: str, payload: dict[str, Any]
    ) -> None:
        self.sent.append(("student", student_id, event, payload))

    async def to_sid(self, sid: str, namespace: str, event: str, payload: dict[str, Any]) -> None:
        self.sent.append(("sid", sid, event, payload))

    async def attendance(self, lesson_id: uuid.UUID, track: Track) -> None:
        from realtime import payloads

        self.sent.append(("tutors", lesson_id, "attendance", payloads.student_state(track)))

    async def lesson_ended(self, lesson_id: uuid.UUID) -> None:
        self.sent.append(("lesson", lesson_id, "lesson_ended", {"lesson_id": str(lesson_id)}))

    async def review_changed(
        self, lesson_id: uuid.UUID, student_id: str, payload: dict[str, Any]
    ) -> None:
        self.sent.append(("tutors", lesson_id, "review", payload))
        self.sent.append(("student", student_id, "review", payload))

    async def join_student(self, sid: str, lesson_id: uuid.UUID, student_id: str) -> None:
        pass

    async def join_tutor(self, sid: str, lesson_id: uuid.UUID) -> None:
        pass

    async def disconnect(self, sid: str, namespace: str) -> None:
        self.disconnected.append(sid)

    def events(self, event: str, to: Any = None) -> list[dict[str, Any]]:
        return [p for _, who, e, p in self.sent if e == event and (to is None or who == to)]


Write = Callable[[Any], Awaitable[Any]]


@dataclass
class FakeCommits:
    """The database seam: counts the writes, or fails them with the given error."""

    writes: list[Write] = field(default_factory=list)
    fail_with: BaseException | None = None
    during: Callable[[], object] | None = None
    """Called (once) while the next write is being committed: what else happens meanwhile."""

    async def run(self, write: Write) -> Any:
        if self.fail_with is not None:
            raise self.fail_with
        self.writes.append(write)
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return uuid.uuid4()


@dataclass
class FakeOutbox:
    """Writes that must not be lost: ``available`` False is a database that does not answer
    (the write is held)."""

    written: list[str] = field(default_factory=list)
    available: bool = True

    async def write(self, description: str, write: Write) -> bool:
        self.written.append(description)
        return self.available


@dataclass
class FakeVision:
    """Judges every frame with the given outcome; ``saturated`` answers like a full pool."""

    outcome: Outcome = Outcome.PRESENT
    saturated: bool = False
    pending: int = 0
    max_pending: int = 16
    judged: int = 0
    gate: asyncio.Event | None = None
    """When set, judging waits for it (a frame that takes time)."""

    @property
    def limits(self) -> ImageLimits:
        return ImageLimits()

    async def judge(self, data: bytes, challenge: Challenge) -> Verdict:
        if self.saturated:
            raise PoolSaturated("the vision pool is full")
        if self.gate is not None:
            await self.gate.wait()
        self.judged += 1
        return Verdict(
            outcome=self.outcome,
            face_count=1 if self.outcome is Outcome.PRESENT else 0,
            score=0.9,
            yaw=0.0,
            pitch=0.0,
            brightness=120.0,
            sharpness=2000.0,
            sha256="0" * 64,
            detector_version="fake",
        )


@dataclass
class Counting(NoEvents):
    issued: int = 0
    postponed: int = 0

    def prompt_issued(self) -> None:
        self.issued += 1

    def prompt_postponed(self) -> None:
        self.postponed += 1


class Lesson:
    """A live lesson of ``students`` connected students, with the hub's parts around it on a
    fake clock: prompting, frames and check-now, as the hub wires them."""

    def __init__(
        self,
        students: int = 1,
        *,
        policy: Policy | None = None,
        waves: WaveTuning | None = None,
        seed: int = 7,
    ) -> None:
        self.clock = FakeClock()
        self.emitter = RecordingEmitter()
        self.commits = FakeCommits()
        self.outbox = FakeOutbox()
        self.vision = FakeVision()
        self.events = Counting()
        self.tasks = TaskSet()
        self.busy = False
        # The lesson's enrolments are cached: frames need no database read of rights.
        self.rights = Rights(clock=self.clock, sessions=None)  # type: ignore[arg-type]
        # Identity switched off unless a test gives the lesson a comparer.
        self.faces = FaceChecks(sessions=None, pool=None, cipher=None)  # type: ignore[arg-type]
        self.live = LiveLesson(
            lesson_id=uuid.uuid4(),
            classroom=Classroom("lesson", policy or Policy(), rng=random.Random(seed)),
        )
        self.connections = Connections(self.clock)
        self.student_ids = [str(uuid.uuid4()) for _ in range(students)]
        self.prompter = Prompter(
            clock=self.clock,
            emitter=self.emitter,
            commits=self.commits,  # type: ignore[arg-type]
            outbox=self.outbox,  # type: ignore[arg-type]
            tasks=self.tasks,
            events=self.events,
            process_id="test",
            busy=lambda: self.busy,
        )
        self.frames = Frames(
            clock=self.clock,
            connections=self.connections,
            lessons=_OneLesson(self.live),  # type: ignore[arg-type]
            prompter=self.prompter,
            emitter=self.emitter,
            outbox=self.outbox,  # type: ignore[arg-type]
            vision=self.vision,
            events=self.events,
            tasks=self.tasks,
            # Frames need no database read of rights: revoked and expiry are on the connection.
            rights=self.rights,
            faces=self.faces,
        )
        self.checks = CheckNow(
            clock=self.clock,
            prompter=self.prompter,
            tasks=self.tasks,
            vision_capacity=self.vision.max_pending,
            stopping=lambda: False,
            tuning=waves or WaveTuning(),
        )
        self.rights.remember(
            self.live.lesson_id,
            LessonAccess(
                uuid.uuid4(), uuid.uuid4(), frozenset(uuid.UUID(s) for s in self.student_ids)
            ),
        )
        for i, student_id in enumerate(self.student_ids):
            self.live.classroom.enrol(Track(student_id=student_id, name=f"student {i}"))
            self.connect(student_id, sid=f"sid-{i}")

    def connect(self, student_id: str, sid: str) -> Connection:
        conn = Connection(
            sid=sid,
            user_id=uuid.UUID(student_id),
            lesson_id=self.live.lesson_id,
            role=Role.STUDENT,
            refilled_at=self.clock.monotonic(),
        )
        self.connections.add(conn)
        self.live.classroom.connect(student_id)
        return conn

    def open_prompt(self, student_id: str) -> str | None:
        prompt = self.live.classroom.track(student_id).open_prompt
        return prompt.prompt_id if prompt else None


class _OneLesson:
    def __init__(self, live: LiveLesson) -> None:
        self._live = live

    def get(self, lesson_id: uuid.UUID) -> LiveLesson | None:
        return self._live if lesson_id == self._live.lesson_id else None
