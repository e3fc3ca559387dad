"""Hostile HTTP input: bodies that are not JSON, the wrong content type, bodies too large (also
with a lying or absent Content-Length), unknown fields, SQL-injection strings in every text
field and parameter, hostile cursors, and paths that try to leave the static folder. Each is
refused with a problem document naming what is wrong, or stored literally; never a 500."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from testkit.api import PASSWORD, Api, make_classroom
from testkit.timing import timeout
from tests.adversarial.helpers import INJECTIONS, all_users

PROBLEM = "application/problem+json"
MAX_BODY = 1_000_000  # server/request_context.py MAX_BODY_BYTES, as docs/api.md documents it


async def raw_http(base_url: str, request: bytes, *, body_chunks: Sequence[bytes] = ()) -> bytes:
    """Send bytes as written and return the response head and what body arrived in time."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(request)
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
        async with asyncio.timeout(timeout(10)):
            head = await reader.readuntil(b"\r\n\r\n")
            rest = b""
            try:
                async with asyncio.timeout(timeout(0.5)):
                    rest = await reader.read(65536)
            except TimeoutError:
                pass
        return head + rest
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


async def post_raw_json(
    api: Api, path: str, body: bytes, token: str | None = None
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    # A fresh client each time: after a failure the server may close the connection.
    async with httpx.AsyncClient(base_url=api.base_url, timeout=timeout(30)) as http:
        return await http.post(path, content=body, headers=headers)


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == PROBLEM, r.headers
    body = r.json()
    assert body["status"] == status and isinstance(body["detail"], str) and body["detail"]
    return dict(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"{not json",
        b"{'email': 'a@b.example'}",
        b'{"email": "a@b.example", "password": "x"',
        b'{"email": "a@b.example", "password": "x"} trailing',
        b"\xff\xfe\xfa",
        b"\x00\x00\x00",
        b'{"email": "\xc3\x28@b.example", "password": "x"}',
        b"undefined",
    ],
    ids=lambda b: repr(b[:24]),
)
async def test_a_body_that_is_not_json_is_a_400_problem(api: Api, body: bytes) -> None:
    problem = assert_problem(await post_raw_json(api, "/api/auth/login", body), 400)
    assert "JSON" in problem["detail"]


@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b'"a string"', b"42", b"true", b'{"email": NaN, "password": Infinity}'],
)
async def test_json_that_is_not_an_object_of_the_right_fields_is_a_422(
    api: Api, body: bytes
) -> None:
    assert_problem(await post_raw_json(api, "/api/auth/login", body), 422)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 20_000])
async def test_deeply_nested_json_is_a_400_not_a_500(api: Api, body: bytes) -> None:
    assert_problem(await post_raw_json(api, "/api/auth/login", body), 400)


