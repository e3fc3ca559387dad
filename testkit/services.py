"""The PostgreSQL and Redis of this machine, for the tests that need the production database or
several processes.

Each use gets its own freshly created PostgreSQL database (dropped afterwards) and its own Redis
channel prefix, so the services are never disturbed. Without them the tests skip with the
reason, except under CI (CI=true), where a missing service is a failure: .ci/run starts them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from testkit.processes import ROOT, admin_env
from testkit.timing import timeout

PG_ADMIN_URL = os.environ.get(
    "TL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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
    """The Redis URL, once it answers a ping."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        _unavailable("Redis", exc)
    finally:
        client.close()
    return REDIS_URL


def cluster_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    """The settings of one of several server processes sharing a database (and Redis)."""
    env = {
        **admin_env(database_url),
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
    """``trust-lesson migrate`` on ``database_url``, as an operator runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env={**os.environ, "TL_DATABASE_URL": database_url},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(120),
    )
    assert done.returncode == 0, done.stderr
