"""The queue and event that python-engineio and uvicorn use in place of asyncio's."""

from __future__ import annotations

import asyncio

import pytest

from realtime.transport import LeanEvent, LeanQueue


async def test_items_come_out_in_the_order_they_went_in() -> None:
    queue: LeanQueue[int] = LeanQueue()
    for i in range(5):
        queue.put_nowait(i)
    await queue.put(5)
    assert queue.qsize() == 6 and not queue.empty()
    assert [await queue.get() for _ in range(3)] == [0, 1, 2]
    assert [queue.get_nowait() for _ in range(3)] == [3, 4, 5]
    assert queue.empty() and queue.qsize() == 0
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_waiting_getter_gets_the_next_item() -> None:
    queue: LeanQueue[str] = LeanQueue()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    queue.put_nowait("ping")
    assert await asyncio.wait_for(waiting, 1) == "ping"
    assert queue.empty()


async def test_a_getter_that_timed_out_loses_nothing() -> None:
    # python-engineio's writer waits with asyncio.wait_for(queue.get(), timeout).
    queue: LeanQueue[str] = LeanQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    queue.put_nowait("after the timeout")
    assert await asyncio.wait_for(queue.get(), 1) == "after the timeout"


async def test_getters_are_served_first_come_first_served() -> None:
    queue: LeanQueue[int] = LeanQueue()
    first, second = queue.get(), queue.get()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert (await first, await second) == (1, 2)


async def test_join_waits_until_every_item_is_done() -> None:
    queue: LeanQueue[int] = LeanQueue()
    await queue.join()  # nothing put: returns at once
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    await queue.get()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    await queue.get()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()


async def test_the_event_wakes_every_waiter_and_stays_set_until_cleared() -> None:
    event = LeanEvent()
    assert not event.is_set()
    waiters = [asyncio.ensure_future(event.wait()) for _ in range(3)]
    timed_out = asyncio.ensure_future(asyncio.wait_for(event.wait(), 0.01))
    with pytest.raises(TimeoutError):
        await timed_out
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 1) == [True, True, True]
    assert await event.wait() is True  # set: returns at once
    event.clear()
    assert not event.is_set()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(event.wait(), 0.01)
