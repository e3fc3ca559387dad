"""A test server that can be stopped and started again on the same port and database, so the
pages can be watched losing their connection and getting it back on their own."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from server.app import create_app
from server.settings import Settings
from tests.conftest import timeout
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_at(tmp_dir: Path, port: int) -> Iterator[str]:
    """Serve the app on ``port`` with the SQLite file in ``tmp_dir``; yields the base URL."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_dir / 'restart.db'}",
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    started = threading.Event()
    for _ in range(int(timeout(30) / 0.05)):
        if server.started or not thread.is_alive():
            break
        started.wait(0.05)
    if not server.started:
        raise RuntimeError("the test server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout(30))
        sock.close()
