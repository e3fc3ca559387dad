"""Tokens can be ended: a new password, role or disabled flag ends every token issued before;
signing out ends one token or all of them; a token made by hand with the right key but a long
life, or without this server's issuer and audience, is refused (the security review's probes)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt

from testkit.api import PASSWORD, Api
from tests.security.serving import KEY


async def status(api: Api, token: str) -> int:
    r = await api.http.get("/api/me", headers={"authorization": f"Bearer {token}"})
    return r.status_code


async def logout(api: Api, token: str, body: Any = None) -> int:
    r = await api.http.post(
        "/api/auth/logout", headers={"authorization": f"Bearer {token}"}, json=body
    )
    return r.status_code


async def test_a_new_password_ends_the_old_token(api: Api) -> None:
    admin = await api.admin_token()
    ada = await api.add_user(admin, "student", "Ada")
    assert await status(api, ada["token"]) == 200

    await api.call("PATCH", f"/api/users/{ada['id']}", admin, {"password": "a-new-password"})

    assert await status(api, ada["token"]) == 401
    fresh = await api.login(ada["email"], "a-new-password")
    assert await status(api, fresh) == 200


async def test_disabling_then_enabling_does_not_revive_old_tokens(api: Api) -> None:
    admin = await api.admin_token()
    ada = await api.add_user(admin, "student", "Ada")

    await api.call("PATCH", f"/api/users/{ada['id']}", admin, {"disabled": True})
    await api.call("PATCH", f"/api/users/{ada['id']}", admin, {"disabled": False})

    assert await status(api, ada["token"]) == 401
    assert await status(api, await api.login(ada["email"], PASSWORD)) == 200


async def test_a_new_role_ends_the_old_token(api: Api) -> None:
    admin = await api.admin_token()
    second = await api.add_user(admin, "admin", "Second Admin")
    assert (await api.http.get("/api/users", headers=_bearer(second["token"]))).status_code == 200

    await api.call("PATCH", f"/api/users/{second['id']}", admin, {"role": "student"})

    assert (await api.http.get("/api/users", headers=_bearer(second["token"]))).status_code == 401


async def test_sign_out_ends_this_token_and_not_the_other_tabs(api: Api) -> None:
    admin = await api.admin_token()
    ada = await api.add_user(admin, "student", "Ada")
    other_tab = await api.login(ada["email"], PASSWORD)

    assert await logout(api, ada["token"]) == 204

    assert await status(api, ada["token"]) == 401
    assert await logout(api, ada["token"]) == 401
    assert await status(api, other_tab) == 200


async def test_sign_out_everywhere_ends_every_token_of_the_user_only(api: Api) -> None:
    admin = await api.admin_token()
    ada = await api.add_user(admin, "student", "Ada")
    ben = await api.add_user(admin, "student", "Ben")
    other_tab = await api.login(ada["email"], PASSWORD)

    assert await logout(api, ada["token"], {"everywhere": True}) == 204

    assert await status(api, ada["token"]) == 401
    assert await status(api, other_tab) == 401
    assert await status(api, ben["token"]) == 200
    assert await status(api, await api.login(ada["email"], PASSWORD)) == 200


async def test_sign_out_names_a_bad_field(api: Api) -> None:
    admin = await api.admin_token()
    ada = await api.add_user(admin, "student", "Ada")
    r = await api.http.post(
        "/api/auth/logout", headers=_bearer(ada["token"]), json={"everywhere": "yes please"}
    )
    assert r.status_code == 422
    assert "everywhere" in r.json()["detail"]
    assert await status(api, ada["token"]) == 200  # nothing was ended


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def test_a_hand_made_token_with_a_ten_year_life_is_refused(api: Api) -> None:
    admin = await api.admin_token()
    now = int(time.time())
    claims = {**_claims(admin), "iat": now, "exp": now + 10 * 365 * 24 * 3600}
    forged = jwt.encode(claims, KEY, algorithm="HS256")
    assert await status(api, forged) == 401


async def test_a_token_from_the_future_is_refused(api: Api) -> None:
    admin = await api.admin_token()
    later = int(time.time()) + 7 * 24 * 3600
    claims = {**_claims(admin), "iat": later, "exp": later + 3600}
    assert await status(api, jwt.encode(claims, KEY, algorithm="HS256")) == 401


async def test_tokens_carry_and_need_this_servers_issuer_and_audience(api: Api) -> None:
    admin = await api.admin_token()
    claims = _claims(admin)
    assert claims["iss"] and claims["aud"]
    for changed in (
        {k: v for k, v in claims.items() if k != "iss"},
        {k: v for k, v in claims.items() if k != "aud"},
        {**claims, "iss": "some-other-service"},
        {**claims, "aud": "some-other-service"},
    ):
        assert await status(api, jwt.encode(changed, KEY, algorithm="HS256")) == 401
    # The same claims, re-signed unchanged, still work: only the changed claim was refused.
    assert await status(api, jwt.encode(claims, KEY, algorithm="HS256")) == 200


async def test_a_token_of_a_user_that_never_existed_is_refused(api: Api) -> None:
    admin = await api.admin_token()
    claims = {**_claims(admin), "sub": str(uuid.uuid4())}
    assert await status(api, jwt.encode(claims, KEY, algorithm="HS256")) == 401


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
