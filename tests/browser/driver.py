"""What a person does in the pages, as Playwright steps: sign in, open a lesson, consent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, expect

from testkit.api import Classroom, User
from testkit.timing import timeout
from tests.browser.browsers import Camera

if TYPE_CHECKING:
    from playwright.sync_api import Locator

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def ms(seconds: float) -> float:
    """A Playwright timeout (milliseconds), scaled like every other wait in the tests."""
    return timeout(seconds) * 1000


@dataclass
class Tab:
    """One page in its own browser context (own sessionStorage, like a separate window),
    recording what a person would notice going wrong: script errors and anything the
    Content-Security-Policy refused (Chromium logs both as console errors), and dialogs."""

    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect_error(self, text: str) -> None:
        """A console error containing ``text`` is part of what the test provokes."""
        self.expected.append(text)

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(x in e for x in self.expected)]

    def close(self) -> None:
        self.context.close()


def open_tab(browser: Browser, base_url: str, viewport: dict[str, int]) -> Tab:
    context = browser.new_context(base_url=base_url, viewport=viewport)  # type: ignore[arg-type]
    context.set_default_timeout(ms(15))
    page = context.new_page()
    tab = Tab(context, page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("dialog", on_dialog)
    return tab


def sign_in(page: Page, user: User) -> None:
    """Through the login page, as a person would; lands on the lesson list."""
    page.goto("/")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_label("Password").press("Enter")  # the keyboard way
    expect(page.get_by_role("heading", name="Your lessons")).to_be_visible()


def open_lesson(page: Page, lesson_id: str) -> None:
    page.locator(f'li[data-lesson-id="{lesson_id}"] a').click()


def open_dashboard(browser: Browser, base_url: str, room: Classroom) -> Tab:
    tab = open_tab(browser, base_url, DESKTOP)
    sign_in(tab.page, room.tutor)
    open_lesson(tab.page, room.lesson_id)
    expect(tab.page.locator("#connection")).to_have_attribute("data-kind", "connected")
    expect(tab.page.locator("#roster-body tr")).to_have_count(len(room.students))
    return tab


def join_lesson(
    browser: Browser,
    base_url: str,
    room: Classroom,
    student: User,
    *,
    consent: bool = True,
    notice: str | None = None,
) -> Tab:
    """Sign in, open the lesson from the list, read the notice (which must contain
    ``notice``) and agree (or not)."""
    tab = open_tab(browser, base_url, PHONE)
    sign_in(tab.page, student)
    open_lesson(tab.page, room.lesson_id)
    page = tab.page
    expect(page.get_by_role("heading", name="Before your camera starts")).to_be_visible()
    expect(page.locator("#preview")).to_be_hidden()  # no camera before consent
    if notice is not None:
        expect(page.locator("#consent-points")).to_contain_text(notice)
    if consent:
        page.get_by_role("button", name="I agree — start my camera").click()
    else:
        page.get_by_role("button", name="Not now").click()
    expect(page.locator("#connection")).to_have_attribute("data-kind", "connected")
    return tab


def roster_row(page: Page, student: User) -> Locator:
    student_id = student["id"]
    return page.locator(f'#roster-body tr[data-student-id="{student_id}"]')


def tutor_and_student(
    browser_with: Callable[[Camera], Browser],
    base_url: str,
    room: Classroom,
    student: User,
    tabs: list[Tab],
    camera: Camera = "face",
    notice: str | None = None,
) -> tuple[Tab, Tab]:
    """The tutor's dashboard, then the student's page joined with ``camera`` (see
    `join_lesson`); both kept in ``tabs``, to be closed after the test."""
    tutor = open_dashboard(browser_with("face"), base_url, room)
    tabs.append(tutor)
    joined = join_lesson(browser_with(camera), base_url, room, student, notice=notice)
    tabs.append(joined)
    return tutor, joined
