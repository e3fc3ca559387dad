"""The management API a lesson needs: login, users, courses, enrolments, lessons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import socketio

from testkit.api import PASSWORD, Api, make_classroom
from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD
from testkit.tokens import forged_tokens

PROBLEM = "application/problem+json"


def lesson_body(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "title": "Night driving",
        "scheduled_start": now.isoformat(),
        "scheduled_end": (now + timedelta(hours=1)).isoformat(),
        **overrides,
    }


async def test_login_returns_an_expiring_bearer_token_and_me(api: Api) -> None:
    r = await api.http.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] > 0
    assert body["user"]["role"] == "admin"
    me = await api.call("GET", "/api/me", body["access_token"])
    assert me["email"] == ADMIN_EMAIL
    assert "password_hash" not in me


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": ADMIN_EMAIL, "password": "wrong"},
        {"email": "nobody@test.example", "password": "wrong"},
    ],
    ids=["wrong-password", "unknown-email"],
)
async def test_failed_logins_look_the_same(api: Api, credentials: dict[str, str]) -> None:
    r = await api.http.post("/api/auth/login", json=credentials)
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["detail"] == "wrong email or password"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer not-a-token"}, 401),
        ({"authorization": "Basic YWRtaW46YWRtaW4="}, 401),
    ],
)
async def test_me_needs_a_valid_token(api: Api, headers: dict[str, str], status: int) -> None:
    r = await api.http.get("/api/me", headers=headers)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"


async def test_admin_creates_users_and_emails_are_unique_ignoring_case(api: Api) -> None:
    admin = await api.admin_token()
    body = {
        "email": "Case.Test@Test.Example",
        "name": "Case",
        "role": "tutor",
        "password": "long-enough",
    }
    user = await api.call("POST", "/api/users", admin, body, expect=201)
    assert user["email"] == "case.test@test.example"
    assert user["id"]
    again = await api.call(
        "POST", "/api/users", admin, {**body, "email": "CASE.TEST@test.example"}, expect=409
    )
    assert again["status"] == 409
    # The new user can log in with any capitalisation of the email.
    assert await api.login("case.TEST@test.example", "long-enough")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"email": "not-an-email", "name": "X", "role": "student", "password": "long-enough"},
            "email",
        ),
        (
            {"email": "a@b.example", "name": "X", "role": "wizard", "password": "long-enough"},
            "role",
        ),
        ({"email": "a@b.example", "name": "X", "role": "student", "password": "short"}, "password"),
        (
            {"email": "a@b.example", "name": "", "role": "student", "password": "long-enough"},
            "name",
        ),
        ({"email": "a@b.example", "name": "X", "role": "student"}, "password"),
        (
            {
                "email": "a@b.example",
                "name": "X",
                "role": "student",
                "password": "long-enough",
                "is_admin": True,
            },
            "is_admin",
        ),
    ],
    ids=["email", "role", "short-password", "empty-name", "missing-password", "unknown-field"],
)
async def test_invalid_user_bodies_name_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    admin = await api.admin_token()
    problem = await api.call("POST", "/api/users", admin, body, expect=422)
    assert problem["detail"].startswith(f"{field}:")
    assert problem["errors"][0]["field"] == field


async def test_bodies_that_are_not_json_are_refused_clearly(api: Api) -> None:
    admin = await api.admin_token()
    headers = {"authorization": f"Bearer {admin}"}
    r = await api.http.post(
        "/api/users", content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert (r.status_code, r.headers["content-type"]) == (400, PROBLEM)
    r = await api.http.post("/api/users", content=b"email=x", headers=headers)
    assert r.status_code == 415


async def test_only_admins_create_users_and_courses(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    student, tutor = room.students[0]["token"], room.tutor["token"]
    body = {"email": "x@test.example", "name": "X", "role": "admin", "password": "long-enough"}
    await api.call("POST", "/api/users", None, body, expect=401)
    await api.call("POST", "/api/users", student, body, expect=403)
    await api.call("POST", "/api/users", tutor, body, expect=403)
    course = {"title": "T", "tutor_id": room.tutor["id"]}
    await api.call("POST", "/api/courses", tutor, course, expect=403)
    await api.call(
        "POST",
        f"/api/courses/{room.course_id}/enrollments",
        tutor,
        {"student_ids": [room.students[0]["id"]]},
        expect=403,
    )


async def test_course_policy_defaults_and_validation(api: Api) -> None:
    admin = await api.admin_token()
    tutor = await api.add_user(admin, "tutor", "Tutor")
    course = await api.call(
        "POST", "/api/courses", admin, {"title": "Forklift", "tutor_id": tutor["id"]}, expect=201
    )
    assert course["policy"] == {
        "interval_min_s": 60.0,
        "interval_max_s": 180.0,
        "first_prompt_min_s": 5.0,
        "first_prompt_max_s": 20.0,
        "deadline_s": 15.0,
        "max_frames": 3,
        "challenge_probability": 0.2,
        "present_ratio": 0.8,
        "present_connected_ratio": 0.85,
        "partial_ratio": 0.5,
        "evidence": "none",
        "retention_days": 30,
        "contest_days": 7,
        # New courses compare identity on sampled prompts.
        "identity": "sampled",
        "identity_probability": 0.34,
    }
    bad = [
        ({"deadline_s": 0}, "policy.deadline_s"),
        ({"contest_days": -1}, "policy.contest_days"),
        ({"evidence": "video"}, "policy.evidence"),
        ({"interval_min_s": 200, "interval_max_s": 100}, "policy"),
        ({"every_s": 5}, "policy.every_s"),
    ]
    for policy, field in bad:
        problem = await api.call(
            "POST",
            "/api/courses",
            admin,
            {"title": "X", "tutor_id": tutor["id"], "policy": policy},
            expect=422,
        )
        assert problem["detail"].startswith(f"{field}:"), problem
    # A course's tutor must be a tutor.
    student = await api.add_user(admin, "student", "S")
    problem = await api.call(
        "POST", "/api/courses", admin, {"title": "X", "tutor_id": student["id"]}, expect=422
    )
    assert problem["detail"].startswith("tutor_id:")


async def test_enrolment_takes_only_students_and_is_idempotent(api: Api) -> None:
    room = await make_classroom(api, n_students=2, start=False)
    path = f"/api/courses/{room.course_id}/enrollments"
    ids = [s["id"] for s in room.students]
    again = await api.call("POST", path, room.admin, {"student_ids": ids}, expect=200)
    assert again["added"] == []
    assert sorted(again["student_ids"]) == sorted(ids)
    problem = await api.call(
        "POST", path, room.admin, {"student_ids": [room.tutor["id"]]}, expect=422
    )
    assert room.tutor["id"] in problem["detail"]
    await api.call(
        "POST",
        "/api/courses/00000000-0000-0000-0000-000000000000/enrollments",
        room.admin,
        {"student_ids": ids},
        expect=404,
    )


async def test_lesson_lifecycle_and_who_may_drive_it(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    other = await make_classroom(api, n_students=1, start=False)
    lesson_path = f"/api/lessons/{room.lesson_id}"
    student = room.students[0]["token"]

    lesson = await api.call("GET", lesson_path, student)
    assert (lesson["id"], lesson["status"]) == (room.lesson_id, "scheduled")
    # Not theirs: another course's student and tutor do not learn that it exists.
    await api.call("GET", lesson_path, other.students[0]["token"], expect=404)
    await api.call("GET", lesson_path, other.tutor["token"], expect=404)
    await api.call("POST", f"{lesson_path}/start", other.tutor["token"], expect=404)
    await api.call("POST", f"{lesson_path}/start", student, expect=403)
    await api.call("POST", f"{lesson_path}/end", room.tutor["token"], expect=409)

    started = await api.call("POST", f"{lesson_path}/start", room.tutor["token"])
    assert started["status"] == "live" and started["started_at"]
    again = await api.call("POST", f"{lesson_path}/start", room.admin)
    assert again["started_at"] == started["started_at"]  # starting twice changes nothing

    ended = await api.call("POST", f"{lesson_path}/end", room.admin)
    assert ended["status"] == "ended" and ended["ended_at"]
    await api.call("POST", f"{lesson_path}/start", room.tutor["token"], expect=409)
    await api.call("GET", "/api/lessons/not-a-uuid", room.admin, expect=404)


async def test_tutors_create_lessons_only_in_their_own_courses(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    other = await make_classroom(api, n_students=1, start=False)
    path = f"/api/courses/{room.course_id}/lessons"
    # Another tutor's course is not theirs to know about: 404; a student's role never may: 403.
    await api.call("POST", path, other.tutor["token"], lesson_body(), expect=404)
    await api.call("POST", path, room.students[0]["token"], lesson_body(), expect=403)
    problem = await api.call(
        "POST",
        path,
        room.tutor["token"],
        lesson_body(scheduled_end=datetime(2000, 1, 1, tzinfo=UTC).isoformat()),
        expect=422,
    )
    assert "scheduled_end" in problem["detail"]
    problem = await api.call(
        "POST",
        path,
        room.tutor["token"],
        lesson_body(scheduled_start="2030-01-01T10:00:00"),
        expect=422,
    )
    assert problem["detail"].startswith("scheduled_start:")  # a time zone is required


async def test_a_disabled_users_token_stops_working_on_http_and_sockets(
    api: Api, server_url: str
) -> None:
    from testkit.participants import Participant

    room = await make_classroom(api, n_students=1)
    token = room.students[0]["token"]
    await api.call("GET", "/api/me", token)
    connected = Participant(server_url, "/student")
    await connected.connect(token, room.lesson_id)
    await api.call("PATCH", f"/api/users/{room.students[0]['id']}", room.admin, {"disabled": True})
    # An open connection is closed at once.
    await connected.wait_for("disconnect")
    await connected.close()
    await api.call("GET", "/api/me", token, expect=401)
    r = await api.http.post(
        "/api/auth/login", json={"email": room.students[0]["email"], "password": PASSWORD}
    )
    assert r.status_code == 401
    student = Participant(server_url, "/student")
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await student.connect(token, room.lesson_id)
        assert student.refusal is not None
        assert student.refusal["data"]["code"] == "unauthorized"
    finally:
        await student.close()


async def test_health_reports_each_part(api: Api) -> None:
    health = await api.call("GET", "/api/health", None)
    assert health["status"] == "ok"
    assert health["database"] == "ok"
    assert health["vision"] == "ok"
    assert health["vision_pool"]["workers"] >= 1
    assert set(health["connections"]) == {"students", "tutors"}


async def test_forged_and_expired_tokens_are_refused(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    student = room.students[0]
    for kind, token in forged_tokens(student["id"], student["token"]).items():
        r = await api.http.get("/api/me", headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 401, kind
        assert r.json()["detail"] == "the token is invalid or has expired", kind
    # The genuine token still works.
    assert (await api.call("GET", "/api/me", student["token"]))["id"] == student["id"]
