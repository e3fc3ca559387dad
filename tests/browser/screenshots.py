"""Make the README's screenshots: a class mid-lesson on the tutor's dashboard, and a student's
page on a phone-sized screen (verified, and during a check). Uses the same server, browser
and fake cameras as the tests.

    .venv/bin/python -m tests.browser.screenshots docs
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from testkit.blocking import BlockingApi
from testkit.server import running_server
from tests.browser.browsers import launch, unavailable
from tests.browser.driver import join_lesson, ms, open_dashboard, roster_row
from tests.browser.video import face_video, no_face_video

ROUNDS = 3


def main(out: Path) -> None:
    reason = unavailable()
    if reason is not None:
        sys.exit(f"cannot take screenshots: {reason}")
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_server(Path(tmp)) as base_url,
        sync_playwright() as pw,
    ):
        videos = {
            "face": face_video(Path(tmp) / "face.y4m"),
            "wall": no_face_video(Path(tmp) / "wall.y4m"),
        }
        face, wall, blocked = (launch(pw, c, videos) for c in ("face", "wall", "blocked"))
        api = BlockingApi(base_url)
        room = api.classroom(
            ["Ada Lovelace", "Ben Okafor", "Cleo Park", "Dev Patel", "Eva Novak"],
            course_title="Defensive Driving — theory",
            lesson_title="Lesson 1: hazard perception",
            policy={"deadline_s": 6},
        )
        ada, ben, cleo, dev, _eva = room.students  # Eva never joins: offline
        tutor = open_dashboard(face, base_url, room)
        students = [
            join_lesson(face, base_url, room, ada),
            join_lesson(face, base_url, room, ben),
            join_lesson(wall, base_url, room, cleo),
            join_lesson(blocked, base_url, room, dev),
        ]
        dashboard = tutor.page
        for round_ in range(ROUNDS):
            dashboard.get_by_role("button", name="Check everyone now").click()
            expect(roster_row(dashboard, ada)).to_have_attribute("data-state", "checking")
            if round_ == ROUNDS - 1:
                expect(students[0].page.locator("#prompt")).to_be_visible()
                students[0].page.screenshot(path=out / "student-check.png", full_page=True)
            expect(dashboard.locator('#roster-body tr[data-state="checking"]')).to_have_count(
                0, timeout=ms(30)
            )
        expect(students[0].page.locator("#my-state")).to_contain_text("Verified")
        dashboard.locator("#action-status").evaluate("node => { node.textContent = '' }")
        dashboard.screenshot(path=out / "tutor.png", full_page=True)
        students[0].page.screenshot(path=out / "student.png", full_page=True)
        for tab in [tutor, *students]:
            tab.close()
        for browser in (face, wall, blocked):
            browser.close()
        api.close()
    print(f"wrote tutor.png, student.png and student-check.png in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
