"""Signed attendance: the public keys, signed documents, certificates, and verification."""

from __future__ import annotations

import asyncio
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from records import TamperDetected
from records.certificate import certificate_pdf
from records.credential import verification_code
from records.documents import NotSealed, lesson_document, student_document
from records.keys import public_jwk
from records.lesson_check import published_keys
from records.verify import MAX_DOCUMENT_BYTES, verify_document
from server.api_route import api
from server.errors import Problem, forbidden, not_found
from server.request_context import current_user, path_id, require, resources_of
from server.routes.lessons import lesson_for
from storage.models import Lesson, LessonStatus, Role

READERS = "an admin or the course's tutor"


async def signing_keys(request: Request) -> JSONResponse:
    keys = await published_keys(resources_of(request).sessions)
    return JSONResponse(
        {"keys": [public_jwk(k) for k in keys.values()]},
        headers={"cache-control": "public, max-age=300"},
    )


def _started(lesson: Lesson) -> None:
    if lesson.status is LessonStatus.SCHEDULED:
        raise Problem(409, "Conflict", "the lesson has not started: there is nothing to sign")


def _tampered(exc: TamperDetected) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"the lesson's records no longer match their seal ({exc}); nothing was signed",
    )


async def signed_report(request: Request) -> JSONResponse:
    user = await current_user(request)
    if user.role is Role.STUDENT:
        raise forbidden("students download their own certificate: /attendance/me/certificate.pdf")
    lesson, _course = await lesson_for(request, user)
    _started(lesson)
    svc = resources_of(request)
    try:
        document = await lesson_document(
            svc.sessions, lesson.id, svc.signing_key, svc.settings.public_url
        )
    except TamperDetected as exc:
        raise _tampered(exc) from None
    except NotSealed as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return JSONResponse(
        document,
        headers={
            "content-disposition": f'attachment; filename="attendance-{lesson.id}.signed.json"'
        },
    )


async def _certificate(request: Request, lesson: Lesson, student_id: uuid.UUID) -> Response:
    _started(lesson)
    svc = resources_of(request)
    try:
        document = await student_document(
            svc.sessions, lesson.id, student_id, svc.signing_key, svc.settings.public_url
        )
    except TamperDetected as exc:
        raise _tampered(exc) from None
    except NotSealed as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    if document is None:
        raise not_found("student")
    verify_url = svc.settings.public_url.rstrip("/") + "/verify"
    pdf = await asyncio.to_thread(
        certificate_pdf, document, verification_code(document), svc.signing_key, verify_url
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "content-disposition": (
                f'attachment; filename="certificate-{lesson.id}-{student_id}.pdf"'
            ),
            "cache-control": "private, no-store",
        },
    )


async def my_certificate(request: Request) -> Response:
    user = await require(request, Role.STUDENT)
    lesson, _course = await lesson_for(request, user)
    return await _certificate(request, lesson, user.id)


async def student_certificate(request: Request) -> Response:
    user = await require(request, Role.ADMIN, Role.TUTOR)
    lesson, _course = await lesson_for(request, user)
    return await _certificate(request, lesson, path_id(request, "student_id", "student"))


async def verify(request: Request) -> JSONResponse:
    declared = request.headers.get("content-length")
    too_large = Problem(
        413, "Content Too Large", f"a document may be at most {MAX_DOCUMENT_BYTES} bytes"
    )
    if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise too_large
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_DOCUMENT_BYTES:
            raise too_large
    if not data:
        raise Problem(400, "Bad Request", "send the signed JSON or the certificate PDF as the body")
    keys = await published_keys(resources_of(request).sessions)
    # Parsing a PDF and checking signatures is CPU work: not on the event loop.
    result = await asyncio.to_thread(verify_document, data, keys)
    return JSONResponse(result.as_json())


routes = [
    api(
        "GET",
        "/api/signing-keys",
        signing_keys,
        "The public keys documents and seals are signed with, old ones included (a JWK set, "
        "OKP/Ed25519, each named by its Multikey)",
        "anyone",
        public=True,
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance.signed.json",
        signed_report,
        "The attendance report, sealed and signed: a W3C Verifiable Credential with an "
        "eddsa-jcs-2022 Data Integrity proof",
        READERS,
        errors=[409],
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance/me/certificate.pdf",
        my_certificate,
        "The caller's attendance certificate: one signed PDF page carrying the signed record",
        "a student enrolled in the course",
        media_type="application/pdf",
        errors=[409],
    ),
    api(
        "GET",
        "/api/lessons/{lesson_id}/attendance/{student_id}/certificate.pdf",
        student_certificate,
        "A student's attendance certificate",
        READERS,
        media_type="application/pdf",
        errors=[409],
    ),
    api(
        "POST",
        "/api/verify",
        verify,
        "Verify a signed JSON document or a certificate PDF (sent as the body): valid or not, "
        "what fails, and what it says",
        "anyone",
        public=True,
        errors=[400, 413],
    ),
]
