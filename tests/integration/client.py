"""Test clients written from docs/api.md and docs/protocol.md alone (the HTTP API and the
Socket.IO participants), and forged tokens for the refusal tests."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import socketio

from server.security import TokenCodec
from tests.conftest import timeout
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRET_KEY

PASSWORD = "student-password"


class Api:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout(30))

    async def close(self) -> None:
        await self.http.aclose()

    async def login(self, email: str, password: str) -> str:
        r = await self.http.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    async def call(
        self, method: str, path: str, token: str | None, json: Any = None, expect: int = 200
    ) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        r = await self.http.request(method, path, json=json, headers=headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def admin_token(self) -> str:
        return await self.login(ADMIN_EMAIL, ADMIN_PASSWORD)

    async def add_user(self, admin: str, role: str, name: str) -> dict[str, Any]:
        email = f"{role}-{uuid.uuid4().hex[:10]}@test.example"
        user = await self.call(
            "POST",
            "/api/users",
            admin,
            {"email": email, "name": name, "role": role, "password": PASSWORD},
            expect=201,
        )
        user["token"] = await self.login(email, PASSWORD)
        return dict(user)


@dataclass
class Classroom:
    """A course with a tutor and students, and a live lesson (all made through the API)."""

    api: Api
    admin: str
    tutor: dict[str, Any]
    students: list[dict[str, Any]]
    course_id: str
    lesson_id: str


async def make_classroom(
    api: Api, n_students: int = 2, policy: dict[str, Any] | None = None, start: bool = True
) -> Classroom:
    admin = await api.admin_token()
    tutor = await api.add_user(admin, "tutor", "Tina Tutor")
    students = [await api.add_user(admin, "student", f"Student {i}") for i in range(n_students)]
    # Long intervals by default: prompts come only from check_now unless a test says otherwise.
    policy = {
        "interval_min_s": 3600,
        "interval_max_s": 3600,
        "first_prompt_min_s": 3600,
        "first_prompt_max_s": 3600,
        # No head-turn challenges unless a test asks: a still test frame cannot turn its head.
        "challenge_probability": 0,
        **(policy or {}),
    }
    course = await api.call(
        "POST",
        "/api/courses",
        admin,
        {"title": "Road safety", "tutor_id": tutor["id"], "policy": policy},
        expect=201,
    )
    await api.call(
        "POST",
        f"/api/courses/{course['id']}/enrollments",
        admin,
        {"student_ids": [s["id"] for s in students]},
        expect=201,
    )
    now = datetime.now(UTC)
    lesson = await api.call(
        "POST",
        f"/api/courses/{course['id']}/lessons",
        tutor["token"],
        {
            "title": "Lesson",
            "scheduled_start": now.isoformat(),
            "scheduled_end": (now + timedelta(hours=1)).isoformat(),
        },
        expect=201,
    )
    if start:
        await api.call("POST", f"/api/lessons/{lesson['id']}/start", tutor["token"])
    return Classroom(api, admin, tutor, students, course["id"], lesson["id"])


@dataclass
class Participant:
    """One Socket.IO connection that records every event it receives."""

    base_url: str
    namespace: str
    client: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient())
    events: list[tuple[str, Any]] = field(default_factory=list)
    refusal: dict[str, Any] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        for name in ("prompt", "verdict", "lesson_ended", "roster", "attendance", "review"):
            self.client.on(name, self._recorder(name), namespace=self.namespace)
        self.client.on("connect_error", self._refused, namespace=self.namespace)
        self.client.on("disconnect", self._recorder("disconnect"), namespace=self.namespace)

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.events.append((name, data))
            self._arrived.set()

        return record

    async def _refused(self, data: Any) -> None:
        self.refusal = data

    async def connect(self, token: str | None, lesson_id: str, **auth: Any) -> None:
        await self.client.connect(
            self.base_url,
            namespaces=[self.namespace],
            auth={"token": token, "lesson_id": lesson_id, **auth},
            transports=["websocket"],
            wait_timeout=timeout(10),
        )

    async def wait_for(
        self, name: str, pred: Any = None, within: float = 10, since: int = 0
    ) -> Any:
        """The first event ``name`` (matching ``pred``) received after the ``since``-th event,
        so far or within the time."""
        deadline = asyncio.get_running_loop().time() + timeout(within)
        seen = since
        while True:
            for event, data in self.events[seen:]:
                if event == name and (pred is None or pred(data)):
                    return data
            seen = len(self.events)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(
                    f"no {name!r} on {self.namespace} within {within}s: {self.events}"
                )
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), left)

    def received(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def call(self, event: str, data: Any = None, within: float = 20) -> Any:
        return await self.client.call(
            event, data, namespace=self.namespace, timeout=timeout(within)
        )

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
        # A refused or broken connection leaves its HTTP session open: close it too.
        http = getattr(self.client.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


def forged_tokens(user_id: str, valid: str) -> dict[str, str]:
    """Tokens a client might try: expired, tampered, unsigned, signed with another key."""
    secret = SECRET_KEY
    uid = uuid.UUID(user_id)
    header, payload, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {
        "expired": TokenCodec(secret, 60).issue(
            uid, "student", now=datetime.now(UTC) - timedelta(hours=2)
        ),
        "tampered": f"{header}.{raised}.{signature}",
        "alg-none": jwt.encode(
            {"sub": user_id, "role": "admin", "exp": 4_000_000_000}, None, algorithm="none"
        ),
        "other-key": TokenCodec("another-secret-of-at-least-32-chars!", 3600).issue(uid, "admin"),
    }
