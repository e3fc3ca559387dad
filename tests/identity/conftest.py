from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from testkit.api import Api
from testkit.server import running_server


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with one identity worker process."""
    with running_server(tmp_path_factory.mktemp("identity"), identity_workers=1) as url:
        yield url


@pytest.fixture
async def api(server_url: str) -> AsyncIterator[Api]:
    client = Api(server_url)
    yield client
    await client.close()
