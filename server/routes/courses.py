"""Courses, enrolments and a course's lessons."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api_route import PAGED, Query, api
from server.errors import Problem, not_found, validation_problem
from server.pagination import choice, page_body, page_request
from server.request_context import current_user, path_id, read_body, require, resources_of
from server.rights import rights_changed
from server.schemas import (
    CourseIn,
    CourseOut,
    CoursePatch,
    EnrolIn,
    EnrolmentOut,
    EnrolOut,
    LessonIn,
    LessonOut,
    PageOf,
    PolicyIn,
    course_out,
    lesson_out,
)
from storage import repositories as repo
from storage.models import Course, LessonStatus, Role, User


async def visible_course(s: AsyncSession, user: User, course_id: uuid.UUID) -> Course:
    """The course if the caller may see it; 404 otherwise (its existence is not told)."""
    course = await repo.get_course(s, course_id=course_id)
    if course is None:
        raise not_found("course")
    if user.role is Role.TUTOR and course.tutor_id != user.id:
        raise not_found("course")
    if user.role is Role.STUDENT and not await repo.is_enrolled(
        s, course_id=course.id, student_id=user.id
    ):
        raise not_found("course")
    return course


async def create_course(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    body = await read_body(request, CourseIn)
    async with resources_of(request).sessions() as s, s.begin():
        await _tutor(s, body.tutor_id)
        course = await repo.add_course(
            s, title=body.title, tutor_id=body.tutor_id, policy=body.policy.model_dump()
        )
        await repo.audit(
            s,
            actor_id=admin.id,
            action="course.create",
            target_type="course",
            target_id=str(course.id),
        )
    return JSONResponse(course_out(course), status_code=201)


async def list_courses(request: Request) -> JSONResponse:
    user = await current_user(request)
    page = page_request(request, repo.COURSES_ORDER)
    async with resources_of(request).sessions() as s:
        found = await repo.courses_page(s, viewer=user, after=page.after, limit=page.limit)
    return JSONResponse(page_body(found, course_out))


async def get_course(request: Request) -> JSONResponse:
    user = await current_user(request)
    course_id = path_id(request, "course_id", "course")
    async with resources_of(request).sessions() as s:
        course = await visible_course(s, user, course_id)
    return JSONResponse(course_out(course))


async def patch_course(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    course_id = path_id(request, "course_id", "course")
    body = await read_body(request, CoursePatch)
    changes = body.model_dump(exclude_unset=True)
    former_tutor: uuid.UUID | None = None
    async with resources_of(request).sessions() as s, s.begin():
        course = await visible_course(s, admin, course_id)
        if body.title is not None:
            course.title = body.title
        if body.tutor_id is not None and body.tutor_id != course.tutor_id:
            await _tutor(s, body.tutor_id)
            if course.tutor_id != body.tutor_id:
                former_tutor = course.tutor_id
            course.tutor_id = body.tutor_id
        if body.policy is not None:
            merged = {**course.policy, **body.policy.model_dump(exclude_unset=True)}
            try:
                course.policy = PolicyIn.model_validate(merged).model_dump()
            except ValidationError as exc:
                raise _in_policy(validation_problem(exc)) from exc
        await s.flush()
        await repo.audit(
            s,
            actor_id=admin.id,
            action="course.update",
            target_type="course",
            target_id=str(course.id),
            detail={"changes": _jsonable(changes)},
        )
    if former_tutor is not None:
        # The former tutor's dashboards of this course's lessons close now.
        await rights_changed(resources_of(request).hub, [former_tutor], course_id=course_id)
    return JSONResponse(course_out(course))


async def enrol(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    course_id = path_id(request, "course_id", "course")
    body = await read_body(request, EnrolIn)
    async with resources_of(request).sessions() as s, s.begin():
        if await repo.get_course(s, course_id=course_id) is None:
            raise not_found("course")
        users = await repo.get_users(s, user_ids=body.student_ids)
        students = {u.id for u in users if u.role is Role.STUDENT}
        unknown = [str(sid) for sid in body.student_ids if sid not in students]
        if unknown:
            raise Problem(
                422,
                "Unprocessable Content",
                f"student_ids: not students: {', '.join(unknown[:10])}",
            )
        added = await repo.add_enrolments(s, course_id=course_id, student_ids=body.student_ids)
        await repo.audit(
            s,
            actor_id=admin.id,
            action="enrolment.add",
            target_type="course",
            target_id=str(course_id),
            detail={"student_ids": [str(a) for a in added]},
        )
        enrolled = await repo.enrolled_student_ids(s, course_id=course_id)
    return JSONResponse(
        {
            "course_id": str(course_id),
            "added": [str(a) for a in added],
            "student_ids": sorted(str(e) for e in enrolled),
        },
        status_code=201 if added else 200,
    )


async def list_enrolments(request: Request) -> JSONResponse:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    course_id = path_id(request, "course_id", "course")
    page = page_request(request, repo.ENROLMENTS_ORDER)
    async with resources_of(request).sessions() as s:
        await visible_course(s, user, course_id)
        found = await repo.enrolments_page(
            s, course_id=course_id, after=page.after, limit=page.limit
        )

    def render(row: tuple[User, object]) -> dict[str, object]:
        student, enrolled_at = row
        assert hasattr(enrolled_at, "isoformat")
        return {
            "student_id": str(student.id),
            "name": student.name,
            "email": student.email,
            "disabled": student.disabled,
            "enrolled_at": enrolled_at.isoformat(),
        }

    return JSONResponse(page_body(found, render))


async def unenrol(request: Request) -> Response:
    admin = await require(request, Role.ADMIN)
    course_id = path_id(request, "course_id", "course")
    student_id = path_id(request, "student_id", "enrolment")
    async with resources_of(request).sessions() as s, s.begin():
        if await repo.get_course(s, course_id=course_id) is None:
            raise not_found("course")
        if not await repo.remove_enrolment(s, course_id=course_id, student_id=student_id):
            raise not_found("enrolment")
        await repo.audit(
            s,
            actor_id=admin.id,
            action="enrolment.remove",
            target_type="course",
            target_id=str(course_id),
            detail={"student_id": str(student_id)},
        )
    # The student's lesson pages of this course close now.
    await rights_changed(resources_of(request).hub, [student_id], course_id=course_id)
    return Response(status_code=204)


async def create_lesson(request: Request) -> JSONResponse:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    course_id = path_id(request, "course_id", "course")
    body = await read_body(request, LessonIn)
    async with resources_of(request).sessions() as s, s.begin():
        course = await visible_course(s, user, course_id)
        lesson = await repo.add_lesson(
            s,
            course_id=course_id,
            title=body.title,
            scheduled_start=body.scheduled_start,
            scheduled_end=body.scheduled_end,
        )
        await repo.audit(
            s,
            actor_id=user.id,
            action="lesson.create",
            target_type="lesson",
            target_id=str(lesson.id),
        )
    return JSONResponse(lesson_out(lesson, course.title), status_code=201)


async def list_course_lessons(request: Request) -> JSONResponse:
    user = await current_user(request)
    course_id = path_id(request, "course_id", "course")
    page = page_request(request, repo.LESSONS_ORDER)
    statuses = choice(request, "status", [s.value for s in LessonStatus])
    async with resources_of(request).sessions() as s:
        await visible_course(s, user, course_id)
        found = await repo.lessons_page(
            s,
            viewer=user,
            course_id=course_id,
            status=[LessonStatus(v) for v in statuses] if statuses else None,
            after=page.after,
            limit=page.limit,
        )
    return JSONResponse(page_body(found, lambda row: lesson_out(*row)))


async def _tutor(s: AsyncSession, tutor_id: uuid.UUID) -> User:
    tutor = await repo.get_user(s, user_id=tutor_id)
    if tutor is None or tutor.role is not Role.TUTOR:
        raise Problem(422, "Unprocessable Content", "tutor_id: no tutor with this id")
    return tutor


def _in_policy(problem: Problem) -> Problem:
    problem.detail = f"policy.{problem.detail}" if ":" in problem.detail else problem.detail
    return problem


def _jsonable(changes: dict[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, uuid.UUID) else v for k, v in changes.items()}


ADMIN = "admin"
ANY_VIEWER = "an admin, the course's tutor, or a student enrolled in it"
STATUS = Query("status", "Only these statuses, comma-separated: scheduled,live,ended")
routes = [
    api(
        "POST",
        "/api/courses",
        create_course,
        "Create a course with its tutor and attendance policy",
        ADMIN,
        body=CourseIn,
        response=CourseOut,
        status=201,
    ),
    api(
        "GET",
        "/api/courses",
        list_courses,
        "List courses: all for an admin, a tutor's own, a student's enrolled",
        "anyone signed in",
        response=PageOf[CourseOut],
        query=PAGED,
        errors=[422],
    ),
    api(
        "GET",
        "/api/courses/{course_id}",
        get_course,
        "Read a course and its policy",
        ANY_VIEWER,
        response=CourseOut,
    ),
    api(
        "PATCH",
        "/api/courses/{course_id}",
        patch_course,
        "Change a course's title, tutor or policy (policy fields merge)",
        ADMIN,
        body=CoursePatch,
        response=CourseOut,
    ),
    api(
        "POST",
        "/api/courses/{course_id}/enrollments",
        enrol,
        "Enrol students (201 when some were added, 200 when all already were)",
        ADMIN,
        body=EnrolIn,
        response=EnrolOut,
        status=201,
    ),
    api(
        "GET",
        "/api/courses/{course_id}/enrollments",
        list_enrolments,
        "List the enrolled students by name",
        "an admin or the course's tutor",
        response=PageOf[EnrolmentOut],
        query=PAGED,
        errors=[422],
    ),
    api(
        "DELETE",
        "/api/courses/{course_id}/enrollments/{student_id}",
        unenrol,
        "Remove a student from the course (their past records stay)",
        ADMIN,
        status=204,
    ),
    api(
        "POST",
        "/api/courses/{course_id}/lessons",
        create_lesson,
        "Schedule a lesson",
        "an admin or the course's tutor",
        body=LessonIn,
        response=LessonOut,
        status=201,
    ),
    api(
        "GET",
        "/api/courses/{course_id}/lessons",
        list_course_lessons,
        "List a course's lessons by scheduled start",
        ANY_VIEWER,
        response=PageOf[LessonOut],
        query=[*PAGED, STATUS],
        errors=[422],
    ),
]
