"""The audit trail: who did what, and when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AuditEntry,
    User,
)
from storage.pages import Order, Page, Position, keyset_page

# -- audit --------------------------------------------------------------------------------------


async def audit(
    s: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    s.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )


AUDIT_ORDER = Order([AuditEntry.at, AuditEntry.id], descending=True)


async def audit_page(
    s: AsyncSession,
    *,
    target_id: str | None,
    action: str | None,
    after: Position | None,
    limit: int,
) -> Page[tuple[AuditEntry, str | None]]:
    """The audit trail, newest first, with each actor's email."""
    stmt = select(AuditEntry, User.email).outerjoin(User, User.id == AuditEntry.actor_id)
    if target_id is not None:
        stmt = stmt.where(AuditEntry.target_id == target_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    return await keyset_page(s, stmt, AUDIT_ORDER, after=after, limit=limit, scalars=False)
