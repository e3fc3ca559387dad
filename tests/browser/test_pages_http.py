"""The pages and their static files over plain HTTP: security headers, the vendored Socket.IO
client, and no way out of the static folders."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import httpx
import pytest

from server.routes.pages import CONTENT_SECURITY_POLICY, VENDOR
from tests.browser.conftest import skip_or_fail

LESSON = "6f1c8e2a-1b2c-4d5e-8f90-123456789abc"
PAGES = ["/", f"/student/lessons/{LESSON}", f"/tutor/lessons/{LESSON}", "/verify"]


def raw_get(base_url: str, path: str) -> int:
    """GET a path exactly as written (httpx would resolve the dot segments first)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.parametrize("path", PAGES)
def test_pages_allow_only_their_own_origin(server_url: str, path: str) -> None:
    r = httpx.get(server_url + path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert csp == CONTENT_SECURITY_POLICY
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    # No inline script or style for the policy to refuse: everything comes from /static/.
    assert "<script>" not in r.text and "style=" not in r.text and "<style" not in r.text


def test_static_files_carry_the_same_headers(server_url: str) -> None:
    for path, kind in [("/static/js/student.js", "javascript"), ("/static/css/app.css", "css")]:
        r = httpx.get(server_url + path)
        assert r.status_code == 200, path
        assert kind in r.headers["content-type"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_socket_io_client_is_served_from_npm_not_a_cdn(server_url: str) -> None:
    if not (VENDOR / "socket.io.esm.min.js").is_file():
        skip_or_fail("socket.io-client is not installed (run `npm ci` in web_client/)")
    r = httpx.get(server_url + "/static/vendor/socket.io.esm.min.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    assert "Socket.IO v4" in r.text[:200]
    # Only the allowed files of the package, nothing else under node_modules.
    assert httpx.get(server_url + "/static/vendor/socket.io.js").status_code == 404
    assert httpx.get(server_url + "/static/vendor/package.json").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/../package.json",
        "/static/../pyproject.toml",
        "/static/../../pyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/..%2fpages%2findex.html",
        "/static/vendor/..%2f..%2fpackage.json",
        "/static/vendor/%2e%2e%2fsocket.io.js",
        "/static/js/../../package.json",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
    ],
)
def test_no_path_leaves_the_static_folders(server_url: str, path: str) -> None:
    assert raw_get(server_url, path) == 404


@pytest.mark.parametrize("path", ["/student/lessons/not-an-id", "/tutor/lessons/1", "/static/"])
def test_unknown_pages_are_404(server_url: str, path: str) -> None:
    assert httpx.get(server_url + path).status_code == 404
