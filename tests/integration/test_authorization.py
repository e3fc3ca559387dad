"""Who may call what: every API route against every kind of caller, by status code.

The callers: nobody (no token), a student of the course, a student of another course, the
course's tutor, a tutor of another course, and an admin. Routes that change something get a
fresh target for each call, so the table's rows do not depend on each other. Every 2xx JSON
answer is also checked against the response schema the OpenAPI document publishes.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.routing import Match

from domain.statuses import PromptStatus
from server.api_route import ApiRoute
from server.app import create_app
from server.settings import Settings
from storage import repositories as repo
from storage.db import make_engine, make_sessions
from testkit.api import PASSWORD, Api, make_classroom
from testkit.frames import face_jpeg
from testkit.lessons import prompted
from testkit.participants import Participant
from testkit.server import database_url_for, running_server
from testkit.timing import timeout

CALLERS = ("anonymous", "student", "other_student", "tutor", "other_tutor", "admin")


@dataclass
class World:
    url: str
    tokens: dict[str, str | None]
    ids: dict[str, str]
    http: httpx.Client

    def call(self, method: str, path: str, caller: str, body: Any = None) -> httpx.Response:
        token = self.tokens[caller]
        headers = {"authorization": f"Bearer {token}"} if token else {}
        if isinstance(body, bytes):  # a picture, sent as it is
            headers["content-type"] = "image/jpeg"
            return self.http.request(method, path, content=body, headers=headers)
        return self.http.request(method, path, json=body, headers=headers)

    def admin(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        r = self.call(method, path, "admin", body)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    def fresh_user(self, role: str = "student") -> str:
        email = f"fresh-{uuid.uuid4().hex[:10]}@test.example"
        body = {"email": email, "name": "Fresh", "role": role, "password": PASSWORD}
        return str(self.admin("POST", "/api/users", body, expect=201)["id"])

    def fresh_enrolled(self) -> str:
        student = self.fresh_user()
        body = {"student_ids": [student]}
        self.admin("POST", f"/api/courses/{self.ids['course']}/enrollments", body, expect=201)
        return student

    def fresh_failed_prompt(self) -> str:
        """A failed prompt of the course's student in the live lesson, written as the lesson
        loop writes one (the loop itself has its own tests)."""
        prompt_id = secrets.token_urlsafe(16)

        async def write() -> None:
            engine = make_engine(database_url_for(self.url))
            try:
                async with make_sessions(engine)() as s, s.begin():
                    now = datetime.now(UTC)
                    await repo.add_prompt(
                        s,
                        prompt_id=prompt_id,
                        lesson_id=uuid.UUID(self.ids["lesson"]),
                        student_id=uuid.UUID(self.ids["student"]),
                        issued_at=now - timedelta(seconds=20),
                        deadline=now - timedelta(seconds=5),
                        challenge="none",
                    )
                    await repo.resolve_prompt(
                        s, prompt_id=prompt_id, status=PromptStatus.MISSED, at=now
                    )
            finally:
                await engine.dispose()

        asyncio.run(write())
        return prompt_id

    def fresh_pending_face(self) -> str:
        """A student of the course who enrolled their face and waits for approval."""
        email = f"fresh-{uuid.uuid4().hex[:10]}@test.example"
        body = {"email": email, "name": "Fresh", "role": "student", "password": PASSWORD}
        student = str(self.admin("POST", "/api/users", body, expect=201)["id"])
        enrol = {"student_ids": [student]}
        self.admin("POST", f"/api/courses/{self.ids['course']}/enrollments", enrol, expect=201)
        login = {"email": email, "password": PASSWORD}
        token = self.http.post("/api/auth/login", json=login).json()["access_token"]
        r = self.http.post(
            "/api/me/face", json=_face_frames(), headers={"authorization": f"Bearer {token}"}
        )
        assert r.status_code == 201, r.text
        return student

    def exempt_both_students(self) -> dict[str, str]:
        for student in (self.ids["student"], self.ids["other_student"]):
            self.admin("POST", f"/api/users/{student}/face/exempt", {"reason": "matrix"})
        return {}

    def fresh_live_lesson(self) -> str:
        lesson = self.admin(
            "POST",
            f"/api/courses/{self.ids['course']}/lessons",
            _lesson_body(),
            expect=201,
        )
        self.admin("POST", f"/api/lessons/{lesson['id']}/start")
        return str(lesson["id"])


def _face_frames() -> dict[str, Any]:
    from tests.identity import frames

    shots = [
        (frames.astronaut(), "none"),
        (frames.astronaut(share=0.4, light=0.8, at_x=0.45), "none"),
        (frames.astronaut_turned("left"), "left"),
    ]
    return {
        "consent": True,
        "frames": [{"image": base64.b64encode(b).decode(), "turn": t} for b, t in shots],
    }


def _lesson_body() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "title": "Matrix lesson",
        "scheduled_start": now.isoformat(),
        "scheduled_end": (now + timedelta(hours=1)).isoformat(),
    }


async def _build(url: str) -> tuple[dict[str, str | None], dict[str, str]]:
    api = Api(url)
    participants: list[Participant] = []
    try:
        room = await make_classroom(api, n_students=1, policy={"evidence": "all"})
        other = await make_classroom(api, n_students=1)
        # One real check with an evidence thumbnail in the course's lesson.
        tutor = Participant(url, "/tutor")
        student = Participant(url, "/student")
        participants += [tutor, student]
        await tutor.connect(room.tutor["token"], room.lesson_id)
        await student.connect(room.students[0]["token"], room.lesson_id)
        prompt = await prompted(tutor, student, room.students[0]["id"])
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present"
        checks = await api.call("GET", f"/api/lessons/{room.lesson_id}/checks", room.admin)
        tokens: dict[str, str | None] = {
            "anonymous": None,
            "student": room.students[0]["token"],
            "other_student": other.students[0]["token"],
            "tutor": room.tutor["token"],
            "other_tutor": other.tutor["token"],
            "admin": room.admin,
        }
        ids = {
            "course": room.course_id,
            "lesson": room.lesson_id,
            "student": room.students[0]["id"],
            "other_student": other.students[0]["id"],
            "check": checks["items"][0]["id"],
        }
        return tokens, ids
    finally:
        for p in participants:
            await p.close()
        await api.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own, with an identity worker: the face routes are in the
    matrix (the shared server has identity switched off)."""
    with running_server(tmp_path_factory.mktemp("matrix"), identity_workers=1) as url:
        yield url


