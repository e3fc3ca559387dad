"""The engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessions = async_sessionmaker[AsyncSession]


# SQLite: connections are a file handle and a thread each, cheap to keep. With the default pool
# (5, and 10 more made and closed on demand), a class joining at once opened and closed a
# connection, and a thread, for most of its students.
SQLITE_POOL = {"pool_size": 20, "max_overflow": 20}


def make_engine(url: str) -> AsyncEngine:
    sqlite = url.startswith("sqlite")
    options: dict[str, Any] = SQLITE_POOL if sqlite else {"pool_pre_ping": True}
    engine = create_async_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_sessions(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)
