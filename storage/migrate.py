"""Schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.errors import StorageError
from storage.models import Base
from storage.startup import migration_lock

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class UnversionedDatabase(StorageError):
    """The database has tables but no migration history: made by something else."""


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    tables = set(inspect(connection).get_table_names())
    if tables and "alembic_version" not in tables:
        raise UnversionedDatabase(
            "this database has tables but no migration history (an old development database?); "
            "start from an empty database"
        )
    command.upgrade(_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema up to date: create it in an empty database, or apply what is new.
    Processes doing this at once on one database take turns; the later ones find it done."""
    async with migration_lock(engine) as conn:
        await conn.run_sync(_upgrade)


def _current(connection: Connection) -> bool:
    script = ScriptDirectory.from_config(_config(connection))
    context = MigrationContext.configure(connection)
    return set(context.get_current_heads()) == set(script.get_heads())


async def is_current(engine: AsyncEngine) -> bool:
    """Whether every migration has been applied."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


def _revision(connection: Connection) -> str | None:
    heads = MigrationContext.configure(connection).get_current_heads()
    return ", ".join(sorted(heads)) or None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema's revision in the database (None before the first migration)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_revision)


def head_revision() -> str:
    """The newest revision this code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ", ".join(sorted(ScriptDirectory.from_config(config).get_heads()))


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def differences(engine: AsyncEngine) -> list[Any]:
    """What the models have that the database lacks (or the reverse); empty when in step."""
    async with engine.connect() as conn:
        return await conn.run_sync(_differences)


def revise(connection: Connection, message: str) -> None:
    """Write a new migration from the models (for developers: see README)."""
    command.revision(_config(connection), message=message, autogenerate=True)
