"""The README's curl walkthrough runs in bash as written, twice in a row against the same
server (no 409 on the second run), and leaves no file behind."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from testkit.timing import timeout
from tests.ops.processes import run, serving

ROOT = Path(__file__).resolve().parents[2]


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[
        readme.index("## A lesson, step by step") : readme.index("**The course policy**")
    ]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    return "\n".join(blocks)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walkthrough_runs_twice(tmp_path: Path) -> None:
    server_dir = tmp_path / "server"
    shell_dir = tmp_path / "shell"
    server_dir.mkdir()
    shell_dir.mkdir()
    assert run(["demo"], server_dir).returncode == 0
    with serving(server_dir) as (url, _log):
        script = walkthrough().replace("http://127.0.0.1:8000", url)
        outputs = []
        for _ in range(2):
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                capture_output=True,
                text=True,
                cwd=shell_dir,
                timeout=timeout(120),
            )
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout)
    for out in outputs:
        compact = out.replace(" ", "")
        assert "Sam Student" in out  # their own line, the report and the CSV
        assert '"status":"absent"' in compact  # no check ran: absent, said the same each time
        assert "student_id," in out  # the CSV's header row
        assert '"disabled":true' in compact
        assert '"action":"user.update"' in compact  # the audit trail
    assert list(shell_dir.iterdir()) == []
