"""Face templates: enrolment (admin photo, or the student's own frames), approval, reading the
state, deletion and exemption. The vector is never returned; the student's enrolment picture is
shown to the approver and deleted as soon as they decide."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server import enrol
from server.api_route import api
from server.errors import Problem, not_found
from server.face_schemas import FaceOut, PendingFacesOut, face_out
from server.request_context import current_user, path_id, read_body, require, resources_of
from server.schemas import ReasonIn
from storage import faces
from storage import repositories as repo
from storage.models import FaceTemplate, Role, TemplateState, User
from storage.types import utcnow

__all__ = ["routes"]


async def put_face(request: Request) -> JSONResponse:
    """An admin enrols a student from one photo: approved at once."""
    admin = await require(request, Role.ADMIN)
    student_id = path_id(request, "user_id", "user")
    svc = resources_of(request)
    enrol.identity_pool(svc)
    data = await enrol.read_image_body(request, svc.settings.max_image_bytes)
    async with svc.sessions() as s:
        await _student(s, student_id)
    made = await enrol.from_picture(svc, data)
    now = utcnow()
    template = FaceTemplate(
        student_id=student_id,
        state=TemplateState.APPROVED,
        vector=svc.face_cipher.seal_template(made.vector, student_id=student_id),
        model=made.model,
        quality=made.quality,
        source="admin",
        created_at=now,
        decided_by=admin.id,
        decided_at=now,
    )
    async with svc.sessions() as s, s.begin():
        await _student(s, student_id)
        await faces.replace_template(s, template=template)
        await _audit(s, admin, "face.enrol", student_id, template)
    await _changed(request, student_id)
    return JSONResponse(face_out(template))


async def post_my_face(request: Request) -> JSONResponse:
    """The student enrols from their own frames, after consenting: pending until approved."""
    student = await require(request, Role.STUDENT)
    svc = resources_of(request)
    enrol.identity_pool(svc)
    frames = await enrol.read_frames(request, svc.settings.max_image_bytes)
    made = await enrol.from_frames(svc, frames)
    assert made.picture is not None
    now = utcnow()
    template = FaceTemplate(
        student_id=student.id,
        state=TemplateState.PENDING,
        vector=svc.face_cipher.seal_template(made.vector, student_id=student.id),
        model=made.model,
        quality=made.quality,
        source="student",
        consent_at=now,
        picture=svc.face_cipher.seal(made.picture, student_id=student.id, purpose="picture"),
        created_at=now,
    )
    async with svc.sessions() as s, s.begin():
        await faces.replace_template(s, template=template)
        await _audit(s, student, "face.enrol", student.id, template)
    return JSONResponse(face_out(template), status_code=201)


async def get_face(request: Request) -> JSONResponse:
    caller = await current_user(request)
    student_id = path_id(request, "user_id", "user")
    async with resources_of(request).sessions() as s:
        await _readable(s, caller, student_id)
        template = await faces.get_template(s, student_id=student_id)
    return JSONResponse(face_out(template))


async def get_my_face(request: Request) -> JSONResponse:
    student = await require(request, Role.STUDENT)
    async with resources_of(request).sessions() as s:
        template = await faces.get_template(s, student_id=student.id)
    return JSONResponse(face_out(template))


async def get_picture(request: Request) -> Response:
    """The pending enrolment's picture, for the approver; gone once they have decided."""
    caller = await require(request, Role.ADMIN, Role.TUTOR)
    student_id = path_id(request, "user_id", "user")
    svc = resources_of(request)
    async with svc.sessions() as s:
        await _approver(s, caller, student_id)
        template = await faces.get_template(s, student_id=student_id, with_secrets=True)
    if template is None or template.picture is None:
        raise Problem(404, "Not Found", "no enrolment picture is waiting for a decision")
    picture = svc.face_cipher.open(template.picture, student_id=student_id, purpose="picture")
    return Response(
        picture,
        media_type=enrol.media_type(picture),
        headers={"cache-control": "private, no-store"},
    )


