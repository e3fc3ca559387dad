"""Another site's page calling the API or opening a socket, as a browser would send it: with
its Origin, a preflight first for anything but a simple request, and over long-polling (where
the pages start) as well as WebSocket. Only the server's own origin, and the origins in
TL_CORS_ORIGINS, get an Access-Control-Allow-Origin; every other is refused. (Sockets over
WebSocket: tests/hardening/test_limits_and_origins.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import timeout
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD, running_server

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
