"""A real server for the security tests, on a free port in a thread, with a known signing key
(so a test can make the tokens an attacker holding it could make) and its event loop at hand
(so a test can change something behind the API's back, as another process would)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn

from server.app import create_app
from server.serving import uvicorn_config
from server.settings import Settings
from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD
from testkit.timing import timeout

KEY = "security-tests-key-4f9c2a7e1b3d5f60718293a4b5c6d7e8f9"
T = TypeVar("T")


@dataclass
class Running:
    url: str
    app: Any
    loop: asyncio.AbstractEventLoop
    settings: Settings

    @property
    def hub(self) -> Any:
        return self.app.other_asgi_app.state.hub

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the server's own event loop and wait for it."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return await asyncio.wrap_future(future)


@contextmanager
def serving(tmp_dir: Path, **overrides: Any) -> Iterator[Running]:
    settings = Settings(
        **{
            "database_url": f"sqlite+aiosqlite:///{tmp_dir / 'security.db'}",
            "admin_email": ADMIN_EMAIL,
            "admin_password": ADMIN_PASSWORD,
            "secret_key": KEY,
            "identity_workers": 0,
            "login_max_failures": 1000,
            "login_max_failures_per_address": 10_000,
            **overrides,
        }
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    server = uvicorn.Server(uvicorn_config(app, settings, log_level="warning", lifespan="on"))
    loop = asyncio.new_event_loop()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(int(timeout(600))):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.05)
    if not server.started:
        raise RuntimeError("the test server did not start")
    try:
        yield Running(f"http://127.0.0.1:{port}", app, loop, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=timeout(30))
        sock.close()
        if not loop.is_running():
            loop.close()
