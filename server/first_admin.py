"""The first admin, created at start-up from the environment."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from server.security import hash_password
from server.settings import Settings
from storage import repositories as repo
from storage.db import Sessions
from storage.models import Role
from storage.startup import once, one_at_a_time

logger = logging.getLogger(__name__)


async def create_first_admin(sessions: Sessions, settings: Settings) -> None:
    """Create the admin named by TL_ADMIN_EMAIL/TL_ADMIN_PASSWORD when no admin exists."""
    if not settings.admin_email or not settings.admin_password:
        return
    async with sessions() as s:
        if await repo.any_admin(s):
            return
    password_hash = await hash_password(settings.admin_password)

    async def create(s: AsyncSession) -> bool:
        await one_at_a_time(s, "creating the first admin")
        if await repo.any_admin(s):
            return False
        if await repo.get_user_by_email(s, email=email) is not None:
            logger.warning("TL_ADMIN_EMAIL %s belongs to a non-admin user; no admin created", email)
            return False
        await repo.add_user(
            s, email=email, name="Administrator", role=Role.ADMIN, password_hash=password_hash
        )
        return True

    email = settings.admin_email
    # Processes started together all come here: one creates the admin, the others find it.
    if await once(sessions, create, "creating the first admin"):
        logger.info("created the admin %s", email)
