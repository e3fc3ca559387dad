"""Process liveness on the database's clock.

Each process's heartbeat is stamped with the database's time, and "stopped beating" is
judged on it too, so a process whose own clock runs ahead or behind is neither taken for dead
nor takes others for dead. (SQLite lives inside the process and shares its clock; it serves
one host, where there is one clock to disagree with.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ServerProcess


async def database_now(s: AsyncSession) -> datetime:
    """The database's time (PostgreSQL: the transaction's start), as aware UTC."""
    if (await s.connection()).dialect.name != "postgresql":
        return datetime.now(UTC)
    value = await s.scalar(select(func.now()))
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


async def register(s: AsyncSession, *, process_id: str, host: str, pid: int) -> datetime:
    at = await database_now(s)
    s.add(ServerProcess(id=process_id, host=host, pid=pid, started_at=at, last_seen_at=at))
    await s.flush()
    return at


async def beat(s: AsyncSession, *, process_id: str) -> bool:
    """Stamp the heartbeat; False when the row is gone (the process was taken for dead)."""
    at = await database_now(s)
    result = await s.execute(
        update(ServerProcess).where(ServerProcess.id == process_id).values(last_seen_at=at)
    )
    return bool(getattr(result, "rowcount", 0))


async def silent_since(s: AsyncSession, *, stale_after: timedelta) -> datetime:
    """Processes not seen since this moment (database time) have stopped beating."""
    return await database_now(s) - stale_after


async def process_alive(s: AsyncSession, *, process_id: str | None, stale_after: timedelta) -> bool:
    if process_id is None:
        return False
    row = await s.get(ServerProcess, process_id)
    return row is not None and row.last_seen_at >= await silent_since(s, stale_after=stale_after)
