"""The pages' "Sign out" ends the token on the server, not only in the tab."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Browser, expect

from testkit.blocking import BlockingApi as Api
from tests.browser.browsers import Camera
from tests.browser.driver import PHONE, Tab, open_tab, sign_in


def test_sign_out_ends_the_token_on_the_server(
    api: Api, base_url: str, browser_with: Callable[[Camera], Browser], tabs: list[Tab]
) -> None:
    student = api.add_user("student", "Sid Signout")
    tab = open_tab(browser_with("face"), base_url, PHONE)
    tabs.append(tab)
    page = tab.page
    sign_in(page, student)
    expect(page.get_by_role("heading", name="Your lessons")).to_be_visible()
    token = page.evaluate("sessionStorage.getItem('tl.token')")
    assert token
    me = httpx.get(f"{base_url}/api/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200

    page.locator("#sign-out").click()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('tl.token')") is None
    me = httpx.get(f"{base_url}/api/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 401
