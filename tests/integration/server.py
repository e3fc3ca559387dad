"""A real server for the tests: uvicorn on a free port, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from server.app import create_app
from server.serving import uvicorn_config
from server.settings import Settings

ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "admin-password-for-tests"
# The test servers' signing key, so that a test can make the tokens only the key can make.
SECRET_KEY = "integration-tests-key-6b1d9e3f7a2c4e8d0f5a9b3c7e1d2f4a"
_databases: dict[str, str] = {}
_apps: dict[str, Any] = {}


def app_for(base_url: str) -> Any:
    """The app behind a running test server, for tests that inject a fault into it."""
    return _apps[base_url]


def database_url_for(base_url: str) -> str:
    """The database behind a running test server, for tests that check what was stored."""
    return _databases[base_url]


@contextmanager
def running_server(
    tmp_dir: Path, database_url: str | None = None, **overrides: object
) -> Iterator[str]:
    """Serve the app on 127.0.0.1 at a port the OS chose; yields the base URL."""
    settings = Settings(
        database_url=database_url or f"sqlite+aiosqlite:///{tmp_dir / 'test.db'}",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
        # Many tests sign in from one address on one shared server; the limits have their own
        # tests with their own server.
        **{
            "secret_key": SECRET_KEY,
            "login_max_failures": 1000,
            "login_max_failures_per_address": 10_000,
            **overrides,
        },  # type: ignore[arg-type]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    # Configured as `trust-lesson serve` configures it (message limits, no deflate).
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    for _ in range(600):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    if not server.started:
        raise RuntimeError("the test server did not start")
    base_url = f"http://127.0.0.1:{port}"
    _databases[base_url] = settings.database_url
    _apps[base_url] = app
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
