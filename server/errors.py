"""The server package's exceptions, and every HTTP error as ``application/problem+json``
(RFC 9457).

ServerError
 ├── Problem        an HTTP request fails; rendered as a problem document
 └── InvalidToken   a bearer token is malformed, tampered with, or expired (server.security)
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from storage.errors import unavailable

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class ServerError(Exception):
    """Root of the server package's exceptions."""


class Problem(ServerError):
    """Raised by handlers; rendered as a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def unauthorized(detail: str = "a valid bearer token is required") -> Problem:
    return Problem(401, "Unauthorized", detail)


def forbidden(detail: str = "your role may not do this") -> Problem:
    return Problem(403, "Forbidden", detail)


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"{what} not found")


def validation_problem(exc: ValidationError) -> Problem:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = errors[0] if errors else {"field": "body", "message": "invalid"}
    return Problem(
        422,
        "Unprocessable Content",
        f"{first['field']}: {first['message']}",
        errors=errors,
    )


async def handle_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    response = problem_response(exc.status, exc.title, exc.detail, **exc.extra)
    response.headers.update(exc.headers)
    return response


async def handle_unexpected(_request: Request, exc: Exception) -> Response:
    """Anything a handler did not expect: a problem document, never a bare 500 page."""
    if unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        response = problem_response(
            503, "Service Unavailable", "the database is unavailable; try again shortly"
        )
        response.headers["Retry-After"] = "5"
        return response
    logger.error("unexpected error", exc_info=exc)
    return problem_response(500, "Internal Server Error", "the server failed; this is logged")


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, _title(exc.status_code), str(exc.detail))


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
