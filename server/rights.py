"""When someone's rights change over HTTP, their open sockets follow at once.

A socket's rights are checked when it joins (``realtime.admission``) and again at each tutor's
action (``realtime.rights``). Every route that takes a right away (a course given to another
tutor, a student unenrolled, a new role or password, a disabled account, signing out) calls
:func:`rights_changed` after its transaction commits: on every process the user's connections
are checked again and those no longer allowed are closed; the pages reconnect on their own and
are admitted again only if they still may.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Protocol

logger = logging.getLogger(__name__)


class Rechecks(Protocol):
    async def rights_changed(
        self, *, user_id: uuid.UUID | None = None, course_id: uuid.UUID | None = None
    ) -> int: ...


async def rights_changed(
    hub: Rechecks, user_ids: Iterable[uuid.UUID], *, course_id: uuid.UUID | None = None
) -> int:
    """Check the sockets of these users again on every process, closing those no longer
    allowed; how many were closed. ``course_id`` names the course whose tutor or enrolments
    changed (the hub forgets what it cached about it)."""
    closed = 0
    for user_id in dict.fromkeys(user_ids):
        try:
            closed += await hub.rights_changed(user_id=user_id, course_id=course_id)
        except Exception:
            # The change is committed and a rejoin is checked against it; only sockets already
            # open may linger, so say so loudly rather than fail the request.
            logger.error("could not close the sockets of user %s", user_id, exc_info=True)
    return closed