async def approve(request: Request) -> JSONResponse:
    return await _decide(request, TemplateState.APPROVED, None)


async def reject(request: Request) -> JSONResponse:
    body = await read_body(request, ReasonIn)
    return await _decide(request, TemplateState.REJECTED, body.reason)


async def exempt(request: Request) -> JSONResponse:
    """An admin excuses a student from identity checks (presence only), with a reason."""
    admin = await require(request, Role.ADMIN)
    student_id = path_id(request, "user_id", "user")
    body = await read_body(request, ReasonIn)
    now = utcnow()
    template = FaceTemplate(
        student_id=student_id,
        state=TemplateState.EXEMPT,
        source="admin",
        created_at=now,
        decided_by=admin.id,
        decided_at=now,
        reason=body.reason,
    )
    async with resources_of(request).sessions() as s, s.begin():
        await _student(s, student_id)
        await faces.replace_template(s, template=template)
        await _audit(s, admin, "face.exempt", student_id, template, reason=body.reason)
    await _changed(request, student_id)
    return JSONResponse(face_out(template))


async def delete_face(request: Request) -> Response:
    admin = await require(request, Role.ADMIN)
    student_id = path_id(request, "user_id", "user")
    async with resources_of(request).sessions() as s, s.begin():
        await _student(s, student_id)
        await _erase(s, admin, student_id)
    await _changed(request, student_id)
    return Response(status_code=204)


async def delete_my_face(request: Request) -> Response:
    """The student withdraws consent: the template (and any picture) is erased now."""
    student = await require(request, Role.STUDENT)
    async with resources_of(request).sessions() as s, s.begin():
        await _erase(s, student, student.id)
    await _changed(request, student.id)
    return Response(status_code=204)


async def list_pending(request: Request) -> JSONResponse:
    caller = await require(request, Role.ADMIN, Role.TUTOR)
    async with resources_of(request).sessions() as s:
        found = await faces.pending_for(
            s, tutor_id=caller.id if caller.role is Role.TUTOR else None
        )
    items = [
        {
            "student_id": str(user.id),
            "name": user.name,
            "email": user.email,
            "created_at": template.created_at.isoformat(),
            "quality": template.quality,
        }
        for template, user in found
    ]
    return JSONResponse({"items": items})


async def _decide(request: Request, state: TemplateState, reason: str | None) -> JSONResponse:
    caller = await require(request, Role.ADMIN, Role.TUTOR)
    student_id = path_id(request, "user_id", "user")
    async with resources_of(request).sessions() as s, s.begin():
        await _approver(s, caller, student_id)
        template = await faces.get_template(s, student_id=student_id, with_secrets=True)
        if template is None or template.state is not TemplateState.PENDING:
            raise Problem(409, "Conflict", "no enrolment of this student is waiting for a decision")
        template.state = state
        template.decided_by = caller.id
        template.decided_at = utcnow()
        template.picture = None  # seen by the approver; not kept past the decision
        if state is TemplateState.REJECTED:
            template.vector = None
            template.reason = reason
        await s.flush()
        action = "face.approve" if state is TemplateState.APPROVED else "face.reject"
        await _audit(s, caller, action, student_id, template, reason=reason)
    await _changed(request, student_id)
    return JSONResponse(face_out(template))


async def _changed(request: Request, student_id: uuid.UUID) -> None:
    """Live lessons read the student's enrolment afresh at their next comparison."""
    await resources_of(request).hub.enrolment_changed(student_id)


async def _erase(s: AsyncSession, actor: User, student_id: uuid.UUID) -> None:
    erased = await faces.delete_template(s, student_id=student_id)
    if erased is None:
        raise not_found("face template")
    await repo.audit(
        s,
        actor_id=actor.id,
        action="face.delete",
        target_type="user",
        target_id=str(student_id),
        detail={"state": erased.state.value, "by": actor.role.value},
    )


