"""The app under a real uvicorn, in a thread with its own event loop, on 127.0.0.1.

Configured as ``trust-lesson serve`` configures it (`server.serving.uvicorn_config`: the
socket message limit checked from the frame header, no per-message deflate, the leaner
WebSocket protocol), so the tests meet the server as clients do.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from server.app import create_app
from server.serving import uvicorn_config
from server.settings import Settings
from testkit.ports import listening_socket
from testkit.timing import timeout

ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "admin-password-for-tests"
# The test servers' token secret, so that a test can make the tokens only the secret can make.
SECRET_KEY = "integration-tests-key-6b1d9e3f7a2c4e8d0f5a9b3c7e1d2f4a"
# Many tests sign in from one address on one shared server; the limits have their own tests
# with their own server.
RELAXED_SIGN_IN = {"login_max_failures": 1000, "login_max_failures_per_address": 10_000}

_apps: dict[str, Any] = {}
_databases: dict[str, str] = {}


def app_for(base_url: str) -> Any:
    """The app behind a running test server, for tests that inject a fault into it."""
    return _apps[base_url]


def database_url_for(base_url: str) -> str:
    """The database behind a running test server, for tests that check what was stored."""
    return _databases[base_url]


def settings_for(database_url: str, **overrides: Any) -> Settings:
    """The server's settings with the tests' administrator, and ``overrides``."""
    return Settings(
        database_url=database_url,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        # No identity worker process unless a test asks for one: starting it (spawning a
        # process, loading dlib's models) would cost every test server seconds.
        **{"secret_key": SECRET_KEY, "identity_workers": 0, **overrides},
    )


@contextmanager
def serve(
    settings: Settings, *, port: int = 0, graceful_shutdown_s: int | None = None
) -> Iterator[str]:
    """Serve the app built from ``settings`` at ``port`` (0: one the OS chooses); yields the
    base URL. ``graceful_shutdown_s`` bounds the wait for requests still running at shutdown
    (for a test that leaves one hanging on purpose)."""
    sock = listening_socket(port)
    app = create_app(settings)
    config = uvicorn_config(
        app,
        settings,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    waiting = threading.Event()
    for _ in range(int(timeout(30) / 0.05)):
        if server.started or not thread.is_alive():
            break
        waiting.wait(0.05)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    _apps[base_url], _databases[base_url] = app, settings.database_url
    try:
        if not server.started:
            raise RuntimeError("the test server did not start")
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=timeout(30))
        sock.close()
        _apps.pop(base_url, None)
        _databases.pop(base_url, None)


@contextmanager
def running_server(
    tmp_dir: Path, database_url: str | None = None, **overrides: Any
) -> Iterator[str]:
    """The app on a SQLite file in ``tmp_dir`` (or ``database_url``), with sign-in limits
    relaxed for tests that sign in many times; yields the base URL."""
    settings = settings_for(
        database_url or f"sqlite+aiosqlite:///{tmp_dir / 'test.db'}",
        **{**RELAXED_SIGN_IN, **overrides},
    )
    with serve(settings) as url:
        yield url
