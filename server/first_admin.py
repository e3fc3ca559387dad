"""The first admin, created at start-up from the environment."""

from __future__ import annotations

import logging

from server.security import hash_password
from server.settings import Settings
from storage import repositories as repo
from storage.db import Sessions
from storage.models import Role

logger = logging.getLogger(__name__)


async def create_first_admin(sessions: Sessions, settings: Settings) -> None:
    """Create the admin named by TL_ADMIN_EMAIL/TL_ADMIN_PASSWORD when no admin exists."""
    if not settings.admin_email or not settings.admin_password:
        return
    async with sessions() as s, s.begin():
        if await repo.any_admin(s):
            return
        if await repo.get_user_by_email(s, email=settings.admin_email) is not None:
            logger.warning(
                "TL_ADMIN_EMAIL %s belongs to a non-admin user; no admin created",
                settings.admin_email,
            )
            return
        await repo.add_user(
            s,
            email=settings.admin_email,
            name="Administrator",
            role=Role.ADMIN,
            password_hash=await hash_password(settings.admin_password),
        )
    logger.info("created the admin %s", settings.admin_email)
