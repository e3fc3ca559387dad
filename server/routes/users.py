"""Users (admin)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.http import read_body, require, services
from server.problems import Problem
from server.schemas import UserIn, user_out
from server.security import hash_password
from storage import repositories as repo
from storage.models import Role


async def create_user(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    body = await read_body(request, UserIn)
    password_hash = await hash_password(body.password)
    svc = services(request)
    try:
        async with svc.sessions() as s, s.begin():
            if await repo.get_user_by_email(s, email=body.email) is not None:
                raise _email_taken()
            user = await repo.add_user(
                s, email=body.email, name=body.name, role=body.role, password_hash=password_hash
            )
            await repo.audit(
                s,
                actor_id=admin.id,
                action="user.create",
                target_type="user",
                target_id=str(user.id),
                detail={"role": user.role.value},
            )
    except IntegrityError:
        # Two requests raced for the same email; the unique index decided.
        raise _email_taken() from None
    return JSONResponse(user_out(user), status_code=201)


def _email_taken() -> Problem:
    return Problem(409, "Conflict", "a user with this email already exists")


routes = [Route("/api/users", create_user, methods=["POST"])]
