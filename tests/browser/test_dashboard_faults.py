"""The dashboard while the message queue is away: two server processes sharing PostgreSQL and
a redis-server of the test's own, the tutor's page on one of them. It says that part of the
class may be out of date instead of showing stale states as live, and clears that when Redis
is back (within 5 s) and the class list has come afresh."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testkit.blocking import BlockingApi as Api
from testkit.services import cluster_env, migrate
from tests.browser.browsers import Camera
from tests.browser.driver import ms, open_dashboard, roster_row
from tests.faults.services import PrivatePostgres, PrivateRedis, Server, servers

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

    from tests.browser.driver import Tab

UNREACHABLE = "Some students are on a server that cannot be reached now"


@pytest.fixture
def two_processes(
    playwright: Playwright, tmp_path: Path
) -> Iterator[tuple[PrivateRedis, Server, Server]]:
    """(The browser is checked first, so a machine without one skips before starting these.
    PostgreSQL is a private cluster: Playwright's loop rules out the async database helpers.)"""
    with PrivateRedis(tmp_path) as redis, PrivatePostgres() as pg:
        migrate(pg.url)
        env = cluster_env(pg.url, redis.url)
        with servers([env, env], tmp_path) as (a, b):
            yield redis, a, b


def test_the_dashboard_says_when_part_of_the_class_cannot_be_reached(
    two_processes: tuple[PrivateRedis, Server, Server],
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    redis, a, _b = two_processes
    api = Api(a.url)
    try:
        room = api.classroom(["Ada Lovelace"])
    finally:
        api.close()
    (ada,) = room.students
    tutor = open_dashboard(browser_with("face"), a.url, room)
    tabs.append(tutor)
    page = tutor.page
    notice = page.locator("#cluster-message")
    expect(notice).to_be_hidden()

    redis.kill()
    expect(notice).to_be_visible(timeout=ms(5))
    expect(notice).to_contain_text(UNREACHABLE)
    page.get_by_role("button", name="Check everyone now").click()
    expect(page.locator("#action-status")).to_contain_text(
        "students on a server that cannot be reached now were not checked", timeout=ms(5)
    )
    page.screenshot(path=tmp_path / "tutor-unreachable.png", full_page=True)

    redis.start()
    expect(notice).to_be_hidden(timeout=ms(5))
    expect(roster_row(page, ada)).to_have_attribute("data-state", "offline")