@pytest.fixture(scope="module")
def world(server_url: str) -> Iterator[World]:
    tokens, ids = asyncio.run(_build(server_url))
    with httpx.Client(base_url=server_url, timeout=timeout(30)) as http:
        yield World(server_url, tokens, ids, http)


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # with {placeholders} filled from World.ids, or by `target`
    allowed: dict[str, int]  # callers that get a 2xx, and which
    denied: dict[str, int]  # every other caller but anonymous
    body: Callable[[World], Any] | None = None
    target: Callable[[World], dict[str, str]] | None = None


def everyone(status: int) -> dict[str, int]:
    return {c: status for c in CALLERS if c != "anonymous"}


def only(allowed: dict[str, int], **denied: int) -> tuple[dict[str, int], dict[str, int]]:
    return allowed, denied


ADMIN_ONLY = only({"admin": 200}, student=403, other_student=403, tutor=403, other_tutor=403)
COURSE_VIEWERS = only(
    {"admin": 200, "tutor": 200, "student": 200}, other_student=404, other_tutor=404
)
COURSE_READERS = only({"admin": 200, "tutor": 200}, student=403, other_student=403, other_tutor=404)
DRIVERS = only({"admin": 200, "tutor": 200}, student=403, other_student=403, other_tutor=404)


def row(method: str, path: str, access: tuple[dict[str, int], dict[str, int]], **kw: Any) -> Row:
    return Row(method, path, access[0], access[1], **kw)


def _with_status(access: tuple[dict[str, int], dict[str, int]], status: int) -> Any:
    return {c: status for c in access[0]}, access[1]


