"""The migrations build the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from server.app import create_app
from server.settings import Settings
from storage.db import make_engine
from storage.errors import SchemaOutOfDate
from storage.migrate import differences, is_current, upgrade
from testkit.processes import ROOT


async def _check(url: str) -> None:
    engine = make_engine(url)
    try:
        assert not await is_current(engine)
        await upgrade(engine)
        assert await is_current(engine)
        # Autogenerate finds nothing to add: the migration matches the models exactly.
        assert await differences(engine) == []
        await upgrade(engine)  # again: nothing to do, no error
        async with engine.connect() as conn:
            indexes = await conn.run_sync(
                lambda c: {i["name"] for i in inspect(c).get_indexes("prompts")}
            )
        assert {"uq_prompts_one_pending", "ix_prompts_lesson_status"} <= indexes
    finally:
        await engine.dispose()


async def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    await _check(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


async def test_migrations_match_the_models_on_postgresql(postgres_url: str) -> None:
    await _check(postgres_url)


async def test_a_server_refuses_a_shared_database_that_is_not_migrated(
    postgres_url: str,
) -> None:
    app = create_app(Settings(database_url=postgres_url))
    lifespan = app.other_asgi_app.router.lifespan_context  # type: ignore[attr-defined]
    with pytest.raises(SchemaOutOfDate, match="trust-lesson migrate"):
        async with lifespan(app.other_asgi_app):  # type: ignore[attr-defined]
            pass


def test_migrate_refuses_a_database_made_without_migrations(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id TEXT)")
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env={**os.environ, "TL_DATABASE_URL": f"sqlite+aiosqlite:///{path}"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no migration history" in done.stderr
