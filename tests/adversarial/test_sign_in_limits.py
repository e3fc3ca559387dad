"""Password guessing against the sign-in limits, the way a tool guesses: many requests at once,
not one after another, over many accounts or from many addresses. At most the configured
number of wrong passwords is ever checked per account and per address within the window; the
rest are a clear 429 with Retry-After; other accounts and addresses keep signing in, and honest
sign-ins arriving together from one address are never refused.

Client addresses are given as a proxy on the same host gives them (X-Forwarded-For, which
uvicorn takes from 127.0.0.1 by default). First the limits one by one, each on a server of its
own (fresh counts), then guesses sent at once.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from testkit.api import PASSWORD, Api, make_classroom
from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD, running_server
from testkit.timing import timeout

PER_ACCOUNT = 3
PER_ADDRESS = 10
_addresses = (f"203.0.113.{i}" for i in itertools.count(1))


@pytest.fixture(scope="module")
def limited_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(
        tmp_path_factory.mktemp("sign-in-limits"),
        login_max_failures=PER_ACCOUNT,
        login_max_failures_per_address=PER_ADDRESS,
        login_window_s=120,
    ) as url:
        yield url


@pytest.fixture
def limited_api(limited_url: str, api_to: Callable[[str], Api]) -> Api:
    return api_to(limited_url)


@pytest.fixture
def strict_server(tmp_path: Path) -> Iterator[str]:
    with running_server(
        tmp_path, login_max_failures=3, login_max_failures_per_address=8, login_window_s=60
    ) as url:
        yield url


def login(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/api/auth/login", json={"email": email, "password": password})


def test_failed_sign_ins_are_limited_per_account_then_per_address(strict_server: str) -> None:
    with httpx.Client(base_url=strict_server, timeout=timeout(30)) as http:
        for _ in range(3):
            assert login(http, ADMIN_EMAIL, "wrong password").status_code == 401
        limited = login(http, ADMIN_EMAIL, "wrong password")
        assert limited.status_code == 429
        assert limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "try again in" in limited.json()["detail"]
        # Even the right password waits: the account is locked for the window, not the guess.
        assert login(http, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 429
        # An unknown email is limited the same way: a 429 tells nothing about who exists.
        for _ in range(3):
            assert login(http, "nobody@x.example", "guess").status_code == 401
        assert login(http, "nobody@x.example", "guess").status_code == 429
        # Spread over many accounts, the address runs out too (8 failures counted so far: 6).
        assert login(http, "a@x.example", "guess").status_code == 401
        assert login(http, "b@x.example", "guess").status_code == 401
        assert login(http, "c@x.example", "guess").status_code == 429


async def test_a_successful_sign_in_clears_the_accounts_failures(strict_server: str) -> None:
    async with Api(strict_server) as api:
        room = await make_classroom(api, n_students=1, start=False)
        email = room.students[0]["email"]
        for _ in range(2):
            r = await api.http.post("/api/auth/login", json={"email": email, "password": "nope"})
            assert r.status_code == 401
        await api.login(email, PASSWORD)
        for _ in range(2):
            r = await api.http.post("/api/auth/login", json={"email": email, "password": "nope"})
            assert r.status_code == 401  # counting starts again


async def sign_in(api: Api, email: str, password: str, address: str) -> httpx.Response:
    return await api.http.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"x-forwarded-for": address},
    )


async def at_once(api: Api, attempts: list[tuple[str, str]], address: str) -> list[httpx.Response]:
    return list(await asyncio.gather(*(sign_in(api, e, p, address) for e, p in attempts)))


def assert_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    assert 1 <= int(r.headers["retry-after"]) <= timeout(120)
    assert "try again in" in r.json()["detail"]


async def test_guesses_sent_at_once_check_no_more_passwords_than_the_account_limit(
    limited_api: Api,
) -> None:
    admin = await limited_api.admin_token()
    target = await limited_api.add_user(admin, "student", "Target")
    bystander = await limited_api.add_user(admin, "student", "Bystander")
    guesses = [(target["email"], f"guess-{i}") for i in range(30)]

    answers = await at_once(limited_api, guesses, next(_addresses))

    assert Counter(r.status_code for r in answers) == {401: PER_ACCOUNT, 429: 30 - PER_ACCOUNT}
    for r in answers:
        if r.status_code == 429:
            assert_limited(r)
    # The account waits out the window whatever the password and wherever it comes from...
    assert_limited(await sign_in(limited_api, target["email"], PASSWORD, next(_addresses)))
    # ...and nobody else is held up by it.
    r = await sign_in(limited_api, bystander["email"], PASSWORD, next(_addresses))
    assert r.status_code == 200, r.text


async def test_guesses_over_many_accounts_at_once_stop_at_the_address_limit(
    limited_api: Api,
) -> None:
    admin = await limited_api.admin_token()
    honest = await limited_api.add_user(admin, "student", "Honest")
    sprayer = next(_addresses)
    guesses = [(f"nobody-{uuid.uuid4().hex[:8]}@test.example", "guess") for _ in range(30)]

    answers = await at_once(limited_api, guesses, sprayer)

    assert Counter(r.status_code for r in answers) == {401: PER_ADDRESS, 429: 30 - PER_ADDRESS}
    # From that address even a right password waits (on a browser where the account has not
    # signed in before: one where it has keeps its own budget, tests/security/test_lockout.py);
    # from another address it signs in.
    limited_api.http.cookies.clear()
    assert_limited(await sign_in(limited_api, honest["email"], PASSWORD, sprayer))
    r = await sign_in(limited_api, honest["email"], PASSWORD, next(_addresses))
    assert r.status_code == 200, r.text


async def test_a_class_signing_in_together_behind_one_address_is_never_refused(
    limited_api: Api,
) -> None:
    """More sign-ins at once than the address may fail: none has failed, so none is refused
    (the limit counts attempts in flight, but it queues them rather than refusing them)."""
    admin = await limited_api.admin_token()
    students = [await limited_api.add_user(admin, "student", f"S{i}") for i in range(15)]
    school = next(_addresses)

    answers = await at_once(limited_api, [(s["email"], PASSWORD) for s in students], school)

    assert [r.status_code for r in answers] == [200] * len(students), [r.text for r in answers]
    me = await limited_api.call("GET", "/api/me", answers[0].json()["access_token"])
    assert me["id"] == students[0]["id"]
