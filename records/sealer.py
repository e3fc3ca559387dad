"""When lessons are sealed: on their end (the HTTP route, the realtime end), after each review
decision, and by a periodic task in every process (live lessons, and ended lessons whose last
seal came before their end or still had open records)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from records import TamperDetected
from records.keys import SigningKey, b64url, raw_public
from records.seal import seal_lesson
from storage import sealing
from storage.db import Sessions
from storage.models import Lesson, LessonStatus
from storage.types import utcnow

logger = logging.getLogger(__name__)

# Ended lessons are sealed again, when something changed, for this long after their end:
# writes that land late (a verdict held while the database was away) are sealed too.
SETTLING = timedelta(hours=1)
# And looked at this long after their end while a record is still open (the presence of a
# student whose connection was closing), until it closes.
RESEAL_WINDOW = timedelta(days=2)


async def publish_key(sessions: Sessions, key: SigningKey) -> None:
    """Publish the key's public half, for as long as the database lives."""
    try:
        async with sessions() as s, s.begin():
            await sealing.publish_key(s, kid=key.kid, public_key=b64url(raw_public(key.public)))
    except IntegrityError:
        pass  # another process published it at the same moment


async def seal_due(sessions: Sessions, key: SigningKey) -> int:
    """Seal every lesson that is due; the number of new seal links."""
    now = utcnow()
    async with sessions() as s:
        due = await sealing.lessons_to_seal(
            s, ended_after=now - RESEAL_WINDOW, settling_after=now - SETTLING
        )
    made = 0
    for lesson_id in due:
        try:
            async with sessions() as s:
                lesson = await s.get(Lesson, lesson_id)
                reason = "end" if lesson and lesson.status is LessonStatus.ENDED else "interval"
            if await seal_lesson(sessions, lesson_id, key, reason=reason) is not None:
                made += 1
        except TamperDetected:
            pass  # logged as an error by seal_lesson; the lesson keeps its last good seal
        except Exception:
            logger.exception("lesson %s: sealing failed", lesson_id)
    return made


async def seal_periodically(sessions: Sessions, key: SigningKey, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            await seal_due(sessions, key)
        except Exception:
            logger.exception("sealing the due lessons failed")


async def seal_now(sessions: Sessions, lesson_id: uuid.UUID, key: SigningKey, reason: str) -> None:
    """Seal one lesson at once (its end, a review decision); a failure is logged, never raised:
    the periodic task tries again."""
    try:
        await seal_lesson(sessions, lesson_id, key, reason=reason)
    except TamperDetected:
        pass  # logged as an error by seal_lesson
    except Exception:
        logger.exception(
            "lesson %s: sealing (%s) failed; the periodic task retries", lesson_id, reason
        )
