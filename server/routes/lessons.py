"""A lesson: read it, start it, end it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.http import current_user, path_id, services
from server.problems import Problem, forbidden, not_found
from server.schemas import lesson_out
from storage import repositories as repo
from storage.models import Course, Lesson, LessonStatus, Role, User
from storage.types import utcnow


async def _lesson_for(request: Request, user: User) -> tuple[Lesson, Course]:
    lesson_id = path_id(request, "lesson_id", "lesson")
    async with services(request).sessions() as s:
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        if found is None:
            raise not_found("lesson")
        lesson, course = found
        if user.role is Role.TUTOR and course.tutor_id != user.id:
            raise not_found("lesson")
        if user.role is Role.STUDENT and not await repo.is_enrolled(
            s, course_id=course.id, student_id=user.id
        ):
            raise not_found("lesson")
    return lesson, course


async def get_lesson(request: Request) -> JSONResponse:
    user = await current_user(request)
    lesson, _course = await _lesson_for(request, user)
    return JSONResponse(lesson_out(lesson))


async def _driven_lesson(request: Request) -> tuple[User, Lesson]:
    """The caller and the lesson, if the caller may start and end it."""
    user = await current_user(request)
    lesson, _course = await _lesson_for(request, user)
    if user.role is Role.STUDENT:
        raise forbidden("only the course's tutor or an admin may start or end a lesson")
    return user, lesson


async def start_lesson(request: Request) -> JSONResponse:
    user, lesson = await _driven_lesson(request)
    if lesson.status is LessonStatus.ENDED:
        raise Problem(409, "Conflict", "the lesson has ended and cannot be started again")
    async with services(request).sessions() as s, s.begin():
        if await repo.start_lesson(s, lesson_id=lesson.id, at=utcnow()):
            await repo.audit(
                s,
                actor_id=user.id,
                action="lesson.start",
                target_type="lesson",
                target_id=str(lesson.id),
            )
        lesson = await _reload(s, lesson.id)
    return JSONResponse(lesson_out(lesson))


async def end_lesson(request: Request) -> JSONResponse:
    user, lesson = await _driven_lesson(request)
    if lesson.status is LessonStatus.SCHEDULED:
        raise Problem(409, "Conflict", "the lesson has not started")
    svc = services(request)
    await svc.hub.end_lesson(lesson.id, actor_id=user.id)
    async with svc.sessions() as s:
        lesson = await _reload(s, lesson.id)
    return JSONResponse(lesson_out(lesson))


async def _reload(s: AsyncSession, lesson_id: uuid.UUID) -> Lesson:
    lesson = await repo.get_lesson(s, lesson_id=lesson_id)
    if lesson is None:
        raise not_found("lesson")
    return lesson


routes = [
    Route("/api/lessons/{lesson_id}", get_lesson, methods=["GET"]),
    Route("/api/lessons/{lesson_id}/start", start_lesson, methods=["POST"]),
    Route("/api/lessons/{lesson_id}/end", end_lesson, methods=["POST"]),
]
