"""Courses, enrolments and a course's lessons."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.http import path_id, read_body, require, services
from server.problems import Problem, forbidden, not_found
from server.schemas import CourseIn, EnrolIn, LessonIn, course_out, lesson_out
from storage import repositories as repo
from storage.models import Role


async def create_course(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    body = await read_body(request, CourseIn)
    async with services(request).sessions() as s, s.begin():
        tutor = await repo.get_user(s, user_id=body.tutor_id)
        if tutor is None or tutor.role is not Role.TUTOR:
            raise Problem(422, "Unprocessable Content", "tutor_id: no tutor with this id")
        course = await repo.add_course(
            s, title=body.title, tutor_id=tutor.id, policy=body.policy.model_dump()
        )
        await repo.audit(
            s,
            actor_id=admin.id,
            action="course.create",
            target_type="course",
            target_id=str(course.id),
        )
    return JSONResponse(course_out(course), status_code=201)


async def enrol(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    course_id = path_id(request, "course_id", "course")
    body = await read_body(request, EnrolIn)
    async with services(request).sessions() as s, s.begin():
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


async def create_lesson(request: Request) -> JSONResponse:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    course_id = path_id(request, "course_id", "course")
    body = await read_body(request, LessonIn)
    async with services(request).sessions() as s, s.begin():
        course = await repo.get_course(s, course_id=course_id)
        if course is None:
            raise not_found("course")
        if user.role is Role.TUTOR and course.tutor_id != user.id:
            raise forbidden("only the course's tutor or an admin may add lessons")
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
    return JSONResponse(lesson_out(lesson), status_code=201)


routes = [
    Route("/api/courses", create_course, methods=["POST"]),
    Route("/api/courses/{course_id}/enrollments", enrol, methods=["POST"]),
    Route("/api/courses/{course_id}/lessons", create_lesson, methods=["POST"]),
]