async def test_a_number_too_long_to_convert_is_a_client_error_not_a_500(api: Api) -> None:
    body = b'{"email": "a@b.example", "password": ' + b"9" * 5000 + b"}"
    r = await post_raw_json(api, "/api/auth/login", body)
    assert r.status_code in (400, 422), r.text[:200]


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
        "application/json-patch+json",
        "text/json",
        "json",
    ],
)
async def test_a_body_in_another_content_type_is_a_415(api: Api, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps({"email": "a@b.example", "password": "x"}).encode()
    async with httpx.AsyncClient(base_url=api.base_url, timeout=timeout(30)) as http:
        request = http.build_request("POST", "/api/auth/login", content=body, headers=headers)
        assert request.headers.get("content-type") == content_type
        r = await http.send(request)
    assert_problem(r, 415)


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
async def test_json_content_types_with_parameters_or_capitals_are_accepted(
    api: Api, content_type: str
) -> None:
    body = json.dumps({"email": "nobody@test.example", "password": "x"}).encode()
    r = await api.http.post("/api/auth/login", content=body, headers={"content-type": content_type})
    assert r.status_code == 401  # read and checked, not refused for its type


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    api: Api, server_url: str
) -> None:
    started = time.monotonic()
    response = await raw_http(
        server_url,
        b"POST /api/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n\r\n",
    )
    assert status_of(response) == 413, response[:200]
    assert time.monotonic() - started < timeout(5)
    assert b"problem+json" in response.split(b"\r\n\r\n")[0]
    assert (await api.call("GET", "/api/health", None))["status"] == "ok"


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit(
    api: Api, server_url: str
) -> None:
    """No Content-Length: the server counts while reading and answers 413 once past the
    limit, without waiting for a body that never ends."""
    chunk = b"[" + b"0," * 32_000 + b"0]"
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    n = MAX_BODY // len(chunk) + 2
    response = await raw_http(
        server_url,
        b"POST /api/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        body_chunks=[framed] * n,  # and never the final zero-length chunk
    )
    assert status_of(response) == 413, response[:200]

    # The same through a client library, to an admin route.
    admin = await api.admin_token()

    async def stream() -> Any:
        for _ in range(n):
            yield chunk

    async with httpx.AsyncClient(base_url=api.base_url, timeout=timeout(30)) as http:
        r = await http.post(
            "/api/users",
            content=stream(),
            headers={"content-type": "application/json", "authorization": f"Bearer {admin}"},
        )
    assert_problem(r, 413)


