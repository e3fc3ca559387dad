"""Retention: evidence thumbnails past their course's period, and face templates past theirs
(``TL_FACE_RETENTION_DAYS`` after the student's last lesson), are deleted."""

from __future__ import annotations

import asyncio
import logging

from storage import access, faces
from storage import repositories as repo
from storage.db import Sessions
from storage.types import utcnow

logger = logging.getLogger(__name__)

DEFAULT_FACE_RETENTION_DAYS = 365


async def purge_once(
    sessions: Sessions, *, face_retention_days: int = DEFAULT_FACE_RETENTION_DAYS
) -> int:
    """Purge thumbnails; returns how many. Face templates are purged in the same pass."""
    async with sessions() as s, s.begin():
        purged = await repo.purge_thumbnails(s, now=utcnow())
        # Signed-out tokens that have expired anyway need no remembering.
        await access.forget_expired(s, now=utcnow())
    if purged:
        logger.info("purged %d evidence thumbnails past their retention period", purged)
    await purge_face_templates(sessions, retention_days=face_retention_days)
    return purged


async def purge_face_templates(sessions: Sessions, *, retention_days: int) -> int:
    async with sessions() as s, s.begin():
        students = await faces.purge_templates(s, now=utcnow(), retention_days=retention_days)
        for student_id in students:
            await repo.audit(
                s,
                actor_id=None,
                action="face.purge",
                target_type="user",
                target_id=str(student_id),
                detail={"retention_days": retention_days},
            )
    if students:
        logger.info("purged %d face templates past their retention period", len(students))
    return len(students)


async def purge_periodically(
    sessions: Sessions,
    interval_s: float,
    *,
    face_retention_days: int = DEFAULT_FACE_RETENTION_DAYS,
) -> None:
    """Purge now, then every ``interval_s``; a failed run is logged and tried again later."""
    while True:
        try:
            await purge_once(sessions, face_retention_days=face_retention_days)
        except Exception:
            logger.exception("purging past their retention period failed; trying again later")
        await asyncio.sleep(interval_s)
