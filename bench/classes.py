"""A school for the benchmarks: users written straight into a fresh database, the rest by the API.

Creating 10,000 students through ``POST /api/users`` would spend ten minutes in argon2, which is
not what the benchmarks measure; so the users are inserted directly (all with one password
hash, so ``--login`` still works through the API), and their bearer tokens are minted here
with the server's ``TL_SECRET_KEY``, as ``POST /api/auth/login`` would. Courses, policies,
enrolments and lessons go through the HTTP API like an admin's.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.servers import ROOT

PASSWORD = "bench-password"
SECRET_KEY = "bench-secret-key-0123456789-0123456789-abcdef"
# The servers' TL_FACE_KEY (base64 of 32 bytes), with which the seeded templates are sealed.
FACE_KEY = "YmVuY2gtZmFjZS1rZXktMDEyMzQ1Njc4OWFiY2RlZiE="
ENROL_CHUNK = 1000  # the API's limit per request


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    email: str
    token: str


@dataclass(frozen=True, slots=True)
class School:
    admin: Member
    tutor: Member
    students: list[Member]


def migrate(env: Mapping[str, str]) -> None:
    """``trust-lesson migrate`` against the benchmark's database."""
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"trust-lesson migrate failed:\n{result.stdout}{result.stderr}")


def seed_school(database_url: str, students: int, face: bytes | None = None) -> School:
    """An admin, a tutor and ``students`` students, with tokens; with ``face`` (a frame the
    students send), each student has an approved face template of it, as an admin's enrolment
    would make, so identity is compared at the course's policy."""
    template = _descriptor(face) if face is not None else None
    return asyncio.run(_seed(database_url, students, template))


def _descriptor(frame: bytes) -> Any:
    """The face template of ``frame``, as the server's identity workers compute it."""
    import cv2
    import numpy as np

    from identity.model import FaceDescriber
    from vision import Challenge, FaceDetector, ImageLimits, judge_frame

    detector = FaceDetector()
    try:
        verdict = judge_frame(frame, Challenge.NONE, detector, ImageLimits())
    finally:
        detector.close()
    assert verdict.box is not None, "the bench's frames show a face"
    rgb = cv2.imdecode(np.frombuffer(frame, np.uint8), cv2.IMREAD_COLOR_RGB)
    described = FaceDescriber().describe(rgb, verdict.box)
    assert described.vector is not None, described.unusable
    return np.frombuffer(described.vector, dtype="<f4")


async def _seed(database_url: str, n_students: int, template: Any = None) -> School:
    from argon2 import PasswordHasher

    from server.security import TokenCodec
    from storage.db import make_engine, make_sessions
    from storage.models import Role, User

    password_hash = PasswordHasher().hash(PASSWORD)
    # No longer than the server's TL_TOKEN_TTL_S (default 8 h): a token claiming more is refused.
    tokens = TokenCodec(SECRET_KEY, 8 * 3600)
    engine = make_engine(database_url)
    try:
        async with make_sessions(engine)() as s, s.begin():
            people = [
                User(email="admin@bench.example", name="Bench Admin", role=Role.ADMIN),
                User(email="tutor@bench.example", name="Bench Tutor", role=Role.TUTOR),
            ] + [
                User(email=f"student{i}@bench.example", name=f"Student {i:05d}", role=Role.STUDENT)
                for i in range(n_students)
            ]
            for person in people:
                person.password_hash = password_hash
            s.add_all(people)
            await s.flush()
            if template is not None:
                s.add_all(_templates(people[2:], template))
            members = [Member(str(p.id), p.email, tokens.issue(p.id, p.role.value)) for p in people]
    finally:
        await engine.dispose()
    return School(admin=members[0], tutor=members[1], students=members[2:])


def _templates(students: Sequence[Any], vector: Any) -> list[Any]:
    from identity import MODEL_VERSION
    from identity.crypto import TemplateCipher, decode_key
    from storage.models import FaceTemplate, TemplateState

    cipher = TemplateCipher(decode_key(FACE_KEY))
    return [
        FaceTemplate(
            student_id=student.id,
            state=TemplateState.APPROVED,
            vector=cipher.seal_template(vector, student_id=student.id),
            model=MODEL_VERSION,
            quality=1.0,
            source="admin",
        )
        for student in students
    ]


def policy(
    interval_s: tuple[float, float], first_s: tuple[float, float], **extra: Any
) -> dict[str, Any]:
    """A course policy for load: prompts at these intervals, no head-turn challenges."""
    return {
        "interval_min_s": interval_s[0],
        "interval_max_s": interval_s[1],
        "first_prompt_min_s": first_s[0],
        "first_prompt_max_s": first_s[1],
        "challenge_probability": 0,
        **extra,
    }


class Admin:
    """The admin's side of the HTTP API, for setting lessons up between measurements."""

    def __init__(self, base_url: str, school: School) -> None:
        self.school = school
        self.http = httpx.Client(
            base_url=base_url,
            timeout=900,
            headers={"authorization": f"Bearer {school.admin.token}"},
        )

    def close(self) -> None:
        self.http.close()

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def course(self, students: Sequence[Member], course_policy: dict[str, Any]) -> str:
        body = {"title": "Bench", "tutor_id": self.school.tutor.id, "policy": course_policy}
        course_id = str(self._json("POST", "/api/courses", body)["id"])
        for start in range(0, len(students), ENROL_CHUNK):
            chunk = [m.id for m in students[start : start + ENROL_CHUNK]]
            self._json("POST", f"/api/courses/{course_id}/enrollments", {"student_ids": chunk})
        return course_id

    def set_policy(self, course_id: str, course_policy: dict[str, Any]) -> None:
        self._json("PATCH", f"/api/courses/{course_id}", {"policy": course_policy})

    def live_lesson(self, course_id: str) -> str:
        """A new lesson of the course, started: it is loaded with the course's policy now."""
        now = datetime.now(UTC)
        body = {
            "title": "Bench",
            "scheduled_start": now.isoformat(),
            "scheduled_end": (now + timedelta(hours=2)).isoformat(),
        }
        lesson_id = str(self._json("POST", f"/api/courses/{course_id}/lessons", body)["id"])
        self._json("POST", f"/api/lessons/{lesson_id}/start")
        return lesson_id

    def end_lesson(self, lesson_id: str) -> None:
        self._json("POST", f"/api/lessons/{lesson_id}/end")

    def login(self, email: str) -> str:
        """A token through ``POST /api/auth/login`` (argon2 on the server: slow on purpose)."""
        response = self.http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        response.raise_for_status()
        return str(response.json()["access_token"])
