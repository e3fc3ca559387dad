"""The README's Python student runs as written: it signs in, joins, answers prompts with a
photo (trying again while the server allows), prints the verdicts and stops at the lesson's
end; a refused join exits 1."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

from testkit.frames import coffee_jpeg, face_jpeg
from testkit.timing import timeout
from tests.ops.processes import run, serving

ROOT = Path(__file__).resolve().parents[2]


def readme_student() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("A complete student in Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


class Student:
    """The README's script in its own process; its output collected as it comes."""

    def __init__(self, script: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, within: float) -> None:
        deadline = time.monotonic() + timeout(within)
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None or self._reader.is_alive(), self.lines
            assert time.monotonic() < deadline, f"no {text!r} in {self.lines}"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def finish(self, within: float = 30) -> int:
        code = self.proc.wait(timeout=timeout(within))
        self._reader.join(timeout=5)
        return code


def test_the_install_line_names_the_right_extra() -> None:
    readme = (ROOT / "README.md").read_text()
    assert 'pip install "python-socketio[asyncio-client]"' in readme
    assert "asyncio_client]" not in readme


def test_the_readme_student_runs_as_written(tmp_path: Path) -> None:
    script = tmp_path / "student.py"
    script.write_text(readme_student())
    (tmp_path / "face.jpg").write_bytes(face_jpeg())
    (tmp_path / "cup.jpg").write_bytes(coffee_jpeg())
    demo = run(["demo"], tmp_path)
    assert demo.returncode == 0, demo.stderr
    lesson_id = next(line.split()[1] for line in demo.stdout.splitlines() if "lesson:" in line)

    with serving(tmp_path) as (url, _log):

        def token(email: str) -> str:
            body = {"email": email, "password": "demo-password"}
            return str(httpx.post(f"{url}/api/auth/login", json=body).json()["access_token"])

        admin = {"authorization": f"Bearer {token('admin@demo.test')}"}
        course_id = httpx.get(f"{url}/api/lessons/{lesson_id}", headers=admin).json()["course_id"]
        # No turn challenges: the photo cannot turn its head.
        patched = httpx.patch(
            f"{url}/api/courses/{course_id}",
            headers=admin,
            json={"policy": {"challenge_probability": 0}},
        )
        assert patched.status_code == 200, patched.text

        common = [url, "demo-password", lesson_id]
        ada = Student(script, url, "ada@demo.test", *common[1:], str(tmp_path / "face.jpg"))
        ben = Student(script, url, "ben@demo.test", *common[1:], str(tmp_path / "cup.jpg"))
        stranger = Student(
            script,
            url,
            "cleo@demo.test",
            "demo-password",
            str(uuid.uuid4()),
            str(tmp_path / "face.jpg"),
        )
        try:
            assert stranger.finish() == 1
            assert any(line.startswith("refused:") for line in stranger.lines), stranger.lines

            for student in (ada, ben):
                student.wait_for("joined lesson", 30)
            # The demo course prompts 3-8 s after joining.
            ada.wait_for("verdict: passed", 60)
            ben.wait_for("verdict: failed", 60)

            tutor = {"authorization": f"Bearer {token('tutor@demo.test')}"}
            ended = httpx.post(f"{url}/api/lessons/{lesson_id}/end", headers=tutor)
            assert ended.status_code == 200, ended.text
            assert ada.finish() == 0
            assert ben.finish() == 0
        finally:
            for student in (ada, ben, stranger):
                student.stop()
    assert "check: look at the camera (within 15 s)" in ada.lines
    assert "frame: present - ok" in ada.lines
    # The cup: three tries, each answered, the last one final.
    assert sum(line.startswith("frame: no_face") for line in ben.lines) == 3, ben.lines
    for student in (ada, ben):
        assert student.lines[-1] == "the lesson has ended"
