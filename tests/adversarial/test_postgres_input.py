"""Hostile text against the production database, PostgreSQL: what SQLite stores without a word
(a NUL character) PostgreSQL refuses, and injection strings must stay literal there too.

Uses the PostgreSQL of this machine (testkit/services.py): skipped without it,
required under CI."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from testkit.api import PASSWORD, Api
from testkit.server import serve, settings_for
from testkit.services import fresh_postgres, migrate
from tests.adversarial.helpers import INJECTIONS, all_users


@pytest.fixture(scope="module")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_postgres() as database_url:
        migrate(database_url)
        with serve(settings_for(database_url)) as url:
            yield url


@pytest.fixture
def pg_api(pg_server_url: str, api_to: Callable[[str], Api]) -> Api:
    return api_to(pg_server_url)


async def test_injection_strings_stay_literal_on_postgresql(pg_api: Api) -> None:
    admin = await pg_api.admin_token()
    before = await all_users(pg_api, admin)
    for i, text in enumerate(INJECTIONS):
        email = f"pg{i}-{uuid.uuid4().hex[:6]}@test.example"
        user = await pg_api.call(
            "POST",
            "/api/users",
            admin,
            {"email": email, "name": text, "role": "student", "password": PASSWORD},
            expect=201,
        )
        assert (await pg_api.call("GET", f"/api/users/{user['id']}", admin))["name"] == text
    r = await pg_api.http.post(
        "/api/auth/login", json={"email": INJECTIONS[0], "password": INJECTIONS[5]}
    )
    assert r.status_code == 401
    assert len(await all_users(pg_api, admin)) == len(before) + len(INJECTIONS)


@pytest.mark.parametrize("field", ["login email", "user name", "audit filter", "course title"])
async def test_a_nul_character_is_refused_as_invalid_not_a_500(pg_api: Api, field: str) -> None:
    admin = await pg_api.admin_token()
    headers = {"authorization": f"Bearer {admin}"}
    if field == "audit filter":
        for name in ("action", "target_id"):
            r = await pg_api.http.get("/api/audit", params={name: "x\x00y"}, headers=headers)
            assert r.status_code == 422 and name in r.json()["detail"], r.text
    elif field == "course title":
        r = await pg_api.http.post("/api/courses", json={"title": "Nul\x00Course"}, headers=headers)
        assert r.status_code == 422 and "title" in r.text, r.text
    elif field == "login email":
        r = await pg_api.http.post(
            "/api/auth/login", json={"email": "a\x00b@test.example", "password": "x"}
        )
        assert r.status_code in (401, 422), r.text
    else:
        r = await pg_api.http.post(
            "/api/users",
            json={
                "email": f"nul-{uuid.uuid4().hex[:6]}@test.example",
                "name": "Nul\x00Name",
                "role": "student",
                "password": PASSWORD,
            },
            headers=headers,
        )
        assert r.status_code == 422 and "name" in r.text, r.text
    assert (await pg_api.call("GET", "/api/health", None))["database"] == "ok"
