"""The lesson loop as people see it: a tutor's dashboard and students' pages in Chromium,
with a fake camera showing a real face, a coffee cup, or nothing at all (access blocked)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, expect

from testkit.blocking import BlockingApi
from testkit.ports import free_port
from testkit.server import serve, settings_for
from tests.browser.browsers import Camera
from tests.browser.driver import (
    PHONE,
    Tab,
    join_lesson,
    ms,
    open_dashboard,
    open_tab,
    roster_row,
    tutor_and_student,
)
from vision import rules

NO_FACE_HINTS = {
    rules.HINT_NO_FACE,
    rules.HINT_DARK,
    rules.HINT_BRIGHT,
    rules.HINT_BLURRY,
}


def test_login_errors_are_shown_in_place(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    student = api.add_user("student", "Gus Grant")
    tab = open_tab(browser_with("face"), base_url, PHONE)
    tabs.append(tab)
    tab.expect_error("status of 401")  # Chromium logs the refused login
    page = tab.page
    page.goto("/")
    error = page.get_by_role("alert")
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_have_text("Enter your email and your password.")
    expect(page.get_by_label("Email")).to_be_focused()

    page.get_by_label("Email").fill(student["email"])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_have_text("Wrong email or password.")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    assert page.url == f"{base_url}/"  # the password never lands in the address
    page.screenshot(path=tmp_path / "login-error.png", full_page=True)

    page.get_by_label("Password").fill(student["password"])
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Your lessons")).to_be_visible()
    expect(page.locator("#who")).to_have_text("Gus Grant (student)")
    expect(page.locator("#live-empty")).to_be_visible()  # enrolled nowhere yet
    assert page.evaluate("sessionStorage.getItem('tl.token')")
    assert page.evaluate("localStorage.length") == 0


def test_a_checked_student_turns_verified_on_the_live_dashboard(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Ada Lovelace", "Ben Okafor"])
    ada, _ben = room.students
    tutor = open_dashboard(browser_with("face"), base_url, room)
    tabs.append(tutor)
    dashboard = tutor.page
    expect(roster_row(dashboard, ada)).to_have_attribute("data-state", "offline")
    dashboard.evaluate("window.notReloaded = true")

    # The notice says what is kept under this course's (default) evidence policy.
    student = join_lesson(browser_with("face"), base_url, room, ada, notice="never the picture")
    tabs.append(student)
    page = student.page
    expect(page.locator("#preview")).to_be_visible()
    expect(roster_row(dashboard, ada)).to_have_attribute("data-state", "waiting")
    expect(roster_row(dashboard, ada).locator("td.camera")).to_have_text("Camera on")

    roster_row(dashboard, ada).get_by_role("button", name="Check Ada Lovelace now").click()
    expect(page.locator("#prompt")).to_be_visible()
    expect(page.locator("#prompt-instruction")).to_have_text("Look at the camera.")
    expect(page.locator("#prompt-countdown")).to_have_text(re.compile(r"^\d+$"))
    page.screenshot(path=tmp_path / "student-prompt.png", full_page=True)

    expect(page.locator("#my-state")).to_contain_text("Verified", timeout=ms(20))
    expect(page.locator("#counts")).to_contain_text("1 passed")
    row = roster_row(dashboard, ada)
    expect(row).to_have_attribute("data-state", "verified", timeout=ms(20))
    expect(row.locator("td.state")).to_contain_text("Verified")
    expect(row.locator("td.checks")).to_have_text("1 of 1 passed · 0 failed · 0 missed")
    expect(row.locator("td.ratio")).to_have_text("100 %")
    expect(row.locator(".timeline .mark.passed")).to_have_count(1)
    expect(dashboard.locator("#totals")).to_have_text("2 students: 1 verified · 1 offline")
    assert dashboard.evaluate("window.notReloaded") is True
    page.screenshot(path=tmp_path / "student-verified.png", full_page=True)
    dashboard.screenshot(path=tmp_path / "tutor-verified.png", full_page=True)


def test_a_camera_without_a_face_is_flagged_and_the_student_sees_the_hint(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Cleo Park"], policy={"evidence": "failures", "retention_days": 7})
    (cleo,) = room.students
    tutor, student = tutor_and_student(
        browser_with, base_url, room, cleo, tabs, "wall", notice="is also kept for 7 days"
    )
    expect(roster_row(tutor.page, cleo)).to_have_attribute("data-state", "waiting")

    tutor.page.get_by_role("button", name="Check everyone now").click()
    expect(tutor.page.locator("#action-status")).to_have_text("Sent 1 check.")

    page = student.page
    expect(page.locator("#hint")).to_be_visible(timeout=ms(20))
    hint = page.locator("#hint").inner_text().removeprefix("Tip: ")
    assert hint in NO_FACE_HINTS
    row = roster_row(tutor.page, cleo)
    # Every frame of the prompt failed: flagged, and the outcome is named, not just coloured.
    expect(row).to_have_attribute("data-state", "flagged", timeout=ms(30))
    expect(row).to_have_attribute("data-outcome", "no_face")
    expect(row.locator("td.state")).to_contain_text("Flagged")
    expect(row.locator("td.state")).to_contain_text("No face in view")
    expect(row.locator(".timeline .mark.failed")).to_have_count(1)
    expect(page.locator("#my-state")).to_have_text("Not verified: We couldn't see your face.")
    expect(page.locator("#my-state")).to_have_attribute("data-state", "flagged")
    page.screenshot(path=tmp_path / "student-no-face.png", full_page=True)
    tutor.page.screenshot(path=tmp_path / "tutor-flagged.png", full_page=True)


def test_a_hostile_name_is_shown_as_text(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    name = "<img src=x onerror=alert(1)>"
    room = api.classroom(
        [name],
        course_title="<script>alert(2)</script> Safety",
        lesson_title="<b onmouseover=alert(3)>Lesson</b>",
    )
    (mallory,) = room.students
    tutor, student = tutor_and_student(browser_with, base_url, room, mallory, tabs)

    dashboard = tutor.page
    row = roster_row(dashboard, mallory)
    expect(row).to_have_attribute("data-state", "waiting")  # an update carried the name too
    expect(row.locator("th.name")).to_have_text(name)
    expect(row.get_by_role("button", name=f"Check {name} now")).to_be_visible()
    expect(dashboard.locator("#lesson-title")).to_have_text(room.lesson_title)
    expect(dashboard.locator("#course-title")).to_have_text(room.course_title)
    expect(student.page.locator("#who")).to_have_text(f"{name} (student)")
    expect(student.page.locator("#lesson-title")).to_have_text(room.lesson_title)
    for page in (dashboard, student.page):
        assert page.locator("main img, main b, main script").count() == 0
    dashboard.hover("#lesson-title")
    dashboard.wait_for_timeout(300)
    assert tutor.dialogs == [] and student.dialogs == []
    dashboard.screenshot(path=tmp_path / "tutor-hostile-name.png", full_page=True)


def test_ending_the_lesson_from_the_dashboard_reaches_the_student(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Dev Patel"])
    (dev,) = room.students
    tutor, student = tutor_and_student(browser_with, base_url, room, dev, tabs)
    dashboard = tutor.page
    expect(roster_row(dashboard, dev)).to_have_attribute("data-state", "waiting")

    # By keyboard: the confirmation opens on Enter and Escape backs out of it.
    dashboard.get_by_role("button", name="End lesson").focus()
    dashboard.keyboard.press("Enter")
    dialog = dashboard.get_by_role("dialog", name="End the lesson for everyone?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Keep the lesson going")).to_be_focused()
    dashboard.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(dashboard.locator("#connection")).to_have_attribute("data-kind", "connected")

    dashboard.get_by_role("button", name="End lesson").click()
    dialog.get_by_role("button", name="End lesson").click()
    page = student.page
    expect(page.locator("#page-message")).to_contain_text("The lesson has ended")
    expect(page.locator("#connection")).to_have_text("Lesson ended")
    expect(dashboard.locator("#connection")).to_have_text("Lesson ended")
    expect(dashboard.locator("#page-message")).to_contain_text("The lesson has ended")
    lesson = api.call("GET", f"/api/lessons/{room.lesson_id}", room.tutor["token"])
    assert lesson["status"] == "ended"
    # The report needs the bearer token: the page fetches it and saves it from a Blob URL.
    with dashboard.expect_download() as download:
        dashboard.get_by_role("button", name="Download attendance (CSV)").click()
    assert download.value.suggested_filename == f"attendance-{room.lesson_id}.csv"
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Dev Patel" in report
    expect(dashboard.locator("#action-status")).to_have_text("Attendance report downloaded.")
    # The camera is off once the lesson is over.
    assert page.evaluate("document.querySelector('#preview').srcObject") is None
    page.screenshot(path=tmp_path / "student-ended.png", full_page=True)
    dashboard.screenshot(path=tmp_path / "tutor-ended.png", full_page=True)


def test_a_blocked_camera_is_reported_with_what_to_do(
    api: BlockingApi,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Eva Novak"])
    (eva,) = room.students
    tutor, student = tutor_and_student(browser_with, base_url, room, eva, tabs, "blocked")

    expect(student.page.locator("#camera-message")).to_contain_text("Camera access is blocked")
    expect(student.page.get_by_role("button", name="Try again")).to_be_visible()
    cell = roster_row(tutor.page, eva).locator("td.camera")
    expect(cell).to_have_text("Camera blocked")
    student.page.screenshot(path=tmp_path / "student-camera-blocked.png", full_page=True)


def test_both_pages_reconnect_on_their_own_after_the_server_restarts(
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    port = free_port()
    settings = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}")
    with serve(settings, port=port) as url:
        api = BlockingApi(url)
        room = api.classroom(["Fay Lindqvist"], policy={"challenge_probability": 1})
        api.close()
        (fay,) = room.students
        tutor, student = tutor_and_student(browser_with, url, room, fay, tabs)
        expect(roster_row(tutor.page, fay)).to_have_attribute("data-state", "waiting")

    # The server is gone: both pages say so, and keep trying. Chromium logs each try the
    # stopped server refuses (the Engine.IO polling request): provoked, not a page error.
    for tab in (tutor, student):
        tab.expect_error("net::ERR_CONNECTION_REFUSED")
    for page in (tutor.page, student.page):
        expect(page.locator("#connection")).to_have_attribute("data-kind", "reconnecting")
        expect(page.locator("#connection")).to_contain_text("reconnecting", ignore_case=True)
    expect(tutor.page.locator("#check-all")).to_be_disabled()
    expect(tutor.page.locator("#page-message")).to_contain_text("may be out of date")
    tutor.page.screenshot(path=tmp_path / "tutor-reconnecting.png", full_page=True)

    with serve(settings, port=port):
        for page in (tutor.page, student.page):
            expect(page.locator("#connection")).to_have_attribute(
                "data-kind", "connected", timeout=ms(40)
            )
        row = roster_row(tutor.page, fay)
        expect(row).to_have_attribute("data-state", "waiting")
        row.get_by_role("button", name="Check Fay Lindqvist now").click()
        # A challenge prompt says which way to turn. (The fake camera's face never turns, so
        # whether it passes depends on whether the server judges head turns yet.)
        expect(student.page.locator("#prompt-instruction")).to_have_text(
            re.compile(r"^Turn your head to your (left|right)\.$")
        )
        resolved = re.compile(r"^(verified|flagged)$")
        expect(row).to_have_attribute("data-state", resolved, timeout=ms(30))
        expect(student.page.locator("#my-state")).to_have_attribute("data-state", resolved)
        expect(row.locator(".timeline .mark")).to_have_count(1)
        expect(tutor.page.locator("#page-message")).to_be_hidden()
