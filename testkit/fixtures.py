"""The pytest fixtures the test folders share; tests/conftest.py loads them as a plugin.

- ``server_url``: one real server for the whole run (SQLite, relaxed sign-in limits);
- ``api``: an API client of it; ``api_to``: clients of other servers, closed after the test;
- ``participants``: Socket.IO connections a test opens, closed after it;
- ``postgres_url``, ``redis_url``: a fresh PostgreSQL database and the machine's Redis (the
  test skips without them, and fails under CI);
- ``two_servers``: two server processes sharing that database and Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from testkit.api import Api
from testkit.participants import Participant
from testkit.processes import ServerProcess
from testkit.server import running_server
from testkit.services import cluster_env, fresh_postgres, migrate, redis_available


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
async def api_to() -> AsyncIterator[Callable[[str], Api]]:
    """``api_to(url)``: an API client of the server at ``url``, closed after the test."""
    made: list[Api] = []

    def make(base_url: str) -> Api:
        made.append(Api(base_url))
        return made[-1]

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def api(server_url: str, api_to: Callable[[str], Api]) -> Api:
    return api_to(server_url)


@pytest.fixture
async def participants() -> AsyncIterator[list[Participant]]:
    """Connections opened by a test; all closed after it."""
    made: list[Participant] = []
    yield made
    for p in made:
        await p.close()


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
