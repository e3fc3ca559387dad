"""Server processes: their heartbeats, and settling what a stopped one left open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.statuses import PromptStatus
from storage.models import (
    Base,
    PresenceInterval,
    Prompt,
    ServerProcess,
)

_prompts = Base.metadata.tables[Prompt.__tablename__]
_presence = Base.metadata.tables[PresenceInterval.__tablename__]


# -- server processes -----------------------------------------------------------------------------


async def register_process(
    s: AsyncSession, *, process_id: str, host: str, pid: int, at: datetime
) -> None:
    s.add(ServerProcess(id=process_id, host=host, pid=pid, started_at=at, last_seen_at=at))
    await s.flush()


async def heartbeat(s: AsyncSession, *, process_id: str, at: datetime) -> bool:
    """Note that the process is alive; False when its row is gone (it was taken for dead)."""
    result = await s.execute(
        update(ServerProcess).where(ServerProcess.id == process_id).values(last_seen_at=at)
    )
    return bool(getattr(result, "rowcount", 0))


async def process_alive(s: AsyncSession, *, process_id: str | None, seen_after: datetime) -> bool:
    if process_id is None:
        return False
    row = await s.get(ServerProcess, process_id)
    return row is not None and row.last_seen_at >= seen_after


async def processes(s: AsyncSession) -> list[ServerProcess]:
    return list((await s.execute(select(ServerProcess))).scalars())


async def reap_process(s: AsyncSession, *, process: ServerProcess, at: datetime) -> tuple[int, int]:
    """Settle what a dead process left open: its presence intervals end at its last heartbeat,
    its pending prompts are cancelled (the student is prompted afresh wherever they reconnect).
    Returns (intervals closed, prompts cancelled)."""
    closed = await s.execute(
        update(PresenceInterval)
        .where(
            PresenceInterval.process_id == process.id,
            PresenceInterval.disconnected_at.is_(None),
        )
        .values(disconnected_at=process.last_seen_at)
    )
    cancelled = await cancel_process_prompts(s, process_id=process.id, at=at)
    await s.execute(delete(ServerProcess).where(ServerProcess.id == process.id))
    return int(getattr(closed, "rowcount", 0) or 0), cancelled


async def cancel_process_prompts(s: AsyncSession, *, process_id: str, at: datetime) -> int:
    result = await s.execute(
        update(Prompt)
        .where(Prompt.process_id == process_id, Prompt.status == PromptStatus.PENDING)
        .values(status=PromptStatus.CANCELLED, resolved_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def deregister_process(s: AsyncSession, *, process_id: str) -> None:
    await s.execute(delete(ServerProcess).where(ServerProcess.id == process_id))
