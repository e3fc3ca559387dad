"""The bus without Redis to reach: this process's answer on time, flagged as partial."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from realtime.cluster import ASK_DEADLINE_S, RedisBus
from realtime.queue_link import QueueLink
from testkit.ports import free_port


async def test_a_question_is_answered_here_and_flagged_when_redis_is_unreachable() -> None:
    link = QueueLink()
    changes: list[bool] = []

    async def handler(op: str, payload: dict[str, Any]) -> Any:
        return {"op": op, **payload}

    async def changed(reachable: bool) -> None:
        changes.append(reachable)

    # Nothing listens on this port: Redis is "down" from the start.
    bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0", "p1", link=link)
    await bus.start(handler, changed)
    try:
        started = time.monotonic()
        answers = await bus.ask("states", {"lesson_id": "l1"})
        assert time.monotonic() - started < ASK_DEADLINE_S + 0.5
        assert list(answers) == [{"op": "states", "lesson_id": "l1"}]
        assert answers.unreachable is True
        await asyncio.sleep(0.1)
        assert not link.reachable and changes[:1] == [False]
        assert link.describe().startswith("unreachable (")
    finally:
        await bus.close()


async def test_the_link_is_down_while_any_part_is_and_up_when_the_last_is_back() -> None:
    link = QueueLink()
    heard: list[bool] = []

    async def listener(reachable: bool) -> None:
        heard.append(reachable)

    link.listen(listener)
    link.down("bus listener", "ConnectionError")
    link.down("publishing", "TimeoutError")
    link.up("bus listener")
    await asyncio.sleep(0)
    assert not link.reachable and heard == [False]
    link.up("publishing")
    await asyncio.sleep(0)
    assert link.reachable and heard == [False, True]
    await link.close()
