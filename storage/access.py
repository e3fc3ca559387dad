"""Who still holds a token: the user's token version, signed-out tokens, disabled accounts.

Every HTTP request and every socket join asks :func:`token_user`; the writes that end tokens
(:func:`end_all_tokens`, :func:`revoke_token`) are made in the same transaction as the change
that calls for them.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RevokedToken, User


async def token_user(
    s: AsyncSession, *, user_id: uuid.UUID, version: int, token_id: str
) -> User | None:
    """The token's user if the token still stands: the user exists, is enabled, has not had
    their tokens ended since it was issued, and has not signed this one out."""
    user = await s.get(User, user_id, populate_existing=True)
    if user is None or user.disabled or user.token_version != version:
        return None
    revoked = await s.scalar(select(RevokedToken.token_id).where(RevokedToken.token_id == token_id))
    return None if revoked is not None else user


def end_all_tokens(user: User) -> None:
    """Every token issued to ``user`` so far stops working (flushed with the session)."""
    user.token_version = user.token_version + 1


async def revoke_token(
    s: AsyncSession, *, token_id: str, user_id: uuid.UUID, expires_at: datetime
) -> None:
    """One token stops working; signing out twice is not an error."""
    values = {"token_id": token_id, "user_id": user_id, "expires_at": expires_at}
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        await s.execute(pg_insert(RevokedToken).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        await s.execute(sqlite_insert(RevokedToken).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - only the two backends above are supported
        if await s.get(RevokedToken, token_id) is None:
            s.add(RevokedToken(**values))


async def forget_expired(s: AsyncSession, *, now: datetime) -> int:
    """Drop signed-out tokens that have expired anyway; how many."""
    result = await s.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
