"""Getting in without the right: forged, expired and oversized tokens, tokens of users who are
gone or disabled, the wrong role or course, and what login failures give away (their answer
and their timing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from testkit.api import PASSWORD, Api, make_classroom
from testkit.lessons import class_lesson, join
from testkit.participants import Participant
from testkit.server import SECRET_KEY
from testkit.tokens import forged_tokens
from tests.adversarial.raw import RawSocket

SECRET = SECRET_KEY  # the test server's: lets a test sign tokens as the server would


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def signed(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


def signed_hs512(claims: dict[str, Any]) -> str:
    """HS512 with the server's key, by hand (PyJWT warns about the key's length for HS512)."""
    head = f"{_b64({'alg': 'HS512', 'typ': 'JWT'})}.{_b64(claims)}"
    mac = hmac.new(SECRET.encode(), head.encode(), hashlib.sha512).digest()
    return f"{head}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def more_forgeries(user_id: str, valid: str) -> dict[str, str]:
    """Beyond testkit.tokens.forged_tokens: other algorithms, missing or odd claims."""
    exp = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    header, payload, signature = valid.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    other_signature = signed({"sub": user_id, "exp": exp}).rsplit(".", 1)[1]
    return {
        **forged_tokens(user_id, valid),
        "signature-one-character-changed": f"{header}.{payload}.{flipped}",
        "signature-of-another-token": f"{header}.{payload}.{other_signature}",
        "hs512-same-key": signed_hs512({"sub": user_id, "exp": exp}),
        "alg-None": f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{payload}.",
        "alg-none-no-dot": f"{_b64({'alg': 'none'})}.{payload}",
        "no-signature": f"{header}.{payload}.",
        "no-exp": signed({"sub": user_id}),
        "no-sub": signed({"exp": exp}),
        "sub-not-an-id": signed({"sub": "admin", "exp": exp}),
        "sub-nobody": signed({"sub": str(uuid.uuid4()), "exp": exp}),
        "sub-number": signed({"sub": 1, "exp": exp}),
        "not-yet-valid": signed({"sub": user_id, "exp": exp, "nbf": exp - 60}),
        "oversized": valid + "A" * 5000,
        "two-tokens": f"{valid} {valid}",
        "garbage": "\u202e" + "é" * 40,
    }


async def socket_refusal(url: str, namespace: str, auth: Any) -> Any:
    """The refusal a join with ``auth`` gets, read off the wire (``auth`` may be anything)."""
    raw = await RawSocket.open(url)
    try:
        answer = await raw.join(namespace, auth)
    finally:
        await raw.close()
    assert answer.kind == "4", (namespace, auth, answer)
    assert isinstance(answer.data["message"], str) and answer.data["message"]
    return answer.data["data"]


async def test_forged_tokens_are_refused_on_http_and_both_namespaces(
    api: Api, server_url: str
) -> None:
    room = await make_classroom(api, n_students=1)
    student = room.students[0]
    for kind, token in more_forgeries(student["id"], student["token"]).items():
        bearer = f"Bearer {token}".encode()  # bytes: a header may carry any octets
        r = await api.http.get("/api/me", headers={"authorization": bearer})
        assert r.status_code == 401, (kind, r.text)
        for namespace in ("/student", "/tutor"):
            data = await socket_refusal(
                server_url, namespace, {"token": token, "lesson_id": room.lesson_id}
            )
            assert data == {"code": "unauthorized"}, (kind, namespace, data)
    assert (await api.call("GET", "/api/me", student["token"]))["id"] == student["id"]


async def test_malformed_connection_auth_is_a_bad_request(api: Api, server_url: str) -> None:
    room = await make_classroom(api, n_students=1)
    token = room.students[0]["token"]
    for auth in (
        None,
        "token",
        5,
        [token, room.lesson_id],
        {"token": 123, "lesson_id": room.lesson_id},
        {"token": [token], "lesson_id": room.lesson_id},
        {"token": {"$ne": ""}, "lesson_id": room.lesson_id},
        {"token": "", "lesson_id": room.lesson_id},
        {"token": token},
        {"token": token, "lesson_id": 5},
        {"token": token, "lesson_id": "../../etc/passwd"},
        {"token": token, "lesson_id": "x" * 100_000},
        {"token": token, "lesson_id": str(uuid.uuid4())},  # no such lesson
    ):
        data = await socket_refusal(server_url, "/student", auth)
        assert data == {"code": "bad_request"}, (auth, data)


async def test_a_validly_signed_role_claim_grants_nothing(api: Api, server_url: str) -> None:
    """The role a token names is not trusted: the database says what the user is."""
    room = await make_classroom(api, n_students=1)
    student = room.students[0]
    claims = jwt.decode(student["token"], options={"verify_signature": False})
    elevated = signed({**claims, "role": "admin"})
    me = await api.call("GET", "/api/me", elevated)
    assert me["role"] == "student"
    await api.call("GET", "/api/users", elevated, expect=403)
    await api.call("POST", f"/api/lessons/{room.lesson_id}/end", elevated, expect=403)
    data = await socket_refusal(
        server_url, "/tutor", {"token": elevated, "lesson_id": room.lesson_id}
    )
    assert data == {"code": "forbidden"}


async def test_wrong_roles_and_courses_are_refused(api: Api, server_url: str) -> None:
    room = await make_classroom(api, n_students=1)
    other = await make_classroom(api, n_students=1)
    lesson = room.lesson_id
    cases = [
        ("/tutor", room.students[0]["token"], "forbidden"),
        ("/tutor", other.tutor["token"], "forbidden"),
        ("/student", room.tutor["token"], "forbidden"),
        ("/student", room.admin, "forbidden"),
        ("/student", other.students[0]["token"], "not_enrolled"),
    ]
    for namespace, token, code in cases:
        data = await socket_refusal(server_url, namespace, {"token": token, "lesson_id": lesson})
        assert data == {"code": code}, (namespace, code, data)
    # Over HTTP the other course's tutor cannot see, end or report on the lesson.
    for method, path in (
        ("GET", f"/api/lessons/{lesson}"),
        ("POST", f"/api/lessons/{lesson}/end"),
        ("GET", f"/api/lessons/{lesson}/attendance"),
        ("GET", f"/api/lessons/{lesson}/checks"),
    ):
        await api.call(method, path, other.tutor["token"], expect=404)
    assert (await api.call("GET", f"/api/lessons/{lesson}", room.tutor["token"]))[
        "status"
    ] == "live"


async def test_a_deleted_users_token_opens_nothing_even_for_a_new_account_with_their_email(
    api: Api, server_url: str
) -> None:
    room = await make_classroom(api, n_students=1)
    admin = room.admin
    gone = await api.add_user(admin, "student", "Gone Student")
    tutor = await api.add_user(admin, "tutor", "Gone Tutor")
    for user in (gone, tutor):
        await api.call("DELETE", f"/api/users/{user['id']}", admin, expect=204)
    # The email is free again: a new account gets it, with a new id.
    again = await api.call(
        "POST",
        "/api/users",
        admin,
        {"email": gone["email"], "name": "New Owner", "role": "student", "password": PASSWORD},
        expect=201,
    )
    assert again["id"] != gone["id"]
    for user, namespace in ((gone, "/student"), (tutor, "/tutor")):
        r = await api.http.get("/api/me", headers={"authorization": f"Bearer {user['token']}"})
        assert r.status_code == 401
        data = await socket_refusal(
            server_url, namespace, {"token": user["token"], "lesson_id": room.lesson_id}
        )
        assert data == {"code": "unauthorized"}


async def test_a_disabled_tutor_is_disconnected_and_refused(
    api: Api, server_url: str, participants: list[Participant]
) -> None:
    room, tutor, (student,) = await class_lesson(api, server_url, participants, 1)
    await tutor.wait_for("roster")
    await api.call("PATCH", f"/api/users/{room.tutor['id']}", room.admin, {"disabled": True})
    await tutor.wait_for("disconnect")
    data = await socket_refusal(
        server_url, "/tutor", {"token": room.tutor["token"], "lesson_id": room.lesson_id}
    )
    assert data == {"code": "unauthorized"}
    r = await api.http.post(
        f"/api/lessons/{room.lesson_id}/end",
        headers={"authorization": f"Bearer {room.tutor['token']}"},
    )
    assert r.status_code == 401
    # The lesson goes on for the students; the admin can still watch it.
    assert student.client.connected
    admin_view = await join(participants, server_url, "/tutor", room.admin, room.lesson_id)
    assert (await admin_view.wait_for("roster"))["lesson_id"] == room.lesson_id


async def _failed_login(api: Api, email: str, password: str) -> tuple[float, Any]:
    started = time.perf_counter()
    r = await api.http.post("/api/auth/login", json={"email": email, "password": password})
    elapsed = time.perf_counter() - started
    # The date, the server and the request id (new for every request) say nothing about why.
    ignored = ("date", "server", "x-request-id")
    headers = {k: v for k, v in r.headers.items() if k not in ignored}
    return elapsed, (r.status_code, headers, r.content)


async def login_failures(api: Api) -> dict[str, tuple[str, str]]:
    """Credentials that must all fail alike: unknown, wrong password, disabled accounts."""
    admin = await api.admin_token()
    known = await api.add_user(admin, "student", "Known")
    disabled = await api.add_user(admin, "student", "Disabled")
    await api.call("PATCH", f"/api/users/{disabled['id']}", admin, {"disabled": True})
    return {
        "unknown email": (f"nobody-{uuid.uuid4().hex[:8]}@test.example", PASSWORD),
        "wrong password": (known["email"], PASSWORD + "-wrong"),
        "wrong password, email in capitals": (known["email"].upper(), "wrong-password"),
        "disabled, right password": (disabled["email"], PASSWORD),
        "disabled, wrong password": (disabled["email"], "wrong-password"),
    }


async def test_login_failures_give_the_same_answer_whatever_the_reason(api: Api) -> None:
    answers = {
        why: (await _failed_login(api, email, password))[1]
        for why, (email, password) in (await login_failures(api)).items()
    }
    first = next(iter(answers.values()))
    assert first[0] == 401
    for why, answer in answers.items():
        assert answer == first, (why, answer, first)


async def test_a_login_for_an_unknown_email_takes_as_long_as_a_wrong_password(api: Api) -> None:
    cases = await login_failures(api)
    cases = {
        why: cases[why] for why in ("unknown email", "wrong password", "disabled, right password")
    }
    timings: dict[str, list[float]] = {why: [] for why in cases}
    for _ in range(10):  # interleaved, so a busy moment on the machine hits every case alike
        for why, (email, password) in cases.items():
            if why == "unknown email":
                email = f"nobody-{uuid.uuid4().hex[:8]}@test.example"
            timings[why].append((await _failed_login(api, email, password))[0])
    medians = {why: statistics.median(t) for why, t in timings.items()}
    reference = medians["wrong password"]
    for median in medians.values():
        assert 0.5 <= median / reference <= 2.0, medians
