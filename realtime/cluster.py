"""Several server processes, one classroom.

Each process holds its own students' connections, prompts and timers. What must reach the
others goes over a :class:`Bus`: a question asked of every process (including this one), each
answering for what it holds. Without a message queue there is one process and the bus is a
plain call. With Redis, questions go out on a pub/sub channel; the number of processes that
received one is what Redis's PUBLISH returns, so the asker knows how many answers to wait for.

:class:`ProcessRegistry` keeps a heartbeat per process in the database and settles what a
process that stopped beating left open (its presence intervals and pending prompts).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from storage import repositories as repo
from storage.db import Sessions

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]


class Bus(Protocol):
    async def start(self, handler: Handler) -> None: ...

    async def ask(self, op: str, payload: dict[str, Any]) -> list[Any]: ...

    async def close(self) -> None: ...


class LocalBus:
    """One process: a question is a call."""

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def ask(self, op: str, payload: dict[str, Any]) -> list[Any]:
        assert self._handler is not None
        return [await self._handler(op, payload)]

    async def close(self) -> None:
        self._handler = None


class RedisBus:
    """Several processes sharing one Redis: every process answers every question."""

    def __init__(
        self, url: str, process_id: str, channel: str = "trust-lesson", timeout_s: float = 3.0
    ) -> None:
        import redis.asyncio as redis

        self._channel = f"{channel}:bus"
        self._redis = redis.Redis.from_url(url)
        self._pubsub = self._redis.pubsub()
        self._process_id = process_id
        self._replies = f"{self._channel}:reply:{process_id}"
        self._timeout_s = timeout_s
        self._handler: Handler | None = None
        self._waiting: dict[str, tuple[list[Any], asyncio.Event, int]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        await self._pubsub.subscribe(self._channel, self._replies)
        self._listener = asyncio.create_task(self._listen(), name="bus-listener")

    async def ask(self, op: str, payload: dict[str, Any]) -> list[Any]:
        request_id = secrets.token_hex(8)
        answers: list[Any] = []
        done = asyncio.Event()
        # The count of receivers is known only after publishing; until then expect "many".
        self._waiting[request_id] = (answers, done, 1 << 30)
        message = {"op": op, "payload": payload, "id": request_id, "reply_to": self._replies}
        try:
            receivers = int(await self._redis.publish(self._channel, json.dumps(message)))
            self._waiting[request_id] = (answers, done, receivers)
            if len(answers) < receivers:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._timeout_s):
                        await done.wait()
            if len(answers) < receivers:
                logger.warning(
                    "bus %s: %d of %d processes answered in time", op, len(answers), receivers
                )
            return list(answers)
        finally:
            del self._waiting[request_id]

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("message bus: lost Redis; retrying")
                await asyncio.sleep(1)
                continue
            if message is None:
                continue
            try:
                data = json.loads(message["data"])
            except (ValueError, TypeError):
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            if channel == self._channel:
                task = asyncio.create_task(self._answer(data), name=f"bus-{data.get('op')}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            elif (waiting := self._waiting.get(data.get("id"))) is not None:
                answers, done, expected = waiting
                if "error" not in data:
                    answers.append(data.get("result"))
                else:
                    expected -= 1
                    self._waiting[data["id"]] = (answers, done, expected)
                if len(answers) >= self._waiting[data["id"]][2]:
                    done.set()

    async def _answer(self, data: dict[str, Any]) -> None:
        assert self._handler is not None
        reply: dict[str, Any] = {"id": data.get("id"), "from": self._process_id}
        try:
            reply["result"] = await self._handler(str(data["op"]), dict(data["payload"]))
        except Exception as exc:
            logger.exception("bus %s failed here", data.get("op"))
            reply["error"] = type(exc).__name__
        await self._redis.publish(str(data["reply_to"]), json.dumps(reply))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for task in list(self._tasks):
            task.cancel()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()


class ProcessRegistry:
    """This process's heartbeat, and the settling of processes whose heartbeat stopped."""

    def __init__(self, sessions: Sessions, *, heartbeat_s: float, stale_after_s: float) -> None:
        self.process_id = secrets.token_hex(16)
        self._sessions = sessions
        self._heartbeat_s = heartbeat_s
        self._stale_after = timedelta(seconds=stale_after_s)
        self._task: asyncio.Task[None] | None = None
        self.on_reaped: Callable[[], Awaitable[None]] | None = None

    def alive_since(self) -> datetime:
        """Processes seen after this are alive."""
        return _now() - self._stale_after

    async def start(self) -> None:
        async with self._sessions() as s, s.begin():
            await repo.register_process(
                s,
                process_id=self.process_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                at=_now(),
            )
        await self.reap()
        self._task = asyncio.create_task(self._beat(), name="heartbeat")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                async with self._sessions() as s, s.begin():
                    if not await repo.heartbeat(s, process_id=self.process_id, at=_now()):
                        # Taken for dead during a long stall: come back under the same id.
                        await repo.register_process(
                            s,
                            process_id=self.process_id,
                            host=socket.gethostname(),
                            pid=os.getpid(),
                            at=_now(),
                        )
                await self.reap()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("heartbeat failed; trying again")

    async def reap(self) -> int:
        """Settle every process that stopped beating (or, on this host, whose pid is gone)."""
        now = _now()
        reaped = 0
        async with self._sessions() as s, s.begin():
            for process in await repo.processes(s):
                if process.id == self.process_id:
                    continue
                gone = process.last_seen_at < now - self._stale_after or (
                    process.host == socket.gethostname() and not _pid_alive(process.pid)
                )
                if gone:
                    closed, cancelled = await repo.reap_process(s, process=process, at=now)
                    logger.warning(
                        "process %s (pid %d on %s) stopped beating: closed %d presence "
                        "intervals at its last heartbeat, cancelled %d open prompts",
                        process.id,
                        process.pid,
                        process.host,
                        closed,
                        cancelled,
                    )
                    reaped += 1
        if reaped and self.on_reaped is not None:
            await self.on_reaped()
        return reaped

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        async with self._sessions() as s, s.begin():
            await repo.deregister_process(s, process_id=self.process_id)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(UTC)
