"""Face enrolment in the real pages, then identity in the same lesson: the student's separate
consent, frames taken from the camera (facing it, then with the head turned), the tutor's
approval with the picture; then checks the tutor asks for, answered at the student's page by
the enrolled face (same person) and by someone else (different person)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from testkit import synth
from testkit.api import Classroom, User
from testkit.blocking import BlockingApi as Api
from testkit.server import running_server
from tests.browser.browsers import launch
from tests.browser.driver import (
    PHONE,
    Tab,
    join_lesson,
    ms,
    open_dashboard,
    open_tab,
    roster_row,
    sign_in,
)
from tests.browser.video import FPS, HEIGHT, WIDTH, _yuv420, write_y4m

# Every prompt compares the face with the approved enrolment; no head-turn challenges, so a
# still picture of a face facing the camera answers every check.
IDENTITY_EVERY_PROMPT = {"identity": "every", "challenge_probability": 0.0}


def _enrolment_video(path: Path) -> Path:
    """Four seconds facing the camera, then four with the head turned to her left (looped):
    the page takes its frames about 1.5 s and 2.5 s after the camera starts, then turns."""
    front = b"FRAME\n" + _yuv420(synth.portrait_frame(synth.ASTRONAUT, 0.45))
    turned = b"FRAME\n" + _yuv420(synth.turned_frame(synth.ASTRONAUT, -30.0))
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + front * (4 * FPS) + turned * (4 * FPS))
    return path


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of this module's own, with an identity worker (the shared one has none)."""
    with running_server(tmp_path_factory.mktemp("faces"), identity_workers=1) as url:
        yield url


@pytest.fixture(scope="module")
def enrolling_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = _enrolment_video(tmp_path_factory.mktemp("enrol") / "enrol.y4m")
    browser = launch(playwright, "face", {"face": video})
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def facing_browsers(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Browser]]:
    """A camera that always shows the enrolled face (the astronaut, as framed for enrolment)
    facing it, and one that shows someone else (Grace Hopper) the same way."""
    folder = tmp_path_factory.mktemp("facing")
    faces = {"same": synth.ASTRONAUT, "other": synth.HOPPER}
    browsers = {
        name: launch(
            playwright,
            "face",
            {"face": write_y4m(folder / f"{name}.y4m", synth.portrait_frame(face, 0.45))},
        )
        for name, face in faces.items()
    }
    yield browsers
    for browser in browsers.values():
        browser.close()


def _enrol(page_tab: Tab, room: Classroom, student: User, tmp_path: Path) -> None:
    """Through the identity card of the lesson page: consent, then the camera's frames."""
    page = page_tab.page
    sign_in(page, student)
    page.locator(f'li[data-lesson-id="{room.lesson_id}"] a').click()

    card = page.locator("#identity")
    expect(card).to_be_visible()
    expect(page.locator("#identity-state")).to_contain_text("Not enrolled")
    expect(page.locator("#identity-video")).to_be_hidden()  # no camera before consent
    page.get_by_role("button", name="Enrol my face…").click()
    expect(page.get_by_role("heading", name="Your consent to biometric data")).to_be_visible()
    for words in ("What is computed", "How long", "How to withdraw", "If you do not agree"):
        expect(page.locator("#identity-points")).to_contain_text(words)
    page.get_by_role("button", name="I agree — enrol my face").click()
    expect(page.locator("#identity-step")).to_contain_text("turn your head", timeout=ms(15))
    expect(page.locator("#identity-message")).to_contain_text(
        "waits for your tutor's approval", timeout=ms(40)
    )
    expect(page.locator("#identity-state")).to_contain_text("waiting for your tutor")
    page.screenshot(path=tmp_path / "student-enrolled.png", full_page=True)


