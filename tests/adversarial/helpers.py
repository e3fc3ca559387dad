"""What the adversarial tests share: hostile strings, the outcomes a client may be answered
with, and a check that an answer is one a client can act on."""

from __future__ import annotations

from typing import Any

from testkit.api import Api, walk

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


async def all_users(api: Api, admin: str) -> list[dict[str, Any]]:
    return await walk(api, "/api/users", admin, limit=200)
