"""The review queue's queries on SQLite and on PostgreSQL: which prompts wait for a decision
(never decided, or contested since the newest decision) and what the report counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.review import DIFFERENT_PERSON, Decision
from domain.statuses import PromptStatus
from storage import repositories as repo
from storage.db import make_engine, make_sessions
from storage.migrate import upgrade
from storage.models import Role

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _scenario(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = make_sessions(engine)
        async with sessions() as s, s.begin():
            tutor = await repo.add_user(
                s, email="t@x.example", name="Tutor", role=Role.TUTOR, password_hash="x"
            )
            student = await repo.add_user(
                s, email="s@x.example", name="Stu", role=Role.STUDENT, password_hash="x"
            )
            course = await repo.add_course(s, title="C", tutor_id=tutor.id, policy={})
            lesson = await repo.add_lesson(
                s,
                course_id=course.id,
                title="L",
                scheduled_start=T0,
                scheduled_end=T0 + timedelta(hours=1),
            )
            statuses = {
                "failed": PromptStatus.FAILED,
                "missed": PromptStatus.MISSED,
                "someone": PromptStatus.PASSED,
                "passed": PromptStatus.PASSED,
                "decided": PromptStatus.FAILED,
            }
            for i, (name, status) in enumerate(statuses.items()):
                at = T0 + timedelta(minutes=i)
                await repo.add_prompt(
                    s,
                    prompt_id=name,
                    lesson_id=lesson.id,
                    student_id=student.id,
                    issued_at=at,
                    deadline=at + timedelta(seconds=15),
                    challenge="none",
                )
                await repo.resolve_prompt(s, prompt_id=name, status=status, at=at)
                outcome = {"missed": None, "someone": DIFFERENT_PERSON}.get(name, "no_face")
                if status is PromptStatus.PASSED and name == "passed":
                    outcome = "present"
                if outcome:
                    await repo.add_check(
                        s,
                        prompt_id=name,
                        lesson_id=lesson.id,
                        student_id=student.id,
                        received_at=at,
                        outcome=outcome,
                        face_count=1,
                        score=None,
                        yaw=None,
                        pitch=None,
                        brightness=None,
                        sharpness=None,
                        frame_sha256="0" * 64,
                        detector_version="test",
                    )
        async with sessions() as s, s.begin():
            prompts = {p.id: p for p in await repo.lesson_prompts(s, lesson_id=lesson.id)}
            await repo.add_review(
                s,
                prompt=prompts["decided"],
                decision=Decision.ACCEPT,
                reason="ok",
                actor_id=tutor.id,
                at=T0 + timedelta(hours=1),
            )
            await repo.add_review(
                s,
                prompt=prompts["failed"],
                decision=Decision.UPHOLD,
                reason="first look",
                actor_id=tutor.id,
                at=T0 + timedelta(hours=1),
            )
            # Contested after its decision: back in the queue.
            await repo.add_contest(
                s, prompt=prompts["failed"], message="please", at=T0 + timedelta(hours=2)
            )

        async def queue(needs: bool | None) -> list[str]:
            async with sessions() as s:
                page = await repo.prompts_page(
                    s,
                    lesson_id=lesson.id,
                    student_id=None,
                    statuses=None,
                    needs_review=needs,
                    after=None,
                    limit=50,
                )
            return [p.id for p, _name in page.items]

        assert await queue(True) == ["failed", "missed", "someone"]
        assert await queue(False) == ["passed", "decided"]
        assert len(await queue(None)) == 5

        async with sessions() as s:
            counted = (await repo.reviewed_prompts(s, lesson_id=lesson.id))[student.id]
        by_status = sorted((p.status.value, p.different_person, p.decision) for p in counted)
        assert by_status == sorted(
            [
                ("failed", False, Decision.UPHOLD),
                ("missed", False, None),
                ("passed", True, None),
                ("passed", False, None),
                ("failed", False, Decision.ACCEPT),
            ]
        )
        assert sum(p.identity_unreviewed for p in counted) == 1
    finally:
        await engine.dispose()


async def test_the_review_queries_on_sqlite(tmp_path: Path) -> None:
    await _scenario(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")


async def test_the_review_queries_on_postgresql(postgres_url: str) -> None:
    await _scenario(postgres_url)
