"""What an HTTP handler takes from its request: the server's resources, the caller, the body,
an id from the path."""

from __future__ import annotations

import json
import uuid
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from server.errors import Problem, forbidden, not_found, unauthorized, validation_problem
from server.resources import Resources
from server.security import InvalidToken, TokenClaims
from storage import access
from storage.models import Role, User

MAX_BODY_BYTES = 1_000_000
M = TypeVar("M", bound=BaseModel)


def resources_of(request: Request) -> Resources:
    """The resources the app's lifespan made (`server.resources`)."""
    resources = request.state.resources
    assert isinstance(resources, Resources)
    return resources


async def read_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body; every failure names what is wrong."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise Problem(415, "Unsupported Media Type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Problem(413, "Content Too Large", f"the body may be at most {MAX_BODY_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise Problem(
                413, "Content Too Large", f"the body may be at most {MAX_BODY_BYTES} bytes"
            )
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # not JSON, too deep, or a number too long
        raise Problem(400, "Bad Request", f"the body is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from exc


def path_id(request: Request, name: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        # Not a well-formed id, so no such record: the same answer as an unknown one.
        raise not_found(what) from None


async def current_user(request: Request) -> User:
    """The caller behind the bearer token; 401 if there is none or it is not valid."""
    return (await current_token(request))[0]


async def current_token(request: Request) -> tuple[User, TokenClaims]:
    """The caller and their token's claims; 401 unless the token still stands."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    resources = resources_of(request)
    try:
        claims = resources.tokens.decode(token.strip())
    except InvalidToken:
        raise unauthorized("the token is invalid or has expired") from None
    async with resources.sessions() as s:
        user = await access.token_user(
            s, user_id=claims.user_id, version=claims.version, token_id=claims.token_id
        )
    if user is None:
        raise unauthorized(
            "the token has been signed out, replaced, or its user disabled; sign in again"
        )
    return user, claims


async def require(request: Request, *roles: Role) -> User:
    user = await current_user(request)
    if user.role not in roles:
        raise forbidden()
    return user