ROWS = [
    row("GET", "/api/me", (everyone(200), {})),
    # A bad body, so that no caller's token is signed out: anyone signed in reaches the
    # validation (422), the anonymous do not (401). Signing out itself: tests/security.
    row("POST", "/api/auth/logout", (everyone(422), {}), body=lambda w: {"everywhere": "maybe"}),
    row(
        "POST",
        "/api/users",
        _with_status(ADMIN_ONLY, 201),
        body=lambda w: {
            "email": f"new-{uuid.uuid4().hex[:10]}@test.example",
            "name": "New",
            "role": "student",
            "password": PASSWORD,
        },
    ),
    row("GET", "/api/users", ADMIN_ONLY),
    row("GET", "/api/users/{student}", ADMIN_ONLY),
    row("PATCH", "/api/users/{student}", ADMIN_ONLY, body=lambda w: {"name": "Student 0"}),
    row(
        "DELETE",
        "/api/users/{user}",
        _with_status(ADMIN_ONLY, 204),
        target=lambda w: {"user": w.fresh_user()},
    ),
    row(
        "POST",
        "/api/courses",
        _with_status(ADMIN_ONLY, 201),
        body=lambda w: {"title": "New course", "tutor_id": w.fresh_user("tutor")},
    ),
    row("GET", "/api/courses", (everyone(200), {})),
    row("GET", "/api/courses/{course}", COURSE_VIEWERS),
    row(
        "PATCH",
        "/api/courses/{course}",
        only({"admin": 200}, student=403, other_student=403, tutor=403, other_tutor=403),
        body=lambda w: {"policy": {"deadline_s": 15}},
    ),
    row(
        "POST",
        "/api/courses/{course}/enrollments",
        ADMIN_ONLY,  # 200: the student is enrolled already, nothing added
        body=lambda w: {"student_ids": [w.ids["student"]]},
    ),
    row("GET", "/api/courses/{course}/enrollments", COURSE_READERS),
    row(
        "DELETE",
        "/api/courses/{course}/enrollments/{enrolled}",
        _with_status(ADMIN_ONLY, 204),
        target=lambda w: {"enrolled": w.fresh_enrolled()},
    ),
    row(
        "POST",
        "/api/courses/{course}/lessons",
        only({"admin": 201, "tutor": 201}, student=403, other_student=403, other_tutor=404),
        body=lambda w: _lesson_body(),
    ),
    row("GET", "/api/courses/{course}/lessons", COURSE_VIEWERS),
    row("GET", "/api/lessons", (everyone(200), {})),
    row("GET", "/api/lessons/{lesson}", COURSE_VIEWERS),
    row("POST", "/api/lessons/{lesson}/start", DRIVERS),
    row(
        "POST",
        "/api/lessons/{live}/end",
        DRIVERS,
        target=lambda w: {"live": w.fresh_live_lesson()},
    ),
    row("GET", "/api/lessons/{lesson}/attendance", COURSE_READERS),
    row("GET", "/api/lessons/{lesson}/attendance.csv", COURSE_READERS),
    row(
        "GET",
        "/api/lessons/{lesson}/attendance/me",
        only({"student": 200}, other_student=404, tutor=403, other_tutor=403, admin=403),
    ),
    row("GET", "/api/lessons/{lesson}/checks", COURSE_READERS),
    row("GET", "/api/lessons/{lesson}/attendance.signed.json", COURSE_READERS),
    row(
        "GET",
        "/api/lessons/{lesson}/attendance/me/certificate.pdf",
        only({"student": 200}, other_student=404, tutor=403, other_tutor=403, admin=403),
    ),
    row("GET", "/api/lessons/{lesson}/attendance/{student}/certificate.pdf", COURSE_READERS),
    row(
        "GET",
        "/api/checks/{check}/thumbnail",
        only({"admin": 200, "tutor": 200}, student=403, other_student=403, other_tutor=404),
    ),
    row("GET", "/api/lessons/{lesson}/prompts", COURSE_READERS),
    row(
        "GET",
        "/api/lessons/{lesson}/prompts/me",
        only({"student": 200}, other_student=404, tutor=403, other_tutor=403, admin=403),
    ),
    row(
        "POST",
        "/api/prompts/{flagged}/review",
        only({"admin": 201, "tutor": 201}, student=403, other_student=403, other_tutor=404),
        body=lambda w: {"decision": "uphold", "reason": "no picture came"},
        target=lambda w: {"flagged": w.fresh_failed_prompt()},
    ),
    row(
        "POST",
        "/api/prompts/{flagged}/contest",
        only({"student": 201}, other_student=404, tutor=403, other_tutor=403, admin=403),
        body=lambda w: {"message": "my connection dropped"},
        target=lambda w: {"flagged": w.fresh_failed_prompt()},
    ),
    row("GET", "/api/audit", ADMIN_ONLY),
    # Face templates: the admin enrols from a photo, deletes and exempts; the student's tutors
    # read the state and decide on a pending enrolment; the student enrols and withdraws.
    row(
        "PUT",
        "/api/users/{user}/face",
        ADMIN_ONLY,
        body=lambda w: face_jpeg(),
        target=lambda w: {"user": w.fresh_user()},
    ),
    row("GET", "/api/users/{student}/face", COURSE_VIEWERS),
    row(
        "DELETE",
        "/api/users/{user}/face",
        _with_status(ADMIN_ONLY, 204),
        target=lambda w: {"user": w.fresh_pending_face()},
    ),
    row(
        "POST",
        "/api/users/{user}/face/exempt",
        ADMIN_ONLY,
        body=lambda w: {"reason": "identity checked in person"},
        target=lambda w: {"user": w.fresh_user()},
    ),
    *(
        row(
            method,
            f"/api/users/{{user}}/face{tail}",
            only({"admin": 200, "tutor": 200}, student=403, other_student=403, other_tutor=404),
            body=body,
            target=lambda w: {"user": w.fresh_pending_face()},
        )
        for method, tail, body in (
            ("GET", "/picture", None),
            ("POST", "/approve", None),
            ("POST", "/reject", lambda w: {"reason": "not the student"}),
        )
    ),
    row(
        "GET",
        "/api/face-enrolments",
        only({"admin": 200, "tutor": 200, "other_tutor": 200}, student=403, other_student=403),
    ),
    row(
        "POST",
        "/api/me/face",
        only({"student": 201, "other_student": 201}, tutor=403, other_tutor=403, admin=403),
        body=lambda w: _face_frames(),
    ),
    row(
        "GET",
        "/api/me/face",
        only({"student": 200, "other_student": 200}, tutor=403, other_tutor=403, admin=403),
    ),
    row(
        "DELETE",
        "/api/me/face",
        only({"student": 204, "other_student": 204}, tutor=403, other_tutor=403, admin=403),
        target=lambda w: w.exempt_both_students(),
    ),
]
CASES = [
    pytest.param(r, caller, id=f"{r.method} {r.path} as {caller}")
    for r in ROWS
    for caller in CALLERS
]


