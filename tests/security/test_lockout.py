"""An attacker cannot keep the owner out by failing their sign-in on purpose.

Guesses stay bounded per account and per address; but a browser where the owner signed in
before carries a device cookie, and its sign-ins draw from that device's own budget, not from
the account's, which anyone can spend (OWASP's "device cookies"). Figures: README.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import pytest

from testkit.api import PASSWORD, Api
from testkit.timing import timeout
from tests.security.serving import Running, serving

PER_ACCOUNT = 3
PER_ADDRESS = 20
_addresses = (f"203.0.113.{i}" for i in itertools.count(1))


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(
        tmp_path_factory.mktemp("lockout"),
        login_max_failures=PER_ACCOUNT,
        login_max_failures_per_address=PER_ADDRESS,
        login_window_s=300,
    ) as running:
        yield running


def browser(url: str) -> httpx.AsyncClient:
    """A client that keeps cookies, as a browser does, coming from its own address."""
    address = next(_addresses)
    return httpx.AsyncClient(
        base_url=url, timeout=timeout(30), headers={"x-forwarded-for": address}
    )


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> int:
    r = await client.post("/api/auth/login", json={"email": email, "password": password})
    return r.status_code


async def owner_and_account(running: Running) -> tuple[dict[str, str], httpx.AsyncClient]:
    """A new student, and the browser where they signed in once before."""
    api = Api(running.url)
    try:
        admin = await api.admin_token()
        user = await api.add_user(admin, "student", "Owner")
    finally:
        await api.close()
    home = browser(running.url)
    assert await sign_in(home, user["email"], PASSWORD) == 200
    return user, home


async def attack(running: Running, email: str, guesses: int) -> list[int]:
    """Wrong passwords, each from another address (no cookies)."""
    answers = []
    for i in range(guesses):
        async with browser(running.url) as client:
            answers.append(await sign_in(client, email, f"guess-{i}"))
    return answers


async def test_an_attacker_from_many_addresses_cannot_lock_the_owner_out(
    limited: Running,
) -> None:
    user, home = await owner_and_account(limited)
    try:
        answers = await attack(limited, user["email"], PER_ACCOUNT + 5)
        # The attacker's guesses stay bounded...
        assert answers == [401] * PER_ACCOUNT + [429] * 5
        # ...and the owner, on the browser they used before, signs in at once.
        assert await sign_in(home, user["email"], PASSWORD) == 200
    finally:
        await home.aclose()


async def test_without_the_device_the_account_budget_holds_even_for_the_right_password(
    limited: Running,
) -> None:
    user, home = await owner_and_account(limited)
    await home.aclose()
    await attack(limited, user["email"], PER_ACCOUNT)
    async with browser(limited.url) as stranger:
        assert await sign_in(stranger, user["email"], PASSWORD) == 429


async def test_a_devices_own_budget_is_bounded_too(limited: Running) -> None:
    user, home = await owner_and_account(limited)
    try:
        # Someone at the owner's browser (or holding its cookie) guesses: bounded the same.
        answers = [await sign_in(home, user["email"], f"guess-{i}") for i in range(PER_ACCOUNT + 2)]
        assert answers == [401] * PER_ACCOUNT + [429] * 2
    finally:
        await home.aclose()


async def test_a_device_cookie_helps_only_its_own_account(limited: Running) -> None:
    _owner, home = await owner_and_account(limited)
    other, elsewhere = await owner_and_account(limited)
    await elsewhere.aclose()
    try:
        await attack(limited, other["email"], PER_ACCOUNT)
        # The owner's browser knows the owner, not the other account.
        assert await sign_in(home, other["email"], PASSWORD) == 429
    finally:
        await home.aclose()


async def test_the_device_cookie_is_kept_from_scripts_and_other_sites(limited: Running) -> None:
    api = Api(limited.url)
    try:
        admin = await api.admin_token()
        user = await api.add_user(admin, "student", "Owner")
        r = await api.http.post(
            "/api/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
    finally:
        await api.close()
    cookie = r.headers["set-cookie"].lower()
    assert cookie.startswith("tl_device=")
    for attribute in ("httponly", "samesite=strict", "path=/api/auth", "max-age="):
        assert attribute in cookie
    assert PASSWORD not in r.headers["set-cookie"] and user["email"] not in cookie
