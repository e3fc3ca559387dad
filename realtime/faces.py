"""The identity side of a live check: the student's enrolled face, and comparing a frame with it.

A student's approved template is read and opened when they join a lesson here (the vector
stays in this process's memory for the lesson, never sent, never logged). A frame that passed
presence on a prompt that compares identity is described in the identity worker processes and
compared (``identity.flow``); what that does to the prompt is ``identity.flow.frame_decision``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from identity.compare import IdentityResult
from identity.errors import IdentityError
from identity.flow import Enrolled, identify
from identity.pool import IdentityPool
from storage import faces
from storage.db import Sessions
from vision import Verdict

logger = logging.getLogger(__name__)


class TemplateOpener(Protocol):
    """What is needed of ``identity.crypto.TemplateCipher``."""

    def open_template(self, sealed: bytes, *, student_id: uuid.UUID) -> object: ...


class FaceChecks:
    def __init__(
        self, *, sessions: Sessions, pool: IdentityPool | None, cipher: TemplateOpener | None
    ) -> None:
        """``pool`` None: identity is switched off on this server (``TL_IDENTITY_WORKERS=0``):
        every prompt is presence only."""
        self._sessions = sessions
        self._pool = pool
        self._cipher = cipher

    @property
    def enabled(self) -> bool:
        return self._pool is not None and self._cipher is not None

    async def enrolled(self, student_id: uuid.UUID) -> Enrolled:
        """The student's enrolment as a live check needs it."""
        if not self.enabled:
            return Enrolled(None)
        async with self._sessions() as s:
            found = await faces.approved_template(s, student_id=student_id)
        if found is None:
            return Enrolled(None)
        state, sealed, model = found
        if sealed is None:
            return Enrolled(state.value)
        assert self._cipher is not None
        try:
            vector = self._cipher.open_template(sealed, student_id=student_id)
        except Exception:
            # A template this server cannot open (another key): presence only, and said so.
            logger.error("the face template of student %s cannot be opened", student_id)
            return Enrolled(None)
        return Enrolled(state.value, vector, model)  # type: ignore[arg-type]

    async def compare(self, enrolled: Enrolled, image: bytes, verdict: Verdict) -> IdentityResult:
        """Describe the student's face in the frame and compare; raises
        ``identity.IdentitySaturated`` when the workers are full."""
        assert self._pool is not None and verdict.box is not None
        return await identify(self._pool, enrolled, image, verdict.box)


__all__ = ["FaceChecks", "IdentityError"]
