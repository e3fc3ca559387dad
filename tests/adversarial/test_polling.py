"""Long-polling, the transport the pages start on (then upgrade to WebSocket): a session closed
in the middle of its join, a message over the size limit, and one of no declared size. On a
server of their own, since a request the server leaves hanging must not hold up the shared one
at shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from server.settings import Settings
from testkit.api import Api
from testkit.lessons import class_lesson, offline_soon, state_of, still_verified
from testkit.participants import Participant
from testkit.server import serve, settings_for
from testkit.timing import timeout

LIMITS = Settings()


@pytest.fixture(scope="module")
def polling_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("polling")
    settings = settings_for(f"sqlite+aiosqlite:///{folder / 'test.db'}")
    with serve(settings, graceful_shutdown_s=2) as url:
        yield url


@pytest.fixture
def polling_api(polling_url: str, api_to: Callable[[str], Api]) -> Api:
    return api_to(polling_url)


class PollingSession:
    """One Engine.IO session over long-polling, driven by hand."""

    def __init__(self, http: httpx.AsyncClient, sid: str) -> None:
        self.http = http
        self.params = {"EIO": "4", "transport": "polling", "sid": sid}

    @classmethod
    async def open(cls, http: httpx.AsyncClient) -> PollingSession:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        return cls(http, json.loads(opened.text[1:])["sid"])

    async def post(self, body: str) -> httpx.Response:
        return await self.http.post("/socket.io/", params=self.params, content=body)

    async def poll(self) -> httpx.Response:
        return await self.http.get("/socket.io/", params=self.params)


async def _join_then_close_at_once(base_url: str, auth: dict[str, Any], delay: float) -> None:
    """Ask to join /student and, while the server checks the token, close the session in a
    second request (as a browser tab closed in the middle of its handshake does)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout(10)) as http:
        session = await PollingSession.open(http)

        async def close() -> None:
            await asyncio.sleep(delay)
            await session.post("1")

        await asyncio.gather(session.post(f"40/student,{json.dumps(auth)}"), close())


async def test_a_session_closed_during_its_join_is_not_counted_as_connected(
    polling_api: Api, polling_url: str, participants: list[Participant]
) -> None:
    room, tutor, (honest,) = await class_lesson(
        polling_api, polling_url, participants, 2, connected=1
    )
    other, me = room.students
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    for delay in (0.0, 0.001, 0.003, 0.006, 0.01, 0.02):
        await _join_then_close_at_once(polling_url, auth, delay)
    row = await offline_soon(participants, polling_url, room, me["id"])
    assert row["connected"] is False and row["state"] == "offline", row
    # Nobody is there to prompt.
    assert await tutor.call("check_now", {"student_id": me["id"]}) == {"issued": 0}
    await still_verified(tutor, honest, other)


async def test_an_oversized_message_is_refused_and_closes_only_that_session(
    polling_api: Api, polling_url: str, participants: list[Participant]
) -> None:
    room, tutor, (honest,) = await class_lesson(
        polling_api, polling_url, participants, 2, connected=1
    )
    other, me = room.students
    auth = {"token": me["token"], "lesson_id": room.lesson_id}
    async with httpx.AsyncClient(base_url=polling_url, timeout=timeout(20)) as http:
        session = await PollingSession.open(http)
        assert (await session.post(f"40/student,{json.dumps(auth)}")).status_code == 200
        answer = await session.poll()  # the join's answer
        assert answer.text.startswith("40/student,"), answer.text
        await tutor.wait_for("attendance", state_of(me["id"], "waiting"))
        # As a browser does, keep a poll waiting while posting.
        poll = asyncio.create_task(session.poll())
        await asyncio.sleep(timeout(0.3))
        too_big = "x" * (LIMITS.max_socket_message_bytes + 1)
        refused = await session.post(
            f'42/student,1["capture",{{"prompt_id":"x","image":"{too_big}"}}]'
        )
        polled = await poll
    # What the client sees: 400 for the post, the session's close packet on its poll.
    assert refused.status_code in (400, 413), refused
    assert polled.text == "1", polled.text
    await tutor.wait_for("attendance", state_of(me["id"], "offline"))
    await still_verified(tutor, honest, other)


async def test_an_oversized_post_without_a_waiting_poll_is_still_answered(
    polling_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=polling_url, timeout=timeout(3)) as http:
        session = await PollingSession.open(http)
        try:
            refused = await session.post("4" + "x" * (LIMITS.max_socket_message_bytes + 1))
        except httpx.ReadTimeout:
            pytest.fail("the oversized POST was never answered")
    assert refused.status_code in (400, 413)


async def test_a_post_that_declares_no_length_is_refused_not_silently_dropped(
    polling_api: Api, polling_url: str, participants: list[Participant]
) -> None:
    """A chunked POST: python-engineio would read it to its end, however long, answer "ok"
    and act on none of it. It is a 411 instead, at once, and the session is closed."""
    room, tutor, (honest,) = await class_lesson(
        polling_api, polling_url, participants, 2, connected=1
    )
    other, me = room.students
    auth = {"token": me["token"], "lesson_id": room.lesson_id}

    async def chunked(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    async with httpx.AsyncClient(base_url=polling_url, timeout=timeout(20)) as http:
        for body in (
            [f"40/student,{json.dumps(auth)}".encode()],  # a join
            [b"4" + b"x" * 100_000] * 40,  # a message twice over the limit
        ):
            session = await PollingSession.open(http)
            refused = await http.post("/socket.io/", params=session.params, content=chunked(*body))
            assert refused.status_code == 411 and "Content-Length" in refused.text, refused
            gone = await session.poll()
            assert gone.status_code == 400 or gone.text == "1", gone.text
    row = await offline_soon(participants, polling_url, room, me["id"])
    assert row["connected"] is False and row["checks"]["issued"] == 0
    await still_verified(tutor, honest, other)
