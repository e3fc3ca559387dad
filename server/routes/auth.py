"""Login and the caller's own record."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api_route import api
from server.errors import Problem
from server.login_limits import FailureLimiter
from server.request_context import current_user, read_body, resources_of
from server.schemas import LoginIn, LoginOut, UserOut, user_out
from server.security import verify_password
from storage import repositories as repo


async def login(request: Request) -> JSONResponse:
    body = await read_body(request, LoginIn)
    resources = resources_of(request)
    account = body.email.strip().lower()
    address = request.client.host if request.client else "unknown"
    # Each limiter admits the attempt before the password is checked, so guesses sent at once
    # are counted against the limit as they are checked, not after (server.login_limits).
    limiters = ((resources.account_logins, account), (resources.address_logins, address))
    admitted: list[tuple[FailureLimiter, str]] = []
    failed = False
    try:
        for limiter, key in limiters:
            if (wait := await limiter.admit(key)) is not None:
                raise Problem(
                    429,
                    "Too Many Requests",
                    f"too many failed sign-ins; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            admitted.append((limiter, key))
        async with resources.sessions() as s:
            user = await repo.get_user_by_email(s, email=body.email)
        # One answer for an unknown email, a wrong password and a disabled account:
        # login errors must not tell which emails exist.
        ok = await verify_password(user.password_hash if user else None, body.password)
        failed = user is None or not ok or user.disabled
    finally:
        # An attempt that was never checked (refused, or the database failed) costs nothing.
        for limiter, key in admitted:
            limiter.release(key, failed=failed)
    if user is None or failed:
        raise Problem(401, "Unauthorized", "wrong email or password")
    resources.account_logins.succeeded(account)
    token = resources.tokens.issue(user.id, user.role.value)
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": resources.tokens.ttl_s,
            "user": user_out(user),
        }
    )


async def me(request: Request) -> JSONResponse:
    return JSONResponse(user_out(await current_user(request)))


routes = [
    api(
        "POST",
        "/api/auth/login",
        login,
        "Sign in: a bearer token for the API and the sockets",
        "anyone",
        body=LoginIn,
        response=LoginOut,
        public=True,
        errors=[401, 429],
    ),
    api("GET", "/api/me", me, "The caller's own account", "anyone signed in", response=UserOut),
]
