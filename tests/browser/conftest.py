"""Browser end-to-end tests: the real pages in Debian's Chromium, driven headless by
Playwright against a real server. Under CI (CI=true) they must run; elsewhere, without
Chromium or Playwright, they are skipped with the reason."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from testkit.blocking import BlockingApi
from tests.browser.browsers import Camera, launch, unavailable
from tests.browser.video import face_video, no_face_video

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

    from tests.browser.driver import Tab


def skip_or_fail(reason: str) -> None:
    """Without what it needs, a browser test is skipped — except under CI, where it fails."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"the browser tests must run under CI: {reason}")
    pytest.skip(reason)


# Browsers are module-scoped: closed as soon as the module that needs them is done, not held
# open through the rest of the suite.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    reason = unavailable()
    if reason is not None:
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("camera")
    return {
        "face": face_video(folder / "face.y4m"),
        "wall": no_face_video(folder / "coffee.y4m"),
    }


@pytest.fixture(scope="module")
def browser_with(
    playwright: Playwright, videos: dict[str, Path]
) -> Iterator[Callable[[Camera], Browser]]:
    """One Chromium per camera (the fake camera is chosen at launch), started when needed."""
    launched: dict[str, Browser] = {}

    def get(camera: Camera) -> Browser:
        if camera not in launched:
            launched[camera] = launch(playwright, camera, videos)
        return launched[camera]

    yield get
    for browser in launched.values():
        browser.close()


@pytest.fixture(scope="module")
def base_url(playwright: Playwright, server_url: str) -> str:
    """The server, for tests that also need the browser (skipped before starting it)."""
    return server_url


@pytest.fixture
def api(server_url: str) -> Iterator[BlockingApi]:
    """The API client for these synchronous tests (the shared server of testkit.fixtures)."""
    client = BlockingApi(server_url)
    yield client
    client.close()


@pytest.fixture
def tabs() -> Iterator[list[Tab]]:
    """Tabs a test opened: closed after it, and none may have logged a script error."""
    opened: list[Tab] = []
    yield opened
    errors = [f"{tab.page.url}: {e}" for tab in opened for e in tab.unexpected_errors()]
    for tab in opened:
        tab.close()
    if errors:
        pytest.fail("the pages logged errors:\n" + "\n".join(errors))
