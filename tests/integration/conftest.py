from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.integration.client import Api, Participant
from tests.integration.server import running_server


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture
async def api(server_url: str) -> AsyncIterator[Api]:
    client = Api(server_url)
    yield client
    await client.close()


@pytest.fixture
async def participants(server_url: str) -> AsyncIterator[list[Participant]]:
    """Connections opened by a test; all closed after it."""
    made: list[Participant] = []
    yield made
    for p in made:
        await p.close()


@pytest.fixture
def tmp_db(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
