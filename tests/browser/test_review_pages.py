"""Review and appeal as people do it: a student flagged no_face contests the check on their
page, the tutor accepts it on the review page with a reason, and the student's line turns
present."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, expect

from testkit.blocking import BlockingApi as Api
from tests.browser.browsers import Camera
from tests.browser.driver import Tab, join_lesson, ms, open_dashboard, roster_row

# Everyone connected counts as present by time: the lesson here lasts seconds.
POLICY = {"evidence": "failures", "retention_days": 7, "present_connected_ratio": 0}
MESSAGE = "My camera showed the wall for a moment; I was at my desk."
REASON = "Camera pointed at the wall; the student was seen right after."


def test_a_contested_no_face_check_is_accepted_and_the_student_turns_present(
    api: Api,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Nia Noor"], policy=POLICY)
    (nia,) = room.students
    tutor = open_dashboard(browser_with("face"), base_url, room)
    tabs.append(tutor)
    student = join_lesson(browser_with("wall"), base_url, room, nia)
    tabs.append(student)
    dashboard, page = tutor.page, student.page

    tutor.page.get_by_role("button", name="Check everyone now").click()
    row = roster_row(dashboard, nia)
    expect(row).to_have_attribute("data-state", "flagged", timeout=ms(30))
    expect(dashboard.locator("#review-count")).to_have_text(" (1 waiting)", timeout=ms(15))
    # A dashboard opened late still shows the whole lesson's timeline.
    late = open_dashboard(browser_with("face"), base_url, room)
    tabs.append(late)
    late_row = roster_row(late.page, nia)
    expect(late_row.locator(".timeline .mark.failed")).to_have_count(1)
    expect(late_row.locator(".timeline .mark.earlier")).to_have_count(0)
    expect(late_row.locator(".timeline .mark.failed")).to_have_attribute("data-review", "pending")
    api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])

    # The student's page, after the lesson: their check, and "this is wrong".
    checks = page.locator("#my-checks")
    expect(checks).to_be_visible(timeout=ms(15))
    expect(page.locator("#my-attendance")).to_have_text("Attendance for this lesson: Absent")
    item = checks.locator("li[data-status=failed]")
    expect(item.locator(".result")).to_have_text("Not passed: No face in view")
    expect(item).to_contain_text("hint:")
    item.get_by_role("button", name=re.compile("^This is wrong")).click()
    page.get_by_label("What happened? Your tutor reads this.").fill(MESSAGE)
    page.get_by_role("button", name="Send to my tutor").click()
    expect(item).to_contain_text(f"You wrote: {MESSAGE}")
    expect(item).to_contain_text("Contested — waiting for your tutor's decision.")
    page.screenshot(path=tmp_path / "student-contested.png", full_page=True)

    # The tutor follows the dashboard's link to the queue and decides from the keyboard.
    dashboard.get_by_role("link", name=re.compile("Review checks")).click()
    queue = dashboard.locator("#queue")
    group = queue.locator("section.student-group", has_text="Nia Noor")
    card = group.locator("article.check")
    expect(card).to_have_attribute("data-contested", "yes")
    expect(card).to_contain_text("Not passed: No face in view")
    expect(card).to_contain_text(f"Nia Noor says: {MESSAGE}")
    expect(card.locator("img.evidence")).to_have_attribute("src", re.compile("^blob:"))
    reason = card.get_by_label("Reason")
    reason.focus()
    dashboard.keyboard.type(REASON)
    dashboard.keyboard.press("Tab")
    expect(card.get_by_role("button", name="Accept — count as passed")).to_be_focused()
    dashboard.keyboard.press("Enter")
    decided = dashboard.locator("#decided article.check")
    expect(decided).to_have_attribute("data-state", "accepted")
    expect(decided).to_contain_text(f"accepted this check: it counts as passed. Reason: {REASON}")
    expect(dashboard.locator("#queue-empty")).to_be_visible()
    dashboard.screenshot(path=tmp_path / "tutor-review.png", full_page=True)

    # The student sees the decision and its reason, and their line turns present.
    expect(item).to_contain_text("Your tutor accepted this check", timeout=ms(30))
    expect(item).to_contain_text(REASON)
    expect(page.locator("#my-attendance")).to_have_text("Attendance for this lesson: Present")
    me = api.call("GET", f"/api/lessons/{room.lesson_id}/attendance/me", nia["token"])
    assert me["students"][0]["status"] == "present"
    assert me["students"][0]["reviewed"] == {"accepted": 1, "upheld": 0, "pending": 0}
    page.screenshot(path=tmp_path / "student-accepted.png", full_page=True)


def test_a_decision_reaches_an_open_dashboard_live(
    api: Api,
    base_url: str,
    browser_with: Callable[[Camera], Browser],
    tabs: list[Tab],
) -> None:
    room = api.classroom(["Omar Haddad"], policy=POLICY)
    (omar,) = room.students
    tutor = open_dashboard(browser_with("face"), base_url, room)
    tabs.append(tutor)
    student = join_lesson(browser_with("wall"), base_url, room, omar)
    tabs.append(student)
    dashboard = tutor.page
    dashboard.evaluate("window.notReloaded = true")
    dashboard.get_by_role("button", name="Check everyone now").click()
    row = roster_row(dashboard, omar)
    expect(row).to_have_attribute("data-state", "flagged", timeout=ms(30))
    expect(dashboard.locator("#review-count")).to_have_text(" (1 waiting)", timeout=ms(15))

    (flagged,) = api.call(
        "GET", f"/api/lessons/{room.lesson_id}/prompts?needs_review=true", room.tutor["token"]
    )["items"]
    api.call(
        "POST",
        f"/api/prompts/{flagged['id']}/review",
        room.tutor["token"],
        {"decision": "accept", "reason": "seen on the video call"},
        expect=201,
    )
    mark = row.locator(".timeline .mark.failed")
    expect(mark).to_have_attribute("data-review", "accepted", timeout=ms(15))
    expect(mark).to_have_attribute("title", re.compile("accepted on review"))
    expect(dashboard.locator("#review-count")).to_have_text("")
    assert dashboard.evaluate("window.notReloaded") is True
