"""Every check of a lesson, a person's review of the flagged ones, and students' contests."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from domain.policy import Policy
from domain.review import Decision, contest_deadline, contestable, reviewable
from domain.statuses import PromptStatus
from records.sealer import seal_now
from server.api_route import PAGED, Query, api
from server.errors import Problem, forbidden, not_found
from server.pagination import choice, encode_cursor, page_request
from server.prompt_views import prompt_views
from server.request_context import current_user, read_body, require, resources_of
from server.review_schemas import ContestIn, PromptOut, ReviewIn
from server.routes.lessons import lesson_for
from server.schemas import PageOf
from storage import repositories as repo
from storage.models import Course, Lesson, Prompt, Role
from storage.types import utcnow

logger = logging.getLogger(__name__)

READERS = "an admin or the course's tutor"
PROMPT_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
FILTERS = [
    Query("student_id", "Only this student's prompts"),
    Query(
        "status", "Only these statuses, comma-separated: pending, passed, failed, missed, cancelled"
    ),
    Query("needs_review", "true: only those waiting for a decision; false: only the others"),
]


async def lesson_prompts(request: Request) -> JSONResponse:
    user = await current_user(request)
    if user.role is Role.STUDENT:
        raise forbidden("students may read only their own checks: /prompts/me")
    lesson, course = await lesson_for(request, user)
    return await _page(request, lesson, course, student_id=_student_filter(request))


async def my_prompts(request: Request) -> JSONResponse:
    user = await require(request, Role.STUDENT)
    lesson, course = await lesson_for(request, user)
    return await _page(request, lesson, course, student_id=user.id)


async def review(request: Request) -> JSONResponse:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    prompt_id = _prompt_id(request)
    body = await read_body(request, ReviewIn)
    decision = Decision(body.decision)
    svc = resources_of(request)
    async with svc.sessions() as s, s.begin():
        prompt, lesson, course = await _prompt(s, prompt_id)
        if user.role is Role.TUTOR and course.tutor_id != user.id:
            raise not_found("prompt")
        frames = await repo.prompt_frames(s, prompt_ids=[prompt.id])
        if not reviewable(prompt.status, [check.outcome for check, _ in frames[prompt.id]]):
            raise Problem(
                409,
                "Conflict",
                f"this check {prompt.status.value}: only a failed or missed check, or one with "
                "a frame of someone other than the student, can be reviewed",
            )
        await repo.add_review(
            s, prompt=prompt, decision=decision, reason=body.reason, actor_id=user.id, at=utcnow()
        )
        await repo.audit(
            s,
            actor_id=user.id,
            action="prompt.review",
            target_type="prompt",
            target_id=prompt.id,
            detail={
                "lesson_id": str(lesson.id),
                "student_id": str(prompt.student_id),
                "status": prompt.status.value,
                "decision": decision.value,
                "reason": body.reason,
            },
        )
        view = await _view(s, prompt, lesson, course)
    # The decision changes what the lesson's record says: sealed now, not at the next interval.
    await seal_now(svc.sessions, lesson.id, svc.signing_key, "review")
    await _announce(request, lesson, prompt, view)
    return JSONResponse(view, status_code=201)


async def contest(request: Request) -> JSONResponse:
    user = await require(request, Role.STUDENT)
    prompt_id = _prompt_id(request)
    body = await read_body(request, ContestIn)
    svc = resources_of(request)
    now = utcnow()
    async with svc.sessions() as s, s.begin():
        prompt, lesson, course = await _prompt(s, prompt_id)
        if prompt.student_id != user.id:
            raise not_found("prompt")
        if not contestable(prompt.status):
            raise Problem(
                409,
                "Conflict",
                f"this check {prompt.status.value}: only a failed or missed check can be contested",
            )
        days = Policy.from_stored(course.policy).contest_days
        deadline = contest_deadline(lesson.ended_at, days)
        if deadline is not None and now > deadline:
            raise Problem(
                409,
                "Conflict",
                f"the time to contest this check ended on {deadline:%Y-%m-%d %H:%M} UTC, "
                f"{days} days after the lesson",
                contest_deadline=deadline.isoformat(),
            )
        if (await repo.prompt_contests(s, prompt_ids=[prompt.id])).get(prompt.id):
            raise Problem(409, "Conflict", "you have already contested this check")
        try:
            await repo.add_contest(s, prompt=prompt, message=body.message, at=now)
        except IntegrityError:
            raise Problem(409, "Conflict", "you have already contested this check") from None
        await repo.audit(
            s,
            actor_id=user.id,
            action="prompt.contest",
            target_type="prompt",
            target_id=prompt.id,
            detail={
                "lesson_id": str(lesson.id),
                "status": prompt.status.value,
                "message": body.message,
            },
        )
        view = await _view(s, prompt, lesson, course)
    await _announce(request, lesson, prompt, view)
    return JSONResponse(view, status_code=201)


# -- helpers ------------------------------------------------------------------------------


async def _page(
    request: Request, lesson: Lesson, course: Course, *, student_id: uuid.UUID | None
) -> JSONResponse:
    page = page_request(request, repo.PROMPTS_ORDER)
    statuses = choice(request, "status", [s.value for s in PromptStatus])
    needs_review = _flag(request, "needs_review")
    async with resources_of(request).sessions() as s:
        found = await repo.prompts_page(
            s,
            lesson_id=lesson.id,
            student_id=student_id,
            statuses=[PromptStatus(v) for v in statuses] if statuses else None,
            needs_review=needs_review,
            after=page.after,
            limit=page.limit,
        )
        items = await prompt_views(
            s, found.items, lesson=lesson, policy=Policy.from_stored(course.policy), now=utcnow()
        )
    return JSONResponse({"items": items, "next_cursor": encode_cursor(found.next_position)})


async def _prompt(s: AsyncSession, prompt_id: str) -> tuple[Prompt, Lesson, Course]:
    found = await repo.prompt_with_course(s, prompt_id=prompt_id)
    if found is None:
        raise not_found("prompt")
    return found


async def _view(s: AsyncSession, prompt: Prompt, lesson: Lesson, course: Course) -> dict[str, Any]:
    student = await repo.get_user(s, user_id=prompt.student_id)
    (view,) = await prompt_views(
        s,
        [(prompt, student.name if student else "")],
        lesson=lesson,
        policy=Policy.from_stored(course.policy),
        now=utcnow(),
    )
    return view


async def _announce(request: Request, lesson: Lesson, prompt: Prompt, view: dict[str, Any]) -> None:
    """Tell open dashboards and the student; the decision is stored whatever happens here."""
    try:
        await resources_of(request).hub.review_changed(lesson.id, prompt.student_id, view)
    except Exception:
        logger.warning(
            "could not announce the review of prompt %s in lesson %s",
            prompt.id,
            lesson.id,
            exc_info=True,
        )


def _prompt_id(request: Request) -> str:
    raw = str(request.path_params["prompt_id"])
    if not PROMPT_ID.match(raw):
        raise not_found("prompt")  # not a well-formed id, so no such prompt
    return raw


def _student_filter(request: Request) -> uuid.UUID | None:
    raw = request.query_params.get("student_id")
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        raise Problem(
            422,
            "Unprocessable Content",
            "student_id: must be a user id",
            errors=[{"field": "student_id", "message": "must be a user id"}],
        ) from None


def _flag(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise Problem(
        422,
        "Unprocessable Content",
        f"{name}: must be true or false",
        errors=[{"field": name, "message": "must be true or false"}],
    )


routes = [
    api(
        "GET",
        "/api/lessons/{lesson_id}/prompts",
        lesson_prompts,
        "Every prompt of the lesson in the order issued: its frames' outcomes and hints, its "
        "review and its contest",
        READERS,
        response=PageOf[PromptOut],
        query=[*PAGED, *FILTERS],
        errors=[422],
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/prompts/me",
        my_prompts,
        "The caller's own prompts of the lesson, with each review's decision and reason",
        "a student enrolled in the course",
        response=PageOf[PromptOut],
        query=[*PAGED, *FILTERS[1:]],
        errors=[422],
    ),
    api(
        "POST",
        "/api/prompts/{prompt_id}/review",
        review,
        "Decide a flagged check: accept it (it counts as passed) or uphold it, with a reason; "
        "a later decision replaces the earlier one, which is kept",
        READERS,
        body=ReviewIn,
        response=PromptOut,
        status=201,
        errors=[409, 422],
    ),
    api(
        "POST",
        "/api/prompts/{prompt_id}/contest",
        contest,
        "Contest one's own failed or missed check with a message, within the course's "
        "contest_days after the lesson",
        "the prompt's student",
        body=ContestIn,
        response=PromptOut,
        status=201,
        errors=[409, 422],
    ),
]
