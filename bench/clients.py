"""The coordinator's side of the client workers: spawn them, hand out seats, gather reports.

Students are spread over ``student_procs`` worker processes so that no single client event loop
limits what is measured; tutors get a worker of their own, so a tutor's receive time is never
delayed behind thousands of students' frames.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from bench import workers
from bench.workers import Behaviour, ConnectResult, Report, Seat


@dataclass(frozen=True, slots=True)
class Connected:
    """One connect phase over every worker."""

    connected: int
    seconds: list[float]  # each connection's time to be in the namespace
    errors: Counter[str]
    elapsed: float  # first connection started -> last finished

    @property
    def rate(self) -> float:
        return self.connected / self.elapsed if self.elapsed > 0 else 0.0


class Clients:
    def __init__(self, student_procs: int, behaviour: Behaviour) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        for _ in range(student_procs + 1):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=workers.main, args=(child, behaviour), daemon=True)
            proc.start()
            child.close()
            self._procs.append(proc)
            self._conns.append(parent)
        self._students = self._conns[:-1]
        self._tutors = self._conns[-1]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs]

    def ask(
        self,
        commands: Sequence[tuple[Connection, tuple[Any, ...]]],
        *,
        tick: Callable[[], None] | None = None,
        timeout: float = 900,
    ) -> list[Any]:
        """Send each worker its command; gather the replies in the same order."""
        for conn, command in commands:
            try:
                conn.send(command)
            except OSError:
                codes = [p.exitcode for p in self._procs]
                raise RuntimeError(f"a client worker is gone (exit codes {codes})") from None
        replies: dict[int, Any] = {}
        pending = {id(conn): conn for conn, _ in commands}
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"client workers did not answer {commands[0][1][0]!r}")
            for conn in wait(list(pending.values()), timeout=0.5):
                assert isinstance(conn, Connection)
                reply = conn.recv()
                if isinstance(reply, Exception):
                    raise reply
                replies[id(conn)] = reply
                del pending[id(conn)]
            if tick is not None:
                tick()
        return [replies[id(conn)] for conn, _ in commands]

    def connect(
        self,
        tutors: Sequence[Seat],
        students: Sequence[Seat],
        *,
        tick: Callable[[], None] | None = None,
    ) -> tuple[Connected, Connected]:
        """Tutors first (they load the lessons), then the students, all workers at once."""
        # Connecting runs at about 100 students/s per server process: allow for 10 per second.
        wait = 900 + len(students) / 10
        (tutor_result,) = self.ask([(self._tutors, ("connect", list(tutors), 0))], tick=tick)
        n = len(self._students)
        commands = [
            (conn, ("connect", list(students[i::n]), i)) for i, conn in enumerate(self._students)
        ]
        return _merge([tutor_result]), _merge(self.ask(commands, tick=tick, timeout=wait))

    def reset(self) -> None:
        self.ask([(c, ("reset",)) for c in self._conns])

    def collect(self) -> list[Report]:
        return list(self.ask([(c, ("collect",)) for c in self._conns]))

    def check_now(
        self, lesson_id: str | None = None, *, tick: Callable[[], None] | None = None
    ) -> list[tuple[float, float, int]]:
        (acks,) = self.ask([(self._tutors, ("check_now", lesson_id))], tick=tick)
        return list(acks)

    def close(self) -> None:
        """Disconnect every student and tutor (the workers stay up)."""
        self.ask([(c, ("close",)) for c in self._conns])

    def shutdown(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(("exit",))
        for proc in self._procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


def _merge(results: Sequence[ConnectResult]) -> Connected:
    errors: Counter[str] = Counter()
    seconds: list[float] = []
    for result in results:
        errors.update(result.errors)
        seconds.extend(result.seconds)
    started = min(r.started for r in results)
    ended = max(r.ended for r in results)
    return Connected(len(seconds), seconds, errors, ended - started)
