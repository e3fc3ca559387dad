"""One process writing a lesson and sealing it after each write (run twice at once by
test_concurrency): ``python -m tests.records.writer URL LESSON STUDENT COUNT``, the key in
TL_SIGNING_KEY."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

from realtime.rules import PromptStatus
from records.keys import SigningKey, parse_private
from records.seal import seal_lesson
from storage.db import make_engine, make_sessions
from storage.models import Check, PresenceInterval, Prompt
from storage.types import utcnow


async def main(url: str, lesson_id: uuid.UUID, student_id: uuid.UUID, count: int) -> None:
    key = SigningKey.of(parse_private(os.environ["TL_SIGNING_KEY"]))
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        for _ in range(count):
            now = utcnow()
            async with sessions() as s, s.begin():
                prompt = Prompt(
                    id=uuid.uuid4().hex,
                    lesson_id=lesson_id,
                    student_id=student_id,
                    issued_at=now,
                    deadline=now + timedelta(seconds=16),
                    challenge="none",
                    status=PromptStatus.PASSED,
                    resolved_at=now,
                )
                s.add(prompt)
                s.add(
                    PresenceInterval(
                        lesson_id=lesson_id,
                        student_id=student_id,
                        connected_at=now,
                        disconnected_at=now + timedelta(seconds=1),
                    )
                )
                await s.flush()
                s.add(
                    Check(
                        prompt_id=prompt.id,
                        lesson_id=lesson_id,
                        student_id=student_id,
                        received_at=now,
                        outcome="present",
                        face_count=1,
                        frame_sha256="ab" * 32,
                        detector_version="test",
                    )
                )
            await seal_lesson(sessions, lesson_id, key)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3]), int(sys.argv[4])))
