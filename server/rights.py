"""When someone's rights change over HTTP, their open sockets follow at once.

A socket's rights are checked when it joins (``realtime.hub.LessonHub.authenticate``). Every
route that takes a right away (a course given to another tutor, a student unenrolled, a new
role or password, a disabled account, signing out) calls :func:`rights_changed` after its
transaction commits: the user's connections close on every process, the pages reconnect on
their own, and each is admitted again only if it still may.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Protocol

logger = logging.getLogger(__name__)


class Disconnects(Protocol):
    async def disconnect_user(self, user_id: uuid.UUID) -> int: ...


async def rights_changed(
    hub: Disconnects, user_ids: Iterable[uuid.UUID], *, course_id: uuid.UUID | None = None
) -> int:
    """Close every socket of these users on every process; how many were closed.

    ``course_id`` names the course whose rights changed (its tutor, its enrolments), for the
    hub's per-lesson rights cache once actions are re-checked at call time; today every socket
    of the users closes, and each rejoin is checked afresh.
    """
    closed = 0
    for user_id in dict.fromkeys(user_ids):
        try:
            closed += await hub.disconnect_user(user_id)
        except Exception:
            # The change is committed and a rejoin is checked against it; only sockets already
            # open may linger, so say so loudly rather than fail the request.
            logger.error("could not close the sockets of user %s", user_id, exc_info=True)
    return closed