def expected(r: Row, caller: str) -> int:
    if caller == "anonymous":
        return 401
    if caller in r.allowed:
        return r.allowed[caller]
    return r.denied[caller]


_app = create_app(Settings())


def _operation(method: str, path: str) -> Any:
    scope = {"type": "http", "method": method, "path": path}
    for route in _app.other_asgi_app.routes:
        if isinstance(route, ApiRoute) and route.matches(scope)[0] is Match.FULL:
            return route.operation
    raise AssertionError(f"no documented route for {method} {path}")


@pytest.mark.parametrize(("r", "caller"), CASES)
def test_authorization_matrix(world: World, r: Row, caller: str) -> None:
    ids = {**world.ids, **(r.target(world) if r.target else {})}
    path = r.path.format(**ids)
    body = r.body(world) if r.body else None
    response = world.call(r.method, path, caller, body)
    assert response.status_code == expected(r, caller), response.text
    operation = _operation(r.method, path)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()
        assert problem["status"] == response.status_code
    elif response.status_code == 204:
        assert response.content == b""
    elif operation.response is not None:
        operation.response.model_validate(response.json())
    else:
        assert response.headers["content-type"].startswith(operation.media_type)


def test_the_matrix_covers_every_api_route() -> None:
    documented = {
        (route.operation.method, route.path)
        for route in _app.other_asgi_app.routes
        if isinstance(route, ApiRoute) and not route.operation.public
    }
    covered = {(r.method, _template(r.path)) for r in ROWS}
    assert documented == covered


def _template(path: str) -> str:
    for method in ("GET", "POST", "PATCH", "DELETE"):
        for route in _app.other_asgi_app.routes:
            sample = path.replace("{", "").replace("}", "")
            if (
                isinstance(route, ApiRoute)
                and route.matches({"type": "http", "method": method, "path": sample})[0]
                is Match.FULL
            ):
                return str(route.path)
    return path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/users/{x}"),
        ("PATCH", "/api/users/{x}"),
        ("DELETE", "/api/users/{x}"),
        ("GET", "/api/courses/{x}"),
        ("GET", "/api/courses/{x}/lessons"),
        ("GET", "/api/lessons/{x}"),
        ("GET", "/api/lessons/{x}/attendance"),
        ("GET", "/api/lessons/{x}/prompts"),
        ("GET", "/api/checks/{x}/thumbnail"),
        ("DELETE", "/api/courses/{x}/enrollments/{x}"),
    ],
)
@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "not-an-id"])
def test_unknown_ids_are_404_even_for_an_admin(
    world: World, method: str, path: str, unknown: str
) -> None:
    body = {"name": "X"} if method == "PATCH" else None
    response = world.call(method, path.replace("{x}", unknown), "admin", body)
    assert response.status_code == 404, response.text
    assert response.json()["detail"].endswith("not found")
