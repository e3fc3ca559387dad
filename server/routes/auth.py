"""Login and the caller's own record."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api_route import api
from server.devices import COOKIE
from server.errors import Problem
from server.login_limits import FailureLimiter
from server.request_context import current_token, current_user, read_body, resources_of
from server.rights import rights_changed
from server.schemas import LoginIn, LoginOut, LogoutIn, UserOut, user_out
from server.security import verify_password
from storage import access
from storage import repositories as repo
from storage.emails import normalise_email


async def login(request: Request) -> JSONResponse:
    body = await read_body(request, LoginIn)
    svc = resources_of(request)
    try:
        account = normalise_email(body.email)
    except ValueError:
        # No stored address has this form; answered like any unknown email.
        account = body.email.strip().lower()
    address = request.client.host if request.client else "unknown"
    # A browser where this account signed in before draws from its own budget, which an
    # attacker elsewhere cannot spend (server.devices); any other sign-in draws from the
    # account's and the address's.
    device = svc.devices.device(request.cookies.get(COOKIE), account)
    budgets = (
        [(svc.account_logins, f"device:{device}")]
        if device is not None
        else [(svc.account_logins, account), (svc.address_logins, address)]
    )
    # Each limiter admits the attempt before the password is checked, so guesses sent at once
    # are counted against the limit as they are checked, not after (server.login_limits).
    admitted: list[tuple[FailureLimiter, str]] = []
    failed = False
    try:
        for limiter, key in budgets:
            if (wait := await limiter.admit(key)) is not None:
                raise Problem(
                    429,
                    "Too Many Requests",
                    f"too many failed sign-ins; try again in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            admitted.append((limiter, key))
        async with svc.sessions() as s:
            user = await repo.get_user_by_email(s, email=account)
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
    svc.account_logins.succeeded(budgets[0][1])
    token = svc.tokens.issue(user.id, user.role.value, version=user.token_version)
    response = JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": svc.tokens.ttl_s,
            "user": user_out(user),
        }
    )
    svc.devices.set(response, account, secure=request.url.scheme == "https")
    return response


async def logout(request: Request) -> Response:
    """End the caller's token, or with ``{"everywhere": true}`` every token they hold."""
    user, claims = await current_token(request)
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    body = await read_body(request, LogoutIn) if has_body else LogoutIn()
    svc = resources_of(request)
    async with svc.sessions() as s, s.begin():
        if body.everywhere:
            mine = await repo.get_user(s, user_id=user.id)
            if mine is not None:
                access.end_all_tokens(mine)
        else:
            await access.revoke_token(
                s, token_id=claims.token_id, user_id=user.id, expires_at=claims.expires_at
            )
        await repo.audit(
            s,
            actor_id=user.id,
            action="auth.logout",
            target_type="user",
            target_id=str(user.id),
            detail={"everywhere": body.everywhere},
        )
    # Sockets opened with a token that still stands are admitted again when the page
    # reconnects; the others are refused.
    await rights_changed(svc.hub, [user.id])
    return Response(status_code=204)


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
    api(
        "POST",
        "/api/auth/logout",
        logout,
        "Sign out: end this token, or every token of the caller with {everywhere: true}",
        "anyone signed in",
        body=LogoutIn,
        body_required=False,
        status=204,
    ),
    api("GET", "/api/me", me, "The caller's own account", "anyone signed in", response=UserOut),
]
