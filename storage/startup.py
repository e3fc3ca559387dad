"""Start-up work that several processes may run at the same moment.

Processes started together on an empty database each create the schema (SQLite), the first
admin and the demo. Each of these checks first and writes only what is missing, but between
the check and the write another process may have written it: a unique key taken, or SQLite
busy. :func:`once` runs such work again in a fresh transaction, where it finds the other
process's rows and writes nothing. :func:`migration_lock` lets one process at a time migrate.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.db import Sessions

logger = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 8
# An arbitrary, fixed key for PostgreSQL's advisory lock held while migrating.
MIGRATION_LOCK_KEY = 0x7472_7573_746C


async def once(sessions: Sessions, work: Callable[[AsyncSession], Awaitable[T]], what: str) -> T:
    """Run ``work`` in a transaction; when another process raced it to the same rows, again."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with sessions() as s, s.begin():
                return await work(s)
        except (IntegrityError, OperationalError) as exc:
            if attempt == ATTEMPTS or not _raced(exc):
                raise
            logger.info("%s: another process got there first (%s); looking again", what, exc.orig)
            # Apart, so two processes that collided do not collide again in step.
            await asyncio.sleep(random.uniform(0.05, 0.3) * attempt)
    raise AssertionError("unreachable")


async def one_at_a_time(s: AsyncSession, name: str) -> None:
    """Hold, until this transaction ends, a lock that other processes doing ``name`` wait for.

    PostgreSQL reads what others committed after this transaction began (READ COMMITTED): a
    process that found nothing could otherwise go on to find the rows another just committed
    and add a second set beside them. SQLite needs no lock: its writers take turns, and one
    whose reads went stale is refused (and :func:`once` runs it again)."""
    if (await s.connection()).dialect.name == "postgresql":
        await s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def _raced(exc: IntegrityError | OperationalError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    message = str(exc.orig).lower()
    return "locked" in message or "busy" in message


@contextlib.asynccontextmanager
async def migration_lock(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that no other process migrating the same database shares:
    PostgreSQL's advisory lock, or for SQLite (one host) a lock on a file beside the database."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
            yield conn
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        async with engine.begin() as conn:
            yield conn
        return
    lock_path = f"{database}.migrate-lock"
    fd = await asyncio.to_thread(os.open, lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        # Blocking until the other process is done: in a thread, not on the event loop.
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        async with engine.begin() as conn:
            yield conn
    finally:
        os.close(fd)  # and with it the lock