async def test_a_content_length_that_lies_small_reads_no_further(api: Api, server_url: str) -> None:
    body = json.dumps({"email": "nobody@test.example", "password": "x" * 2_000_000}).encode()
    response = await raw_http(
        server_url,
        b"POST /api/auth/login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 20\r\n\r\n" + body,
    )
    # The first 20 bytes are all the body there is: not JSON.
    assert status_of(response) == 400, response[:200]
    assert (await api.call("GET", "/api/health", None))["status"] == "ok"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/auth/login", {"email": "a@b.example", "password": "x", "admin": True}, "admin"),
        (
            "/api/users",
            {"email": "a@b.example", "name": "A", "role": "student", "password": PASSWORD}
            | {"is_admin": True},
            "is_admin",
        ),
        (
            "/api/users",
            {"email": "a@b.example", "name": "A", "role": "student", "password": PASSWORD}
            | {"password_hash": "$argon2id$forged"},
            "password_hash",
        ),
        (
            "/api/users",
            {"email": "a@b.example", "name": "A", "role": "student", "password": PASSWORD}
            | {"id": "00000000-0000-0000-0000-000000000001"},
            "id",
        ),
        (
            "/api/users",
            {"email": "a@b.example", "name": "A", "role": "superuser", "password": PASSWORD},
            "role",
        ),
    ],
)
async def test_unknown_or_forbidden_fields_are_refused_by_name(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    admin = await api.admin_token()
    r = await api.http.post(path, json=body, headers={"authorization": f"Bearer {admin}"})
    problem = assert_problem(r, 422)
    assert field in problem["detail"] or any(field in e["field"] for e in problem["errors"])


async def test_unknown_fields_in_patches_and_policies_are_refused_by_name(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    admin = room.admin
    student = room.students[0]
    for path, body, field in [
        (f"/api/users/{student['id']}", {"password_hash": "x"}, "password_hash"),
        (f"/api/users/{student['id']}", {"created_at": "2000-01-01T00:00:00Z"}, "created_at"),
        (f"/api/users/{student['id']}", {"role": "admin", "extra": 1}, "extra"),
        (f"/api/courses/{room.course_id}", {"policy": {"max_frame": 5}}, "max_frame"),
        (f"/api/courses/{room.course_id}", {"tutor": room.tutor["id"]}, "tutor"),
    ]:
        r = await api.http.patch(path, json=body, headers={"authorization": f"Bearer {admin}"})
        problem = assert_problem(r, 422)
        assert field in json.dumps(problem), (path, body, problem)
    now = datetime.now(UTC)
    r = await api.http.post(
        f"/api/courses/{room.course_id}/lessons",
        json={
            "title": "T",
            "scheduled_start": now.isoformat(),
            "scheduled_end": (now + timedelta(hours=1)).isoformat(),
            "status": "live",
        },
        headers={"authorization": f"Bearer {admin}"},
    )
    assert "status" in json.dumps(assert_problem(r, 422))
    # Nothing changed.
    me = await api.call("GET", f"/api/users/{student['id']}", admin)
    assert me["role"] == "student"
    await api.login(student["email"], PASSWORD)


async def test_sql_injection_strings_are_stored_and_returned_literally(api: Api) -> None:
    admin = await api.admin_token()
    before = await all_users(api, admin)
    tutor = await api.add_user(admin, "tutor", INJECTIONS[0])
    made: list[dict[str, Any]] = []
    for i, text in enumerate(INJECTIONS):
        local = text.replace(" ", "").replace("@", "")[:40] or "x"
        email = f"{local}{i}-{uuid.uuid4().hex[:6]}@test.example"
        user = await api.call(
            "POST",
            "/api/users",
            admin,
            {"email": email, "name": text, "role": "student", "password": PASSWORD},
            expect=201,
        )
        assert (user["name"], user["email"]) == (text, email.lower())
        assert (await api.call("GET", f"/api/users/{user['id']}", admin))["name"] == text
        await api.login(email, PASSWORD)  # the literal email signs in
        made.append(user)
        course = await api.call(
            "POST", "/api/courses", admin, {"title": text, "tutor_id": tutor["id"]}, expect=201
        )
        assert (await api.call("GET", f"/api/courses/{course['id']}", admin))["title"] == text
        now = datetime.now(UTC)
        lesson = await api.call(
            "POST",
            f"/api/courses/{course['id']}/lessons",
            admin,
            {
                "title": text,
                "scheduled_start": now.isoformat(),
                "scheduled_end": (now + timedelta(hours=1)).isoformat(),
            },
            expect=201,
        )
        assert (await api.call("GET", f"/api/lessons/{lesson['id']}", admin))["title"] == text
    # As login credentials: an ordinary failed login.
    for text in INJECTIONS[:3]:
        r = await api.http.post("/api/auth/login", json={"email": text, "password": text})
        assert r.status_code == 401, r.text
    # Everyone is still there, and exactly the new users were added.
    after = await all_users(api, admin)
    assert {u["id"] for u in before} <= {u["id"] for u in after}
    assert len(after) == len(before) + len(made) + 1
    await api.admin_token()


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/users?role=student' OR '1'='1", 422),
        ("/api/users?role=student,admin;DROP TABLE users", 422),
        ("/api/users?limit=1;DROP TABLE users", 422),
        ("/api/users?limit=-1", 422),
        ("/api/users?limit=99999999999999999999999", 422),
        ("/api/users?cursor=' OR 1=1--", 422),
        ("/api/users/' OR '1'='1", 404),
        ("/api/users/1 OR 1=1", 404),
        ("/api/lessons?status=live' --", 422),
        ("/api/courses/00000000-0000-0000-0000-000000000000' OR ''='", 404),
    ],
)
async def test_injection_in_parameters_and_paths_is_refused(
    api: Api, path: str, status: int
) -> None:
    admin = await api.admin_token()
    base, _, query = path.partition("?")
    url = quote(base, safe="/") + ("?" + quote(query, safe="=&") if query else "")
    r = await api.http.get(url, headers={"authorization": f"Bearer {admin}"})
    assert_problem(r, status)


async def fresh_get(api: Api, path: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=api.base_url, timeout=timeout(30)) as http:
        return await http.get(path, headers={"authorization": f"Bearer {token}"})


