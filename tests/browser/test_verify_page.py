"""The certificate, from the student's button to an employer's check on /verify."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, expect

from testkit.blocking import BlockingApi as Api
from tests.browser.browsers import Camera
from tests.browser.driver import DESKTOP, open_tab, sign_in


def test_a_student_downloads_a_certificate_that_verify_accepts_and_a_tampered_one_it_refuses(
    browser_with: Callable[[Camera], Browser], base_url: str, tmp_path: Path
) -> None:
    api = Api(base_url)
    try:
        room = api.classroom(["Ada Lovelace"])
        api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    finally:
        api.close()
    browser = browser_with("face")
    student = open_tab(browser, base_url, DESKTOP)
    employer = open_tab(browser, base_url, DESKTOP)
    try:
        sign_in(student.page, room.students[0])
        # An ended lesson is no longer listed: the student comes back to its page.
        student.page.goto(f"/student/lessons/{room.lesson_id}")
        button = student.page.get_by_role("button", name="Download my attendance certificate")
        with student.page.expect_download() as download:
            button.click()
        pdf = tmp_path / "certificate.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")

        page = employer.page
        page.goto("/verify")
        page.get_by_label("Certificate or signed record").set_input_files(pdf)
        expect(page.locator("#verdict")).to_have_text("Valid: genuine and unchanged")
        expect(page.locator("#facts")).to_contain_text("Ada Lovelace")
        expect(page.locator("#facts")).to_contain_text(room.course_title)

        tampered = bytearray(pdf.read_bytes())
        tampered[len(tampered) // 2] ^= 0x01
        page.get_by_label("Certificate or signed record").set_input_files(
            {"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": bytes(tampered)}
        )
        expect(page.locator("#verdict")).to_have_text("Not valid")
        expect(page.locator("#summary")).to_contain_text("cannot be trusted")
        assert student.unexpected_errors() == []
        assert employer.unexpected_errors() == []
    finally:
        student.close()
        employer.close()
