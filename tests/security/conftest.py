from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from testkit.api import Api
from testkit.participants import Participant
from tests.security.serving import Running, serving


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(tmp_path_factory.mktemp("security")) as r:
        yield r


@pytest.fixture
async def api(running: Running) -> AsyncIterator[Api]:
    client = Api(running.url)
    yield client
    await client.close()


@pytest.fixture
async def participants() -> AsyncIterator[list[Participant]]:
    made: list[Participant] = []
    yield made
    for p in made:
        await p.close()
