"""Attendance reports, the verdict log and evidence thumbnails."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api_route import PAGED, Query, api
from server.attendance_report import attendance_report, report_csv
from server.errors import Problem, forbidden, not_found
from server.pagination import page_body, page_request
from server.request_context import current_user, path_id, require, resources_of
from server.routes.lessons import lesson_for
from server.schemas import AttendanceReport, CheckOut, PageOf
from storage import repositories as repo
from storage.models import Check, Course, Lesson, Role
from storage.types import utcnow

READERS = "an admin or the course's tutor"


async def _readable_lesson(request: Request) -> tuple[Lesson, Course]:
    # The role first: a student may never read the whole report, whichever lesson it is.
    user = await current_user(request)
    if user.role is Role.STUDENT:
        raise forbidden("students may read only their own line: /attendance/me")
    return await lesson_for(request, user)


async def attendance(request: Request) -> JSONResponse:
    lesson, course = await _readable_lesson(request)
    async with resources_of(request).sessions() as s:
        report = await attendance_report(s, lesson, course, utcnow())
    return JSONResponse(report)


async def attendance_csv(request: Request) -> Response:
    lesson, course = await _readable_lesson(request)
    async with resources_of(request).sessions() as s:
        report = await attendance_report(s, lesson, course, utcnow())
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    body = "\ufeff" + report_csv(report)
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="attendance-{lesson.id}.csv"'},
    )


async def my_attendance(request: Request) -> JSONResponse:
    user = await require(request, Role.STUDENT)
    lesson, course = await lesson_for(request, user)
    async with resources_of(request).sessions() as s:
        report = await attendance_report(s, lesson, course, utcnow(), only=user.id)
    return JSONResponse(report)


async def checks(request: Request) -> JSONResponse:
    lesson, _course = await _readable_lesson(request)
    page = page_request(request, repo.CHECKS_ORDER)
    student = request.query_params.get("student_id")
    try:
        student_id = uuid.UUID(student) if student else None
    except ValueError:
        raise Problem(422, "Unprocessable Content", "student_id: must be a user id") from None
    async with resources_of(request).sessions() as s:
        found = await repo.checks_page(
            s,
            lesson_id=lesson.id,
            student_id=student_id,
            after=page.after,
            limit=page.limit,
        )
    return JSONResponse(page_body(found, _check_out))


async def thumbnail(request: Request) -> Response:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    check_id = path_id(request, "check_id", "check")
    async with resources_of(request).sessions() as s:
        found = await repo.check_thumbnail(s, check_id=check_id)
        if found is None:
            raise not_found("check")
        lesson_id, image = found
        owner = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
    if owner is None or (user.role is Role.TUTOR and owner[1].tutor_id != user.id):
        raise not_found("check")
    if image is None:
        raise Problem(
            404,
            "Not Found",
            "this check has no thumbnail: the course keeps none, or it has been purged",
        )
    return Response(image, media_type="image/jpeg", headers={"cache-control": "private, no-store"})


def _check_out(row: tuple[Check, str, bool]) -> dict[str, object]:
    check, name, has_thumbnail = row
    return {
        "id": str(check.id),
        "prompt_id": check.prompt_id,
        "student_id": str(check.student_id),
        "student_name": name,
        "received_at": check.received_at.isoformat(),
        "outcome": check.outcome,
        "hint": check.hint,
        "face_count": check.face_count,
        "score": check.score,
        "yaw": check.yaw,
        "pitch": check.pitch,
        "brightness": check.brightness,
        "sharpness": check.sharpness,
        "frame_sha256": check.frame_sha256,
        "detector_version": check.detector_version,
        "has_thumbnail": bool(has_thumbnail),
    }


routes = [
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance",
        attendance,
        "The lesson's attendance: each student's status, ratio, connected time and checks",
        READERS,
        response=AttendanceReport,
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance.csv",
        attendance_csv,
        "The same report as CSV: a header row and one row per student",
        READERS,
        media_type="text/csv",
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance/me",
        my_attendance,
        "The caller's own line of the report",
        "a student enrolled in the course",
        response=AttendanceReport,
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/checks",
        checks,
        "The verdict log: every judged frame, oldest first",
        READERS,
        response=PageOf[CheckOut],
        query=[*PAGED, Query("student_id", "Only this student's checks")],
        errors=[422],
    ),
    api(
        "GET",
        "/api/checks/{check_id}/thumbnail",
        thumbnail,
        "A check's evidence thumbnail (JPEG), when the course keeps evidence",
        READERS,
        media_type="image/jpeg",
    ),
]
