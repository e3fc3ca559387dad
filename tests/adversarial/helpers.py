"""What the adversarial tests share: the lesson helpers of the integration tests, a check that
an answer is one a client can act on, and proof that the rest of the class is still served."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from server.app import create_app
from server.serving import uvicorn_config
from server.settings import Settings
from tests.conftest import timeout
from tests.integration.client import Api, Classroom, Participant
from tests.integration.test_lesson_loop import (
    class_lesson,
    join,
    prompted,
    state_of,
)
from tests.vision.images import face_jpeg

__all__ = [
    "FRAME_OUTCOMES",
    "INJECTIONS",
    "PROTOCOL_OUTCOMES",
    "all_users",
    "assert_clear_refusal",
    "class_lesson",
    "join",
    "offline_soon",
    "prompted",
    "roster_row",
    "serving",
    "state_of",
    "still_verified",
]

PROTOCOL_OUTCOMES = {"unknown_prompt", "expired", "rate_limited"}
INJECTIONS = [
    "'; DROP TABLE users; --",
    '" OR "1"="1',
    "Robert'); DROP TABLE students;--",
    "1' UNION SELECT password_hash, email FROM users --",
    "%' OR name LIKE '%",
    "\\'; SELECT pg_sleep(5); --",
    "admin'--",
    "` OR 1=1; /*",
]

FRAME_OUTCOMES = {
    "present",
    "no_face",
    "multiple_faces",
    "looking_away",
    "challenge_failed",
    "bad_image",
}


def assert_clear_refusal(ack: Any, outcomes: set[str], what: object = "") -> None:
    """A capture ack in the documented shape, with an outcome from ``outcomes`` and a hint."""
    assert isinstance(ack, dict), (what, ack)
    assert {"prompt_id", "outcome", "final", "attempts_left", "hint"} <= set(ack), (what, ack)
    assert ack["outcome"] in outcomes, (what, ack)
    assert isinstance(ack["hint"], str) and ack["hint"].strip(), (what, ack)
    assert isinstance(ack["final"], bool) and isinstance(ack["attempts_left"], int), (what, ack)


async def still_verified(tutor: Participant, sock: Participant, student: dict[str, Any]) -> None:
    """The student on ``sock`` is prompted, answers with a face and is verified on the tutor's
    dashboard: the server kept serving the class."""
    prompt = await prompted(tutor, sock, student["id"])
    ack = await sock.call("capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()})
    assert (ack["outcome"], ack["final"]) == ("present", True), ack
    await tutor.wait_for("attendance", state_of(student["id"], "verified"))


async def all_users(api: Api, admin: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"?limit=200&cursor={cursor}" if cursor else "?limit=200"
        page = await api.call("GET", f"/api/users{query}", admin)
        users += page["items"]
        if not (cursor := page["next_cursor"]):
            return users


@contextmanager
def serving(settings: Settings, graceful_shutdown_s: int | None = None) -> Iterator[str]:
    """The app on a free port in a thread, as tests.integration.server.running_server does, but
    with any settings (another database) and, if given, a bound on the wait for requests still
    running at shutdown (a test that leaves one hanging on purpose)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn_config(
            create_app(settings),
            settings,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=graceful_shutdown_s,
        )
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name="uvicorn-adversarial",
        daemon=True,
    )
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    try:
        if not server.started:
            raise RuntimeError("the test server did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def roster_row(
    participants: list[Participant], url: str, room: Classroom, student_id: str
) -> dict[str, Any]:
    """The student's row as a tutor who connects now sees it."""
    late = await join(participants, url, "/tutor", room.tutor["token"], room.lesson_id)
    roster = await late.wait_for("roster")
    await late.close()
    return dict(next(s for s in roster["students"] if s["student_id"] == student_id))


async def offline_soon(
    participants: list[Participant], url: str, room: Classroom, student_id: str
) -> dict[str, Any]:
    """The student's roster row once it shows them offline, or the last one seen in 2 s."""
    row: dict[str, Any] = {}
    for _ in range(10):
        row = await roster_row(participants, url, room, student_id)
        if not row["connected"]:
            break
        await asyncio.sleep(timeout(0.2))
    return row
