"""Another site's page calling the API or opening a socket, as a browser would send it: with
its Origin, a preflight first for anything but a simple request, and over long-polling (where
the pages start) as well as WebSocket. Only the server's own origin, and the origins in
TL_CORS_ORIGINS, get an Access-Control-Allow-Origin; every other is refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import socketio

from testkit.api import Api, make_classroom
from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD, running_server
from testkit.timing import timeout

PARTNER = "https://partner.example"
FOREIGN = ["https://evil.example", "http://127.0.0.1.evil.example", "null"]
POLLING = {"EIO": "4", "transport": "polling"}


@pytest.fixture(scope="module")
def partner_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("origins"), cors_origins=[PARTNER]) as url:
        yield url


def preflight(http: httpx.Client, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return http.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": "authorization, content-type",
        },
    )


def sign_in(http: httpx.Client, origin: str) -> httpx.Response:
    return http.post(
        "/api/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        headers={"origin": origin},
    )


def open_polling(http: httpx.Client, origin: str) -> httpx.Response:
    return http.get("/socket.io/", params=POLLING, headers={"origin": origin})


def allowed(r: httpx.Response) -> str | None:
    return r.headers.get("access-control-allow-origin")


@pytest.mark.parametrize("origin", [*FOREIGN, PARTNER])
def test_by_default_no_other_origin_may_call_the_api_or_open_a_socket(
    server_url: str, origin: str
) -> None:
    with httpx.Client(base_url=server_url, timeout=timeout(30)) as http:
        for path, method in (("/api/auth/login", "POST"), ("/api/me", "GET")):
            r = preflight(http, path, origin, method)
            assert allowed(r) is None and r.status_code >= 400, (path, r.status_code, r.headers)
        # A request sent anyway is answered, but the browser may not let the page read it.
        assert allowed(sign_in(http, origin)) is None
        assert allowed(http.get("/api/health", headers={"origin": origin})) is None
        polling = open_polling(http, origin)
        assert polling.status_code == 400 and allowed(polling) is None, polling.text
        assert "not an accepted origin" in polling.text
        # The server's own pages still open their socket over long-polling.
        own = open_polling(http, server_url)
        assert own.status_code == 200 and own.text.startswith("0{"), own.text
        assert allowed(own) == server_url


@pytest.mark.parametrize("origin", FOREIGN)
def test_a_configured_origin_is_let_in_and_no_other(partner_url: str, origin: str) -> None:
    with httpx.Client(base_url=partner_url, timeout=timeout(30)) as http:
        for path, method in (("/api/auth/login", "POST"), ("/api/me", "GET")):
            ok = preflight(http, path, PARTNER, method)
            assert ok.status_code == 200 and allowed(ok) == PARTNER, (path, ok.headers)
            refused = preflight(http, path, origin, method)
            assert refused.status_code >= 400 and allowed(refused) is None, (path, refused.headers)
        signed_in = sign_in(http, PARTNER)
        assert signed_in.status_code == 200 and allowed(signed_in) == PARTNER
        assert allowed(sign_in(http, origin)) is None
        partner = open_polling(http, PARTNER)
        assert partner.status_code == 200 and allowed(partner) == PARTNER, partner.text
        foreign = open_polling(http, origin)
        assert foreign.status_code == 400 and allowed(foreign) is None, foreign.text
        own = open_polling(http, partner_url)
        assert own.status_code == 200 and allowed(own) == partner_url


def test_the_api_answers_cors_only_for_configured_origins(partner_url: str) -> None:
    with httpx.Client(base_url=partner_url, timeout=timeout(30)) as http:
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


async def test_sockets_open_only_from_the_own_or_configured_origins(partner_url: str) -> None:
    async with Api(partner_url) as api:
        room = await make_classroom(api, n_students=1)
        token = room.students[0]["token"]
        assert await _socket_from(partner_url, partner_url, token, room.lesson_id)
        assert await _socket_from(partner_url, "https://partner.example", token, room.lesson_id)
        assert not await _socket_from(partner_url, "https://evil.example", token, room.lesson_id)


async def test_by_default_only_the_own_origin_may_open_a_socket(api: Api, server_url: str) -> None:
    room = await make_classroom(api, n_students=1)
    token = room.students[0]["token"]
    assert await _socket_from(server_url, server_url, token, room.lesson_id)
    assert not await _socket_from(server_url, "https://evil.example", token, room.lesson_id)
