"""A synchronous client of the HTTP API, to set up users, courses and lessons for the browser
tests (Playwright's sync API cannot share an event loop with the async test client)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import timeout
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD

PASSWORD = "browser-test-password"
# Prompts only when the dashboard asks (the scheduler's first prompt is an hour away), and no
# head-turn challenge unless a test asks for one.
QUIET_POLICY = {
    "interval_min_s": 3600,
    "interval_max_s": 3600,
    "first_prompt_min_s": 3600,
    "first_prompt_max_s": 3600,
    "challenge_probability": 0,
}


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    role: str
    password: str
    token: str


@dataclass(frozen=True)
class Classroom:
    tutor: User
    students: list[User]
    course_id: str
    course_title: str
    lesson_id: str
    lesson_title: str


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout(30))
        self._admin: str | None = None

    def close(self) -> None:
        self.http.close()

    def login(self, email: str, password: str) -> str:
        r = self.http.post("/api/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def call(self, method: str, path: str, token: str, json: Any = None, expect: int = 200) -> Any:
        r = self.http.request(method, path, json=json, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json()

    @property
    def admin(self) -> str:
        if self._admin is None:
            self._admin = self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        return self._admin

    def add_user(self, role: str, name: str) -> User:
        email = f"{role}-{uuid.uuid4().hex[:10]}@browser.example"
        body = {"email": email, "name": name, "role": role, "password": PASSWORD}
        made = self.call("POST", "/api/users", self.admin, body, expect=201)
        return User(made["id"], email, name, role, PASSWORD, self.login(email, PASSWORD))

    def classroom(
        self,
        student_names: list[str],
        *,
        course_title: str = "Forklift safety",
        lesson_title: str = "Lesson 1: loads and balance",
        policy: dict[str, Any] | None = None,
    ) -> Classroom:
        """A tutor, enrolled students, a course and a live lesson, all through the API."""
        tutor = self.add_user("tutor", "Tina Tutor")
        students = [self.add_user("student", name) for name in student_names]
        course = self.call(
            "POST",
            "/api/courses",
            self.admin,
            {
                "title": course_title,
                "tutor_id": tutor.id,
                "policy": {**QUIET_POLICY, **(policy or {})},
            },
            expect=201,
        )
        self.call(
            "POST",
            f"/api/courses/{course['id']}/enrollments",
            self.admin,
            {"student_ids": [s.id for s in students]},
            expect=201,
        )
        now = datetime.now(UTC)
        lesson = self.call(
            "POST",
            f"/api/courses/{course['id']}/lessons",
            tutor.token,
            {
                "title": lesson_title,
                "scheduled_start": now.isoformat(),
                "scheduled_end": (now + timedelta(hours=1)).isoformat(),
            },
            expect=201,
        )
        self.call("POST", f"/api/lessons/{lesson['id']}/start", tutor.token)
        return Classroom(tutor, students, course["id"], course_title, lesson["id"], lesson_title)