def _approve(tutor: Tab, api: Api, student: User, tmp_path: Path) -> None:
    """The tutor sees the enrolment picture and approves it."""
    review = tutor.page.locator("#face-review")
    expect(review).to_be_visible()
    expect(review).to_contain_text(student["name"])
    picture = review.get_by_role("img", name=f"Enrolment picture of {student['name']}")
    expect(picture).to_have_attribute("src", re.compile(r"^blob:"))
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    tutor.page.screenshot(path=tmp_path / "tutor-review.png", full_page=True)
    review.get_by_role("button", name="Approve").click()
    expect(tutor.page.locator("#face-review-message")).to_contain_text("approved")
    state = api.call("GET", f"/api/users/{student['id']}/face", api.admin)
    assert state["state"] == "approved"


def test_an_enrolled_face_is_told_from_someone_else_at_later_checks(
    api: Api,
    base_url: str,
    enrolling_browser: Browser,
    facing_browsers: dict[str, Browser],
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Eileen Collins"], policy=IDENTITY_EVERY_PROMPT)
    (eileen,) = room.students
    enrolling = open_tab(enrolling_browser, base_url, PHONE)
    tabs.append(enrolling)
    _enrol(enrolling, room, eileen, tmp_path)
    tutor = open_dashboard(enrolling_browser, base_url, room)
    tabs.append(tutor)
    dashboard = tutor.page
    row = roster_row(dashboard, eileen)
    _approve(tutor, api, eileen, tmp_path)
    enrolling.close()  # her camera, for the lesson, is opened afresh below
    tabs.remove(enrolling)

    # Later in the lesson: the tutor asks for a check, and the enrolled face answers it.
    same = join_lesson(facing_browsers["same"], base_url, room, eileen)
    tabs.append(same)
    expect(row).to_have_attribute("data-state", "waiting")
    row.get_by_role("button", name="Check Eileen Collins now").click()
    expect(same.page.locator("#prompt")).to_be_visible()
    expect(same.page.locator("#my-state")).to_have_text(
        "Verified ✓ — you are checked in.", timeout=ms(30)
    )
    expect(row).to_have_attribute("data-state", "verified", timeout=ms(20))
    identity = row.locator("td.identity")
    expect(identity).to_have_attribute("data-identity", "matched")
    expect(identity).to_have_text("✓ Same person")
    expect(row.locator("td.checks")).to_have_text("1 of 1 passed · 0 failed · 0 missed")
    dashboard.screenshot(path=tmp_path / "tutor-same-person.png", full_page=True)
    same.close()
    tabs.remove(same)
    expect(row).to_have_attribute("data-state", "offline", timeout=ms(20))

    # Someone else at her page, signed in as her, answers the next check.
    other = join_lesson(facing_browsers["other"], base_url, room, eileen)
    tabs.append(other)
    expect(row).not_to_have_attribute("data-state", "offline")  # her last result shows again
    check_now = row.get_by_role("button", name="Check Eileen Collins now")
    expect(check_now).to_be_enabled()
    check_now.click()
    expect(other.page.locator("#prompt")).to_be_visible()
    my_state = other.page.locator("#my-state")
    expect(my_state).to_have_text(
        "Not verified: The person in view did not match your enrolment photo.", timeout=ms(30)
    )
    expect(my_state).to_have_attribute("data-state", "flagged")
    expect(row).to_have_attribute("data-state", "flagged", timeout=ms(20))
    expect(row).to_have_attribute("data-outcome", "different_person")
    expect(row.locator("td.state")).to_contain_text("Not the enrolled student")
    expect(identity).to_have_attribute("data-identity", "mismatch")
    expect(identity).to_have_text("✗ Different person")
    expect(row.locator("td.checks")).to_have_text("1 of 2 passed · 1 failed · 0 missed")
    other.page.screenshot(path=tmp_path / "student-different-person.png", full_page=True)
    dashboard.screenshot(path=tmp_path / "tutor-different-person.png", full_page=True)

    # The attendance report counts both comparisons.
    report = api.call("GET", f"/api/lessons/{room.lesson_id}/attendance", api.admin)
    (line,) = report["students"]
    assert line["identity"] == {"checked": 2, "matched": 1, "mismatched": 1, "inconclusive": 0}