def cursor(value: Any) -> str:
    raw = value if isinstance(value, str) else json.dumps(value)
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "position",
    [
        ["2020-01-01T00:00:00+00:00"],
        ["2020-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"],
        [None, None],
        [5, 5],
        {"a": 1},
        "not json",
        ["2020-01-01T00:00:00+00:00", "not-an-id"],
        ["9999-99-99T00:00:00+00:00", "00000000-0000-0000-0000-000000000000"],
    ],
    ids=repr,
)
async def test_a_hostile_cursor_is_a_422(api: Api, position: Any) -> None:
    admin = await api.admin_token()
    r = await api.http.get(
        f"/api/users?cursor={cursor(position)}", headers={"authorization": f"Bearer {admin}"}
    )
    problem = assert_problem(r, 422)
    assert problem["detail"].startswith("cursor:")


async def test_a_cursor_with_a_number_for_an_id_is_a_422(api: Api) -> None:
    admin = await api.admin_token()
    r = await fresh_get(api, f"/api/users?cursor={cursor(['2020-01-01T00:00:00+00:00', 5])}", admin)
    assert_problem(r, 422)


async def test_a_deeply_nested_cursor_is_a_422(api: Api) -> None:
    admin = await api.admin_token()
    r = await fresh_get(api, f"/api/users?cursor={cursor('[' * 3000)}", admin)
    assert_problem(r, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/static/../server/app.py",
        "/static/../../server/app.py",
        "/static/%2e%2e/server/app.py",
        "/static/%2e%2e%2fserver%2fapp.py",
        "/static/..%2f..%2fserver%2fapp.py",
        "/static/%252e%252e/server/app.py",
        "/static/..%5c..%5cserver%5capp.py",
        "/static/..\\..\\server\\app.py",
        "/static/%c0%ae%c0%ae/server/app.py",
        "/static/js/%2e%2e/%2e%2e/%2e%2e/server/app.py",
        "/static/vendor/..%2f..%2f..%2f..%2fserver%2fapp.py",
        "/static/./../server/app.py",
        "/static/%00../server/app.py",
        "/static/" + "../" * 12 + "etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/js/student.js%00.png",
        "/api/docs/../../server/app.py",
        "/student/lessons/..%2f..%2fserver%2fapp.py",
    ],
)
async def test_paths_never_leave_the_static_folders(server_url: str, path: str) -> None:
    response = await raw_http(
        server_url, f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode()
    )
    assert status_of(response) in (400, 404), response[:300]
    for secret in (b"create_app", b"root:", b"def ", b"import "):
        assert secret not in response, (path, secret)


async def test_injection_strings_in_changes_passwords_and_filters_stay_literal(api: Api) -> None:
    room = await make_classroom(api, n_students=1, start=False)
    admin, student = room.admin, room.students[0]
    for text in INJECTIONS:
        user = await api.call("PATCH", f"/api/users/{student['id']}", admin, {"name": text})
        assert user["name"] == text
        assert (await api.call("GET", f"/api/users/{student['id']}", admin))["name"] == text
        course = await api.call("PATCH", f"/api/courses/{room.course_id}", admin, {"title": text})
        assert course["title"] == text
        assert (await api.call("GET", f"/api/courses/{room.course_id}", admin))["title"] == text
    # As a password: it signs in as written, and only as written.
    password = INJECTIONS[3]
    await api.call("PATCH", f"/api/users/{student['id']}", admin, {"password": password})
    await api.login(student["email"], password)
    for guess in ("' OR '1'='1", password + " ", password.upper(), "%"):
        r = await api.http.post(
            "/api/auth/login", json={"email": student["email"], "password": guess}
        )
        assert r.status_code == 401, (guess, r.text)
    # As audit filters: matched literally, wildcards included: no entry has such an action.
    for text in [*INJECTIONS, "%", "_%", "user.%", "*"]:
        for name in ("action", "target_id"):
            page = await api.call("GET", f"/api/audit?{name}={quote(text)}", admin)
            assert page["items"] == [], (name, text, page["items"][:1])
    # The same filters with real values find the real entries.
    page = await api.call("GET", f"/api/audit?target_id={student['id']}&action=user.update", admin)
    assert len(page["items"]) == len(INJECTIONS) + 1
    assert {e["action"] for e in page["items"]} == {"user.update"}
