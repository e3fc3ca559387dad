"""Client worker processes: simulated students and tutors, thousands per process, one event loop.

The coordinator (`bench.clients.Clients`) sends each worker commands over a pipe and gets one
reply per command. Every timestamp is ``time.monotonic()``: CLOCK_MONOTONIC is one clock for
every process on the machine, so a capture sent from one worker and the tutor update received
by another compare directly.

A student answers each prompt at once with its frame; a non-final answer (``rate_limited``, or
a frame that failed) is retried after ``retry_delay_s`` while the deadline allows, as the
student page does. A tutor records when it first sees each student's prompt open
(``checking``) and resolved (``verified``/``flagged``), keyed by the prompt's number
(``checks.issued``), which the student also counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import threading
import time
import traceback
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench.sio import SioClient, SioError

# (lesson id, student id, prompt number) -> when a tutor first saw it
PromptKey = tuple[str, str, int]


@dataclass(frozen=True, slots=True)
class Seat:
    """One connection to make."""

    url: str
    namespace: str  # "/student" or "/tutor"
    user_id: str
    token: str
    lesson_id: str


@dataclass(frozen=True, slots=True)
class Behaviour:
    frames: tuple[bytes, ...] = ()  # student i answers with frames[i % len(frames)]
    compression: bool = True  # offer permessage-deflate, as every browser does
    retry_delay_s: float = 1.5  # the student page's RETRY_MS
    connect_concurrency: int = 32  # connections being opened at once, per worker
    ack_timeout_s: float = 30.0


@dataclass(slots=True)
class PromptLog:
    lesson_id: str
    student_id: str
    number: int
    received: float
    first_send: float | None = None
    final_ack: float | None = None
    outcome: str | None = None
    status: str | None = None
    frames: int = 0


@dataclass(slots=True)
class Report:
    """What a worker saw since its last reset."""

    pid: int
    connected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    prompts: list[PromptLog] = field(default_factory=list)
    frames: list[tuple[float, float, str]] = field(default_factory=list)  # sent, acked, outcome
    opened_seen: dict[PromptKey, float] = field(default_factory=dict)
    resolved_seen: dict[PromptKey, float] = field(default_factory=dict)
    states_seen: dict[PromptKey, set[str]] = field(default_factory=dict)
    """Every state a tutor saw for a student at a count of checks issued (to tell a lost
    update from one the tutor saw in another state)."""
    updates: int = 0
    rosters: list[tuple[str, int, float]] = field(default_factory=list)
    lag: list[tuple[float, float]] = field(default_factory=list)  # when, seconds late


@dataclass(frozen=True, slots=True)
class ConnectResult:
    connected: int
    seconds: list[float]
    errors: Counter[str]
    started: float
    ended: float


class _Student:
    __slots__ = ("closing", "frame", "number", "open", "open_id", "seat", "sock", "worker")

    def __init__(self, worker: Worker, seat: Seat, frame: bytes) -> None:
        self.worker = worker
        self.seat = seat
        self.frame = frame
        self.number = 0
        self.open: PromptLog | None = None
        self.open_id = ""
        self.closing = False
        self.sock = SioClient(
            seat.namespace,
            {
                "prompt": self.on_prompt,
                "verdict": self.on_verdict,
                "lesson_ended": self.on_ended,
                "__closed__": self.on_closed,
            },
        )

    def on_prompt(self, data: Any) -> None:
        prompt_id = str(data["prompt_id"])
        if prompt_id == self.open_id:
            return  # the same prompt again (a student never has two open)
        self.open_id = prompt_id
        self.number += 1
        log = PromptLog(self.seat.lesson_id, self.seat.user_id, self.number, time.monotonic())
        self.open = log
        self.worker.report.prompts.append(log)
        deadline = log.received + int(data.get("deadline_ms", 15000)) / 1000
        self.worker.spawn(self.answer(log, prompt_id, deadline))

    async def answer(self, log: PromptLog, prompt_id: str, deadline: float) -> None:
        behaviour = self.worker.behaviour
        while True:
            sent = time.monotonic()
            if log.first_send is None:
                log.first_send = sent
            log.frames += 1
            try:
                ack = await self.sock.call(
                    "capture",
                    {"prompt_id": prompt_id},
                    image=self.frame,
                    timeout_s=behaviour.ack_timeout_s,
                )
            except SioError as exc:
                if not self.closing:
                    self.worker.report.errors[exc.kind] += 1
                return
            acked = time.monotonic()
            outcome = str(ack.get("outcome"))
            self.worker.report.frames.append((sent, acked, outcome))
            if ack.get("final"):
                log.final_ack, log.outcome = acked, outcome
                log.status = log.status or ack.get("status")
                return
            if acked + behaviour.retry_delay_s > deadline - 0.5:
                return
            await asyncio.sleep(behaviour.retry_delay_s)

    def on_verdict(self, data: Any) -> None:
        log = self.open
        if log is not None and log.status is None:
            log.status = data.get("status")
            if log.status == "missed":
                self.worker.report.errors["prompt_missed"] += 1

    def on_ended(self, _data: Any) -> None:
        self.closing = True

    def on_closed(self, _data: Any) -> None:
        if not self.closing:
            self.worker.report.errors["dropped"] += 1


class _Tutor:
    __slots__ = ("seat", "sock", "worker")

    def __init__(self, worker: Worker, seat: Seat) -> None:
        self.worker = worker
        self.seat = seat
        self.sock = SioClient(
            seat.namespace,
            {"roster": self.on_roster, "attendance": self.on_attendance},
        )

    def on_roster(self, data: Any) -> None:
        now = time.monotonic()
        self.worker.report.rosters.append((self.seat.lesson_id, len(data["students"]), now))
        # A class list sent afresh (after Redis was away) shows each student's state too.
        for row in data["students"]:
            self.seen(row, now)

    def on_attendance(self, row: Any) -> None:
        self.worker.report.updates += 1
        self.seen(row, time.monotonic())

    def seen(self, row: Any, now: float) -> None:
        report = self.worker.report
        key = (self.seat.lesson_id, row["student_id"], int(row["checks"]["issued"]))
        report.states_seen.setdefault(key, set()).add(row["state"])
        if row["state"] == "checking":
            report.opened_seen.setdefault(key, now)
        elif row["state"] in ("verified", "flagged"):
            report.resolved_seen.setdefault(key, now)


class Worker:
    def __init__(self, conn: Connection, behaviour: Behaviour) -> None:
        self.conn = conn
        self.behaviour = behaviour
        self.report = Report(pid=os.getpid())
        self.students: list[_Student] = []
        self.tutors: list[_Tutor] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopped: asyncio.Future[None] | None = None

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopped = loop.create_future()
        # A thread blocks on the pipe and hands each command to the loop (uvloop's add_reader
        # on the pipe's socket loses it under load).
        listener = threading.Thread(target=self._listen, args=(loop,), daemon=True)
        listener.start()
        watcher = loop.create_task(self._watch_lag())
        try:
            await self._stopped
        finally:
            watcher.cancel()
            await self.do_close()

    def _listen(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                command, *args = self.conn.recv()
            except (EOFError, OSError):  # the coordinator is gone
                loop.call_soon_threadsafe(self._stop)
                return
            loop.call_soon_threadsafe(self.spawn, self._run(command, args))
            if command == "exit":
                return

    def _stop(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)

    async def _run(self, command: str, args: list[Any]) -> None:
        try:
            reply: Any = await getattr(self, f"do_{command}")(*args)
        except Exception:
            reply = RuntimeError(f"worker {os.getpid()}: {command}: {traceback.format_exc()}")
        self.conn.send(reply)

    async def _watch_lag(self) -> None:
        """How late the loop wakes up: a busy client would inflate every latency it measures."""
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.1)
            now = time.monotonic()
            self.report.lag.append((now, now - before - 0.1))

    # -- commands -------------------------------------------------------------------------

    async def do_connect(self, seats: list[Seat], first_index: int) -> ConnectResult:
        gate = asyncio.Semaphore(self.behaviour.connect_concurrency)
        seconds: list[float] = []
        errors: Counter[str] = Counter()
        frames = self.behaviour.frames

        async def one(index: int, seat: Seat) -> None:
            if seat.namespace == "/tutor":
                client: _Student | _Tutor = _Tutor(self, seat)
            else:
                client = _Student(self, seat, frames[index % len(frames)] if frames else b"")
            async with gate:
                started = time.monotonic()
                try:
                    await client.sock.connect(
                        seat.url,
                        {"token": seat.token, "lesson_id": seat.lesson_id},
                        compression=self.behaviour.compression,
                    )
                except SioError as exc:
                    errors[exc.kind] += 1
                    return
                seconds.append(time.monotonic() - started)
            if isinstance(client, _Tutor):
                self.tutors.append(client)
            else:
                self.students.append(client)

        started = time.monotonic()
        await asyncio.gather(*(one(first_index + i, seat) for i, seat in enumerate(seats)))
        self.report.connected = len(self.students) + len(self.tutors)
        return ConnectResult(len(seconds), seconds, errors, started, time.monotonic())

    async def do_reset(self) -> int:
        self.report = Report(pid=os.getpid(), connected=len(self.students) + len(self.tutors))
        return 0

    async def do_collect(self) -> Report:
        self.report.connected = sum(not c.sock.closed.is_set() for c in self._clients())
        return self.report

    async def do_check_now(self, lesson_id: str | None) -> list[tuple[float, float, int]]:
        """Every tutor of ``lesson_id`` (or of every lesson) asks for a check of everyone."""

        async def one(tutor: _Tutor) -> tuple[float, float, int]:
            sent = time.monotonic()
            ack = await tutor.sock.call("check_now", {}, timeout_s=120)
            return sent, time.monotonic(), int(ack.get("issued", 0))

        chosen = [t for t in self.tutors if lesson_id in (None, t.seat.lesson_id)]
        return list(await asyncio.gather(*(one(t) for t in chosen)))

    async def do_close(self) -> int:
        clients = self._clients()
        for student in self.students:
            student.closing = True
        gate = asyncio.Semaphore(256)

        async def one(client: _Student | _Tutor) -> None:
            async with gate:
                await client.sock.close()

        await asyncio.gather(*(one(c) for c in clients), return_exceptions=True)
        self.students, self.tutors = [], []
        return len(clients)

    async def do_exit(self) -> int:
        self._stop()
        return 0

    def _clients(self) -> list[_Student | _Tutor]:
        return [*self.students, *self.tutors]


def main(conn: Connection, behaviour: Behaviour) -> None:
    """A worker process: serve commands until told to exit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, hard), hard))
    runner = asyncio.run
    if os.environ.get("TL_BENCH_CLIENT_LOOP", "uvloop") == "uvloop":
        with contextlib.suppress(ImportError):
            import uvloop

            runner = uvloop.run
    runner(Worker(conn, behaviour).serve())
