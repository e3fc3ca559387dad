"""Evidence retention: thumbnails older than their course's retention period are deleted."""

from __future__ import annotations

import asyncio
import logging

from storage import access
from storage import repositories as repo
from storage.db import Sessions
from storage.types import utcnow

logger = logging.getLogger(__name__)


async def purge_once(sessions: Sessions) -> int:
    async with sessions() as s, s.begin():
        purged = await repo.purge_thumbnails(s, now=utcnow())
        # Signed-out tokens that have expired anyway need no remembering.
        await access.forget_expired(s, now=utcnow())
    if purged:
        logger.info("purged %d evidence thumbnails past their retention period", purged)
    return purged


async def purge_periodically(sessions: Sessions, interval_s: float) -> None:
    """Purge now, then every ``interval_s``; a failed run is logged and tried again later."""
    while True:
        try:
            await purge_once(sessions)
        except Exception:
            logger.exception("purging evidence thumbnails failed; trying again later")
        await asyncio.sleep(interval_s)