async def _audit(
    s: AsyncSession,
    actor: User,
    action: str,
    student_id: uuid.UUID,
    template: FaceTemplate,
    **extra: Any,
) -> None:
    detail: dict[str, Any] = {
        "state": template.state.value,
        "source": template.source,
        "model": template.model,
        "quality": template.quality,
    }
    detail.update({k: v for k, v in extra.items() if v is not None})
    await repo.audit(
        s,
        actor_id=actor.id,
        action=action,
        target_type="user",
        target_id=str(student_id),
        detail=detail,
    )


async def _student(s: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repo.get_user(s, user_id=user_id)
    if user is None:
        raise not_found("user")
    if user.role is not Role.STUDENT:
        raise Problem(409, "Conflict", "only a student has a face template")
    return user


async def _readable(s: AsyncSession, caller: User, student_id: uuid.UUID) -> None:
    """Admins, the student's tutors and the student may read the state; others get 404."""
    if caller.role is Role.ADMIN:
        await _student(s, student_id)
    elif caller.id == student_id and caller.role is Role.STUDENT:
        return
    elif caller.role is Role.TUTOR:
        await _approver(s, caller, student_id)
    else:
        raise not_found("user")


async def _approver(s: AsyncSession, caller: User, student_id: uuid.UUID) -> None:
    if caller.role is Role.ADMIN:
        await _student(s, student_id)
    elif not await faces.is_tutor_of(s, tutor_id=caller.id, student_id=student_id):
        raise not_found("user")


READERS = "an admin, the student's tutors, or the student"
APPROVERS = "an admin or a tutor of one of the student's courses"
_FACE = "/api/users/{user_id}/face"
routes = [
    api(
        "PUT",
        _FACE,
        put_face,
        "Enrol a student from one photo (the body: image/jpeg, image/png or image/webp); "
        "approved at once",
        "admin",
        response=FaceOut,
        media_type="application/json",
        errors=[409, 413, 415, 422, 429],
    ),
    api(
        "GET",
        _FACE,
        get_face,
        "A student's template state (never the template)",
        READERS,
        response=FaceOut,
    ),
    api("DELETE", _FACE, delete_face, "Erase a student's template now", "admin", status=204),
    api(
        "GET",
        _FACE + "/picture",
        get_picture,
        "The picture of an enrolment waiting for a decision",
        APPROVERS,
        media_type="image/jpeg",
    ),
    api(
        "POST",
        _FACE + "/approve",
        approve,
        "Approve a pending enrolment",
        APPROVERS,
        response=FaceOut,
        errors=[409],
    ),
    api(
        "POST",
        _FACE + "/reject",
        reject,
        "Reject a pending enrolment, with a reason",
        APPROVERS,
        body=ReasonIn,
        response=FaceOut,
        errors=[409],
    ),
    api(
        "POST",
        _FACE + "/exempt",
        exempt,
        "Excuse a student from identity checks (presence only), with a reason",
        "admin",
        body=ReasonIn,
        response=FaceOut,
        errors=[409],
    ),
    api(
        "POST",
        "/api/me/face",
        post_my_face,
        "Enrol yourself from your camera frames, with consent; pending until approved",
        "a student",
        body=enrol.StudentEnrolIn,
        response=FaceOut,
        status=201,
        errors=[413, 415, 422, 429],
    ),
    api("GET", "/api/me/face", get_my_face, "Your template state", "a student", response=FaceOut),
    api(
        "DELETE",
        "/api/me/face",
        delete_my_face,
        "Withdraw: erase your template now",
        "a student",
        status=204,
    ),
    api(
        "GET",
        "/api/face-enrolments",
        list_pending,
        "Enrolments waiting for a decision: all for an admin, your students' for a tutor",
        "an admin or a tutor",
        response=PendingFacesOut,
    ),
]
