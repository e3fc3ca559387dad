"""Several server processes, one classroom.

Each process holds its own students' connections, prompts and timers. What must reach the
others goes over a :class:`Bus`: a question asked of every process, each answering for what
it holds. This process answers its own part directly, never through Redis, so whatever
concerns only its own students works while Redis is away. The others' answers come over a
Redis pub/sub channel within :data:`ASK_DEADLINE_S`; the number of processes that received a
question is what PUBLISH returns, so the asker knows how many answers to wait for. When
Redis cannot be reached, or some process did not answer in time, or fewer processes answered
than the database says are alive, the answers say so (:attr:`Answers.unreachable`): a partial
result, on time, rather than a wait.

After an outage, this process and every other one are told (``on_change(True)``) so that
tutors get their class afresh: what happened meanwhile on another process never reached them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from realtime.queue_link import QueueLink

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], Coroutine[Any, Any, Any]]
OnChange = Callable[[bool], Coroutine[Any, Any, None]]

# How long a question waits for the other processes' answers, all told (the tutor's "check
# now" is acknowledged within it).
ASK_DEADLINE_S = 1.5
# How often Redis is pinged, and how long a ping may take before Redis counts as away.
PING_EVERY_S = 1.0
# How soon a lost subscription is tried again.
RESUBSCRIBE_S = 0.5
REJOINED = "_rejoined"


class Answers(list[Any]):
    """The answers to one question; ``unreachable`` when some process may not have answered."""

    unreachable: bool = False


class Bus(Protocol):
    async def start(self, handler: Handler, on_change: OnChange | None = None) -> None: ...

    async def ask(self, op: str, payload: dict[str, Any]) -> Answers: ...

    async def close(self) -> None: ...


class LocalBus:
    """One process: a question is a call."""

    def __init__(self) -> None:
        self._handler: Handler | None = None

    async def start(self, handler: Handler, on_change: OnChange | None = None) -> None:
        self._handler = handler

    async def ask(self, op: str, payload: dict[str, Any]) -> Answers:
        assert self._handler is not None
        return Answers([await self._handler(op, payload)])

    async def close(self) -> None:
        self._handler = None


def redis_client(url: str, *, timeout_s: float | None) -> Any:
    """A client that gives up at once: no retries of its own, connects within a second, and
    (unless ``timeout_s`` is None, for subscriptions) answers within ``timeout_s``."""
    import redis.asyncio as redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
    )


class RedisBus:
    """Several processes sharing one Redis: every process answers every question."""

    def __init__(
        self,
        url: str,
        process_id: str,
        channel: str = "trust-lesson",
        *,
        link: QueueLink | None = None,
        processes_alive: Callable[[], int] = lambda: 0,
    ) -> None:
        self._channel = f"{channel}:bus"
        self._redis = redis_client(url, timeout_s=ASK_DEADLINE_S)
        self._subscriber = redis_client(url, timeout_s=None)
        self._process_id = process_id
        self._replies = f"{self._channel}:reply:{process_id}"
        self._processes_alive = processes_alive
        self.link = link or QueueLink()
        self._subscribed = False
        self._handler: Handler | None = None
        self._on_change: OnChange | None = None
        self._waiting: dict[str, tuple[Answers, asyncio.Event, set[str]]] = {}
        self._background: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, handler: Handler, on_change: OnChange | None = None) -> None:
        self._handler = handler
        self._on_change = on_change
        self.link.listen(self._changed)
        self._background = [
            asyncio.create_task(self._listen(), name="bus-listener"),
            asyncio.create_task(self._watch(), name="bus-ping"),
        ]

    # -- asking ---------------------------------------------------------------------------------

    async def ask(self, op: str, payload: dict[str, Any]) -> Answers:
        """This process's answer and every other's that arrives within the deadline."""
        assert self._handler is not None
        here = asyncio.create_task(self._handler(op, payload), name=f"bus-{op}-here")
        elsewhere = await self._ask_others(op, payload)
        answers = Answers()
        try:
            answers.append(await here)
        except Exception:
            logger.exception("bus %s failed here", op)
        answers.extend(elsewhere)
        answers.unreachable = elsewhere.unreachable
        return answers

    async def _ask_others(self, op: str, payload: dict[str, Any]) -> Answers:
        answers = Answers()
        request_id = secrets.token_hex(8)
        done = asyncio.Event()
        answered: set[str] = set()
        self._waiting[request_id] = (answers, done, answered)
        message = {
            "op": op,
            "payload": payload,
            "id": request_id,
            "from": self._process_id,
            "reply_to": self._replies,
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ASK_DEADLINE_S
        subscribed = self._subscribed
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    receivers = int(await self._redis.publish(self._channel, json.dumps(message)))
            except Exception as exc:
                self.link.down("publishing", type(exc).__name__)
                answers.unreachable = True
                return answers
            # This process hears its own question (when subscribed) and leaves it unanswered.
            expected = receivers - (1 if subscribed else 0)
            if len(answered) < expected:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        while len(answered) < expected:
                            done.clear()
                            await done.wait()
            alive_elsewhere = self._processes_alive() - 1
            if len(answered) < max(expected, alive_elsewhere):
                logger.warning(
                    "bus %s: %d other processes answered in time; %d received it, %d alive",
                    op,
                    len(answered),
                    expected,
                    alive_elsewhere,
                )
                answers.unreachable = True
            return answers
        finally:
            del self._waiting[request_id]

    # -- listening ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.subscribe(self._channel, self._replies)
                self._subscribed = True
                self.link.up("bus listener")
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        self._received(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._subscribed = False
                self.link.down("bus listener", type(exc).__name__)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(RESUBSCRIBE_S)

    def _received(self, message: dict[str, Any]) -> None:
        try:
            data = json.loads(message["data"])
        except (ValueError, TypeError):
            return
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else channel
        if channel == self._channel:
            if data.get("from") == self._process_id:
                return  # answered directly, not through Redis
            if data.get("op") == REJOINED:
                # Another process has Redis again: what it sent meanwhile was lost.
                if self._on_change is not None and self.link.reachable:
                    self._spawn(self._on_change(True), "bus-peer-rejoined")
                return
            self._spawn(self._answer(data), f"bus-{data.get('op')}")
        elif (waiting := self._waiting.get(data.get("id"))) is not None:
            answers, done, answered = waiting
            answered.add(str(data.get("from")))
            if "error" not in data:
                answers.append(data.get("result"))
            done.set()

    async def _answer(self, data: dict[str, Any]) -> None:
        assert self._handler is not None
        reply: dict[str, Any] = {"id": data.get("id"), "from": self._process_id}
        try:
            reply["result"] = await self._handler(str(data["op"]), dict(data["payload"]))
        except Exception as exc:
            logger.exception("bus %s failed here", data.get("op"))
            reply["error"] = type(exc).__name__
        try:
            await self._redis.publish(str(data["reply_to"]), json.dumps(reply))
        except Exception as exc:
            self.link.down("publishing", type(exc).__name__)

    # -- watching -------------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Ping Redis every second: publishing is up while pings are answered in time. One ping
        answered late is not an outage (on a saturated machine the answer, or this loop, can be
        late): two in a row are, and so is one refused."""
        late = 0
        while True:
            try:
                async with asyncio.timeout(PING_EVERY_S):
                    await self._redis.ping()
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                late += 1
                if late >= 2:
                    self.link.down("publishing", "no answer")
            except Exception as exc:
                self.link.down("publishing", type(exc).__name__ or "no answer")
            else:
                late = 0
                self.link.up("publishing")
            await asyncio.sleep(PING_EVERY_S)

    async def _changed(self, reachable: bool) -> None:
        if reachable:
            # Back after an outage: tell the others, whose tutors missed what this one sent.
            message = {"op": REJOINED, "from": self._process_id}
            with contextlib.suppress(Exception):
                await self._redis.publish(self._channel, json.dumps(message))
        if self._on_change is not None:
            await self._on_change(reachable)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in [*self._background, *self._tasks]:
            task.cancel()
        for task in self._background:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.link.close()
        await self._redis.aclose()
        await self._subscriber.aclose()
