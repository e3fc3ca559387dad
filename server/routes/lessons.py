"""Lessons: list and read them, start and end one."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api_route import PAGED, api
from server.errors import Problem, not_found
from server.pagination import choice, page_body, page_request
from server.request_context import current_user, path_id, require, resources_of
from server.routes.courses import ANY_VIEWER, STATUS
from server.schemas import LessonOut, PageOf, lesson_out
from storage import repositories as repo
from storage.models import Course, Lesson, LessonStatus, Role, User
from storage.types import utcnow


async def lesson_for(request: Request, user: User) -> tuple[Lesson, Course]:
    """The path's lesson and its course if the caller may see them; 404 otherwise."""
    lesson_id = path_id(request, "lesson_id", "lesson")
    async with resources_of(request).sessions() as s:
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
    lesson, course = await lesson_for(request, user)
    return JSONResponse(lesson_out(lesson, course.title))


async def list_lessons(request: Request) -> JSONResponse:
    user = await current_user(request)
    page = page_request(request, repo.LESSONS_ORDER)
    statuses = choice(request, "status", [s.value for s in LessonStatus])
    async with resources_of(request).sessions() as s:
        found = await repo.lessons_page(
            s,
            viewer=user,
            course_id=None,
            status=[LessonStatus(v) for v in statuses] if statuses else None,
            after=page.after,
            limit=page.limit,
        )
    return JSONResponse(page_body(found, lambda row: lesson_out(*row)))


async def _driven_lesson(request: Request) -> tuple[User, Lesson, Course]:
    """The caller and the lesson, if the caller may start and end it."""
    user = await require(request, Role.ADMIN, Role.TUTOR)
    lesson, course = await lesson_for(request, user)
    return user, lesson, course


async def start_lesson(request: Request) -> JSONResponse:
    user, lesson, course = await _driven_lesson(request)
    if lesson.status is LessonStatus.ENDED:
        raise Problem(409, "Conflict", "the lesson has ended and cannot be started again")
    async with resources_of(request).sessions() as s, s.begin():
        if await repo.start_lesson(s, lesson_id=lesson.id, at=utcnow()):
            await repo.audit(
                s,
                actor_id=user.id,
                action="lesson.start",
                target_type="lesson",
                target_id=str(lesson.id),
            )
        lesson = await _reload(s, lesson.id)
    return JSONResponse(lesson_out(lesson, course.title))


async def end_lesson(request: Request) -> JSONResponse:
    user, lesson, course = await _driven_lesson(request)
    if lesson.status is LessonStatus.SCHEDULED:
        raise Problem(409, "Conflict", "the lesson has not started")
    resources = resources_of(request)
    await resources.hub.end_lesson(lesson.id, actor_id=user.id)
    async with resources.sessions() as s:
        lesson = await _reload(s, lesson.id)
    return JSONResponse(lesson_out(lesson, course.title))


async def _reload(s: AsyncSession, lesson_id: uuid.UUID) -> Lesson:
    lesson = await repo.get_lesson(s, lesson_id=lesson_id)
    if lesson is None:
        raise not_found("lesson")
    return lesson


DRIVERS = "an admin or the course's tutor"
routes = [
    api(
        "GET",
        "/api/lessons",
        list_lessons,
        "List the lessons the caller may see (a student's enrolled, a tutor's own, all)",
        "anyone signed in",
        response=PageOf[LessonOut],
        query=[*PAGED, STATUS],
        errors=[422],
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}",
        get_lesson,
        "Read a lesson",
        ANY_VIEWER,
        response=LessonOut,
    ),
    api(
        "POST",
        "/api/lessons/{lesson_id}/start",
        start_lesson,
        "Start a scheduled lesson (starting a live one again changes nothing)",
        DRIVERS,
        response=LessonOut,
        errors=[409],
    ),
    api(
        "POST",
        "/api/lessons/{lesson_id}/end",
        end_lesson,
        "End a live lesson: open prompts are cancelled and students are told",
        DRIVERS,
        response=LessonOut,
        errors=[409],
    ),
]
