"""Face enrolment in the real pages: the student's separate consent, frames taken from the
camera (facing it, then with the head turned), and the tutor's approval with the picture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, expect

from testkit import synth
from testkit.blocking import BlockingApi as Api
from tests.browser.browsers import launch
from tests.browser.driver import PHONE, Tab, ms, open_dashboard, open_tab, sign_in
from tests.browser.video import FPS, HEIGHT, WIDTH, _yuv420


def _enrolment_video(path: Path) -> Path:
    """Four seconds facing the camera, then four with the head turned to her left (looped):
    the page takes its frames about 1.5 s and 2.5 s after the camera starts, then turns."""
    front = b"FRAME\n" + _yuv420(synth.portrait_frame(synth.ASTRONAUT, 0.45))
    turned = b"FRAME\n" + _yuv420(synth.turned_frame(synth.ASTRONAUT, -30.0))
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + front * (4 * FPS) + turned * (4 * FPS))
    return path


@pytest.fixture(scope="module")
def enrolling_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    video = _enrolment_video(tmp_path_factory.mktemp("enrol") / "enrol.y4m")
    browser = launch(playwright, "face", {"face": video})
    yield browser
    browser.close()


def test_a_student_enrols_with_consent_and_the_tutor_approves_seeing_the_picture(
    api: Api,
    base_url: str,
    enrolling_browser: Browser,
    tabs: list[Tab],
    tmp_path: Path,
) -> None:
    room = api.classroom(["Eileen Collins"])
    (eileen,) = room.students
    student = open_tab(enrolling_browser, base_url, PHONE)
    tabs.append(student)
    page = student.page
    sign_in(page, eileen)
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

    tutor = open_dashboard(enrolling_browser, base_url, room)
    tabs.append(tutor)
    review = tutor.page.locator("#face-review")
    expect(review).to_be_visible()
    expect(review).to_contain_text("Eileen Collins")
    picture = review.get_by_role("img", name="Enrolment picture of Eileen Collins")
    expect(picture).to_have_attribute("src", re.compile(r"^blob:"))
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    tutor.page.screenshot(path=tmp_path / "tutor-review.png", full_page=True)
    review.get_by_role("button", name="Approve").click()
    expect(tutor.page.locator("#face-review-message")).to_contain_text("approved")
    state = api.call("GET", f"/api/users/{eileen['id']}/face", api.admin)
    assert state["state"] == "approved"
