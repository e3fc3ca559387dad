"""Real PostgreSQL and Redis for the scale-out tests, and real server processes.

Each test run gets its own freshly created PostgreSQL database (dropped afterwards) and its
own Redis channel prefix. Without the services the tests skip with the reason, except under
CI (CI=true), where a missing service is a failure: .ci/run starts them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import timeout
from tests.integration.server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRET_KEY

PG_ADMIN_URL = os.environ.get(
    "TL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parents[2]


def _unavailable(what: str, exc: BaseException) -> None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{what} is required under CI (.ci/run starts it): {exc}") from exc
    pytest.skip(f"{what} not reachable ({exc}); start it or run .ci/run")


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def fresh_postgres() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"tl_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        _unavailable("PostgreSQL", exc)
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_available() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """`trust-lesson serve` in its own process, as in production."""

    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.port = free_port()
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout(90)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, within: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout(within))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout(30))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cluster_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        "TL_DATABASE_URL": database_url,
        # Processes sharing a database share the key that signs tokens.
        "TL_SECRET_KEY": SECRET_KEY,
        "TL_ADMIN_EMAIL": ADMIN_EMAIL,
        "TL_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "TL_VISION_WORKERS": "1",
        # Quick to notice a killed process, so the test does not wait long.
        "TL_HEARTBEAT_S": "0.5",
        "TL_PROCESS_STALE_S": "3",
        "TL_DRAIN_TIMEOUT_S": "20",
        "TL_MESSAGE_QUEUE_CHANNEL": f"tl-test-{secrets.token_hex(4)}",
    }
    if redis_url:
        env["TL_MESSAGE_QUEUE_URL"] = redis_url
    return env


def migrate(database_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env={**os.environ, "TL_DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(120),
    )
    assert done.returncode == 0, done.stderr
