"""Sign-in brute force is limited per account and per address; which origins may call the API
and open sockets is a setting, same-origin by default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import socketio

from tests.conftest import timeout
from tests.integration.client import PASSWORD, Api, make_classroom
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD, running_server


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[str]:
    with running_server(
        tmp_path,
        login_max_failures=3,
        login_max_failures_per_address=8,
        login_window_s=60,
        cors_origins=["https://partner.example"],
    ) as url:
        yield url


def login(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/api/auth/login", json={"email": email, "password": password})


def test_failed_sign_ins_are_limited_per_account_then_per_address(strict_server: str) -> None:
    with httpx.Client(base_url=strict_server, timeout=timeout(30)) as http:
        for _ in range(3):
            assert login(http, ADMIN_EMAIL, "wrong password").status_code == 401
        limited = login(http, ADMIN_EMAIL, "wrong password")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "try again in" in limited.json()["detail"]
        # Even the right password waits: the account is locked for the window, not the guess.
        assert login(http, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 429
        # An unknown email is limited the same way: a 429 tells nothing about who exists.
        for _ in range(3):
            assert login(http, "nobody@x.example", "guess").status_code == 401
        assert login(http, "nobody@x.example", "guess").status_code == 429
        # Spread over many accounts, the address runs out too (8 failures counted so far: 6).
        assert login(http, "a@x.example", "guess").status_code == 401
        assert login(http, "b@x.example", "guess").status_code == 401
        assert login(http, "c@x.example", "guess").status_code == 429


async def test_a_successful_sign_in_clears_the_accounts_failures(strict_server: str) -> None:
    api = Api(strict_server)
    try:
        room = await make_classroom(api, n_students=1, start=False)
        email = room.students[0]["email"]
        for _ in range(2):
            r = await api.http.post("/api/auth/login", json={"email": email, "password": "nope"})
            assert r.status_code == 401
        await api.login(email, PASSWORD)
        for _ in range(2):
            r = await api.http.post("/api/auth/login", json={"email": email, "password": "nope"})
            assert r.status_code == 401  # counting starts again
    finally:
        await api.close()


def test_the_api_answers_cors_only_for_configured_origins(strict_server: str) -> None:
    with httpx.Client(base_url=strict_server, timeout=timeout(30)) as http:
        preflight = {"access-control-request-method": "GET"}
        ok = http.options("/api/me", headers={"origin": "https://partner.example", **preflight})
        assert ok.headers.get("access-control-allow-origin") == "https://partner.example"
        evil = http.get("/api/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in evil.headers


async def _socket_from(url: str, origin: str, token: str, lesson_id: str) -> bool:
    client = socketio.AsyncClient()
    try:
        await client.connect(
            url,
            namespaces=["/student"],
            headers={"Origin": origin},
            auth={"token": token, "lesson_id": lesson_id},
            transports=["websocket"],
            wait_timeout=timeout(10),
        )
        return True
    except socketio.exceptions.ConnectionError:
        return False
    finally:
        await client.disconnect()
        if client.eio.http is not None and not client.eio.http.closed:
            await client.eio.http.close()


async def test_sockets_open_only_from_the_own_or_configured_origins(strict_server: str) -> None:
    api = Api(strict_server)
    try:
        room = await make_classroom(api, n_students=1)
        token = room.students[0]["token"]
        assert await _socket_from(strict_server, strict_server, token, room.lesson_id)
        assert await _socket_from(strict_server, "https://partner.example", token, room.lesson_id)
        assert not await _socket_from(strict_server, "https://evil.example", token, room.lesson_id)
    finally:
        await api.close()


async def test_by_default_only_the_own_origin_may_open_a_socket(api: Api, server_url: str) -> None:
    room = await make_classroom(api, n_students=1)
    token = room.students[0]["token"]
    assert await _socket_from(server_url, server_url, token, room.lesson_id)
    assert not await _socket_from(server_url, "https://evil.example", token, room.lesson_id)
