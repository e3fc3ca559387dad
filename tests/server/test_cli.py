"""The `trust-lesson` command as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.timing import timeout


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = (
        {k: v for k, v in os.environ.items() if not k.startswith("TL_")}
        | {"TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}
        | env
    )
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=timeout(120),
        check=False,
    )


def test_demo_prints_the_lesson_and_logins_and_is_idempotent(tmp_path: Path) -> None:
    first = run(["demo", "--if-empty"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "demo created" in first.stdout
    for login in ("admin@demo.test", "tutor@demo.test", "ada@demo.test", "demo-password"):
        assert login in first.stdout
    lesson_line = next(line for line in first.stdout.splitlines() if "lesson:" in line)
    lesson_id = lesson_line.split()[1]
    assert "namespaces /student and /tutor" in first.stdout
    # The two pages a person opens to watch the loop work.
    assert f"/tutor/lessons/{lesson_id}" in first.stdout
    assert f"/student/lessons/{lesson_id}" in first.stdout

    again = run(["demo", "--if-empty"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already there" in again.stdout
    assert lesson_id in again.stdout  # the same lesson, not a second demo


STRONG_SECRET = "Zq3vV0m2r8kX1pN6tY4cW9bE7hJ5sL0aF2dG8uR3iO6yT1eQ"


def test_production_refuses_to_start_without_a_face_key(tmp_path: Path) -> None:
    result = run(["serve"], tmp_path, TL_ENV="production", TL_SECRET_KEY=STRONG_SECRET)
    assert result.returncode == 2
    assert "TL_FACE_KEY must be set in production" in result.stderr


def test_production_refuses_the_old_built_in_secret(tmp_path: Path) -> None:
    # With no key at all a key is made beside the database (tests/security/test_secrets.py).
    old = "development-only-secret-never-use-in-production"
    result = run(["serve"], tmp_path, TL_ENV="production", TL_SECRET_KEY=old)
    assert result.returncode == 2
    assert "TL_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_a_signing_key(tmp_path: Path) -> None:
    result = run(
        ["serve"],
        tmp_path,
        TL_ENV="production",
        TL_SECRET_KEY=STRONG_SECRET,
        TL_FACE_KEY="A" * 43 + "=",
    )
    assert result.returncode == 2
    assert "TL_SIGNING_KEY must be set in production" in result.stderr


def test_production_refuses_the_demo(tmp_path: Path) -> None:
    result = run(
        ["demo"],
        tmp_path,
        TL_ENV="production",
        TL_SECRET_KEY="Zq3vV0m2r8kX1pN6tY4cW9bE7hJ5sL0aF2dG8uR3iO6yT1eQ",
        TL_FACE_KEY="A" * 43 + "=",
        TL_SIGNING_KEY="A" * 43,
    )
    assert result.returncode == 2
    assert "not seeded in production" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TL_ADMIN_EMAIL": "a@b.example"}, "TL_ADMIN_PASSWORD"),
        ({"TL_VISION_WORKERS": "zero"}, "TL_VISION_WORKERS=zero"),
        ({"TL_ENV": "staging"}, "TL_ENV=staging"),
    ],
)
def test_bad_settings_are_named_at_start(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = run(["migrate"], tmp_path, **env)
    assert result.returncode == 2
    assert message in result.stderr


def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    result = run(["migrate"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo.db").exists()
