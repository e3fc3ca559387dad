from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.cluster.services import (
    ServerProcess,
    cluster_env,
    fresh_postgres,
    migrate,
    redis_available,
)
from tests.integration.client import Participant


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def redis_url() -> str:
    return redis_available()


@pytest.fixture
def two_servers(
    postgres_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two server processes sharing one PostgreSQL database and one Redis."""
    migrate(postgres_url)
    env = cluster_env(postgres_url, redis_url)
    a = ServerProcess(env, tmp_path / "a.log").start()
    b = ServerProcess(env, tmp_path / "b.log")
    try:
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


@pytest.fixture
async def opened() -> AsyncIterator[list[Participant]]:
    """Socket.IO connections opened by a test; all closed after it."""
    made: list[Participant] = []
    yield made
    for p in made:
        await p.close()
