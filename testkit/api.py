"""A client of the HTTP API, written from DESIGN.md alone, and a classroom made through it.

Users are the API's own JSON objects (``id``, ``email``, ``name``, ``role``...) with the
``password`` they were made with and a ``token`` from signing in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD
from testkit.timing import timeout

PASSWORD = "student-password"
# Prompts only when the tutor asks (the scheduler's first prompt is an hour away), and no
# head-turn challenge unless a test asks: a still test frame cannot turn its head.
QUIET_POLICY: dict[str, Any] = {
    "interval_min_s": 3600,
    "interval_max_s": 3600,
    "first_prompt_min_s": 3600,
    "first_prompt_max_s": 3600,
    "challenge_probability": 0,
}

User = dict[str, Any]


class Api:
    """Each call checks the status it expects and gives the JSON body back."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout(30))

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

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

    async def add_user(self, admin: str, role: str, name: str) -> User:
        email = f"{role}-{uuid.uuid4().hex[:10]}@test.example"
        user = await self.call(
            "POST",
            "/api/users",
            admin,
            {"email": email, "name": name, "role": role, "password": PASSWORD},
            expect=201,
        )
        user["token"] = await self.login(email, PASSWORD)
        user["password"] = PASSWORD
        return dict(user)


async def walk(api: Api, path: str, token: str, limit: int, **query: str) -> list[dict[str, Any]]:
    """Every item of a paginated list, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": str(limit), **query, **({"cursor": cursor} if cursor else {})}
        r = await api.http.get(path, params=params, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert pages < 1000


@dataclass
class Classroom:
    """A course with a tutor and students, and its lesson (all made through the API)."""

    api: Api
    admin: str
    tutor: User
    students: list[User]
    course_id: str
    lesson_id: str
    course_title: str
    lesson_title: str


async def make_classroom(
    api: Api,
    n_students: int = 2,
    policy: dict[str, Any] | None = None,
    start: bool = True,
    *,
    student_names: list[str] | None = None,
    course_title: str = "Road safety",
    lesson_title: str = "Lesson",
) -> Classroom:
    """A tutor, enrolled students (``n_students``, or one per name), a course with the quiet
    policy (``policy`` on top) and a lesson of an hour from now, started unless ``start`` is
    false."""
    admin = await api.admin_token()
    tutor = await api.add_user(admin, "tutor", "Tina Tutor")
    names = student_names or [f"Student {i}" for i in range(n_students)]
    students = [await api.add_user(admin, "student", name) for name in names]
    course = await api.call(
        "POST",
        "/api/courses",
        admin,
        {
            "title": course_title,
            "tutor_id": tutor["id"],
            "policy": {**QUIET_POLICY, **(policy or {})},
        },
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
            "title": lesson_title,
            "scheduled_start": now.isoformat(),
            "scheduled_end": (now + timedelta(hours=1)).isoformat(),
        },
        expect=201,
    )
    if start:
        await api.call("POST", f"/api/lessons/{lesson['id']}/start", tutor["token"])
    return Classroom(
        api, admin, tutor, students, course["id"], lesson["id"], course_title, lesson_title
    )
