from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records.keys import SigningKey
from records.sealer import publish_key
from storage.db import Sessions, make_engine, make_sessions
from storage.migrate import upgrade
from testkit.services import fresh_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'records.db'}"
    else:
        with fresh_postgres() as url:
            yield url


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.of(Ed25519PrivateKey.generate())


@pytest.fixture
async def sessions(database_url: str, key: SigningKey) -> AsyncIterator[Sessions]:
    engine = make_engine(database_url)
    await upgrade(engine)
    made = make_sessions(engine)
    await publish_key(made, key)
    yield made
    await engine.dispose()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real server on SQLite: its URL and its database file."""
    from testkit.server import running_server

    tmp = tmp_path_factory.mktemp("records-server")
    with running_server(tmp) as url:
        yield url, tmp / "test.db"
