"""Users (admin): create, list, read, change, delete."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api_route import PAGED, Query, api
from server.errors import Problem, not_found
from server.pagination import choice, page_body, page_request
from server.request_context import path_id, read_body, require, resources_of
from server.rights import rights_changed
from server.schemas import PageOf, UserIn, UserOut, UserPatch, admin_password_problem, user_out
from server.security import ADMIN_PASSWORD_MIN, hash_password
from storage import access
from storage import repositories as repo
from storage.models import Role, User


async def create_user(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    body = await read_body(request, UserIn)
    if body.role is Role.ADMIN and len(body.password) < ADMIN_PASSWORD_MIN:
        raise Problem(422, "Unprocessable Content", admin_password_problem())
    password_hash = await hash_password(body.password)
    resources = resources_of(request)
    try:
        async with resources.sessions() as s, s.begin():
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


async def list_users(request: Request) -> JSONResponse:
    await require(request, Role.ADMIN)
    page = page_request(request, repo.USERS_ORDER)
    roles = choice(request, "role", [r.value for r in Role])
    async with resources_of(request).sessions() as s:
        found = await repo.users_page(
            s,
            role=[Role(r) for r in roles] if roles else None,
            after=page.after,
            limit=page.limit,
        )
    return JSONResponse(page_body(found, user_out))


async def get_user(request: Request) -> JSONResponse:
    await require(request, Role.ADMIN)
    user_id = path_id(request, "user_id", "user")
    async with resources_of(request).sessions() as s:
        user = await _user(s, user_id)
    return JSONResponse(user_out(user))


async def patch_user(request: Request) -> JSONResponse:
    admin = await require(request, Role.ADMIN)
    user_id = path_id(request, "user_id", "user")
    body = await read_body(request, UserPatch)
    changes = body.model_dump(exclude_unset=True)
    if any(changes.get(k) is None for k in changes):
        raise Problem(422, "Unprocessable Content", "a field may be left out, but not null")
    password_hash = await hash_password(body.password) if body.password else None
    rights_lost = False
    try:
        async with resources_of(request).sessions() as s, s.begin():
            user = await _user(s, user_id)
            if user.id == admin.id and (body.disabled or body.role not in (None, Role.ADMIN)):
                raise Problem(409, "Conflict", "you may not disable or demote your own account")
            becomes = body.role or user.role
            if becomes is Role.ADMIN and (
                (body.password is not None and len(body.password) < ADMIN_PASSWORD_MIN)
                # The current password's length is unknown: a new admin sets a new one.
                or (user.role is not Role.ADMIN and body.password is None)
            ):
                raise Problem(422, "Unprocessable Content", admin_password_problem())
            if body.role is not None and body.role is not user.role:
                if await repo.has_history(s, user_id=user.id):
                    raise Problem(
                        409,
                        "Conflict",
                        "this user has courses, enrolments or attendance records; "
                        "create a new account for the new role",
                    )
                user.role = body.role
                rights_lost = True
            if body.email is not None and body.email != user.email:
                if await repo.get_user_by_email(s, email=body.email) is not None:
                    raise _email_taken()
                user.email = body.email
            if body.name is not None:
                user.name = body.name
            if body.disabled is not None and body.disabled is not user.disabled:
                user.disabled = body.disabled
                # Re-enabling an account does not bring its old tokens back.
                rights_lost = True
            if password_hash is not None:
                user.password_hash = password_hash
                rights_lost = True
            if rights_lost:
                # A new password, role or disabled flag ends every token issued before it.
                access.end_all_tokens(user)
            await s.flush()
            await repo.audit(
                s,
                actor_id=admin.id,
                action="user.update",
                target_type="user",
                target_id=str(user.id),
                # Which fields changed, never the password itself.
                detail={"fields": sorted(changes)},
            )
    except IntegrityError:
        raise _email_taken() from None
    if rights_lost:
        # The account's open sockets close now, not at their next reconnect.
        await rights_changed(resources_of(request).hub, [user.id])
    return JSONResponse(user_out(user))


async def delete_user(request: Request) -> Response:
    admin = await require(request, Role.ADMIN)
    user_id = path_id(request, "user_id", "user")
    async with resources_of(request).sessions() as s, s.begin():
        user = await _user(s, user_id)
        if user.id == admin.id:
            raise Problem(409, "Conflict", "you may not delete your own account")
        if await repo.has_history(s, user_id=user.id):
            # Deleting would take the attendance records that prove past lessons with it.
            raise Problem(
                409,
                "Conflict",
                "this user has courses, enrolments or attendance records; "
                'disable the account instead (PATCH {"disabled": true})',
            )
        await repo.delete_user(s, user_id=user.id)
        await repo.audit(
            s,
            actor_id=admin.id,
            action="user.delete",
            target_type="user",
            target_id=str(user.id),
            detail={"email": user.email},
        )
    await rights_changed(resources_of(request).hub, [user_id])
    return Response(status_code=204)


async def _user(s: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repo.get_user(s, user_id=user_id)
    if user is None:
        raise not_found("user")
    return user


def _email_taken() -> Problem:
    return Problem(409, "Conflict", "a user with this email already exists")


ADMIN = "admin"
routes = [
    api(
        "POST",
        "/api/users",
        create_user,
        "Create a user",
        ADMIN,
        body=UserIn,
        response=UserOut,
        status=201,
        errors=[409],
    ),
    api(
        "GET",
        "/api/users",
        list_users,
        "List users, oldest first",
        ADMIN,
        response=PageOf[UserOut],
        query=[*PAGED, Query("role", "Only these roles, comma-separated: admin,tutor,student")],
        errors=[422],
    ),
    api("GET", "/api/users/{user_id}", get_user, "Read a user", ADMIN, response=UserOut),
    api(
        "PATCH",
        "/api/users/{user_id}",
        patch_user,
        "Change a user's email, name, role, password or disabled flag",
        ADMIN,
        body=UserPatch,
        response=UserOut,
        errors=[409],
    ),
    api(
        "DELETE",
        "/api/users/{user_id}",
        delete_user,
        "Delete a user who has no records (disable the others)",
        ADMIN,
        status=204,
        errors=[409],
    ),
]
