"""`trust-lesson --version` and `trust-lesson check`, the first commands on a new host: what
the server would use, what is wrong (naming the variable), exit 1 on any problem; against real
PostgreSQL and Redis as well as the embedded default."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from testkit.ports import free_port
from testkit.services import fresh_postgres, migrate, redis_available
from tests.ops.processes import run


def test_version(tmp_path: Path) -> None:
    done = run(["--version"], tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("trust-lesson 0.")


def test_check_on_a_new_host_with_the_defaults(tmp_path: Path) -> None:
    done = run(["check"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "ok      database: sqlite+aiosqlite:///" in out
    assert "no file yet; created and migrated at start" in out
    assert "ok      message queue: none" in out
    assert "ok      vision: mediapipe-" in out
    assert "TL_SECRET_KEY: unset: with SQLite a random key is made beside the database" in out
    assert out.rstrip().endswith("ready to serve")
    assert not (tmp_path / "ops.db").exists()  # looked, created nothing
    assert "XNNPACK" not in done.stdout + done.stderr


def test_check_with_postgres_and_redis(tmp_path: Path) -> None:
    redis_url = redis_available()
    with fresh_postgres() as database_url:
        env = {
            "TL_DATABASE_URL": database_url,
            "TL_MESSAGE_QUEUE_URL": redis_url,
            "TL_MESSAGE_QUEUE_CHANNEL": f"tl-test-{secrets.token_hex(4)}",
        }
        before = run(["check"], tmp_path, **env)
        assert before.returncode == 1
        assert "PROBLEM database: postgresql+asyncpg://" in before.stdout
        assert "run `trust-lesson migrate`" in before.stdout
        assert "ok      message queue: redis://" in before.stdout
        assert "1 problem(s)" in before.stdout

        migrate(database_url)
        after = run(["check"], tmp_path, **env)
        assert after.returncode == 0, after.stdout
        assert "(up to date)" in after.stdout


@pytest.mark.parametrize("part", ["database", "message queue"])
def test_check_names_what_it_cannot_reach(tmp_path: Path, part: str) -> None:
    closed = free_port()  # nothing listens there
    env = (
        {"TL_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/none"}
        if part == "database"
        else {"TL_MESSAGE_QUEUE_URL": f"redis://127.0.0.1:{closed}/0"}
    )
    done = run(["check"], tmp_path, **env)
    assert done.returncode == 1
    assert f"PROBLEM {part}: " in done.stdout
    assert "not reachable" in done.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"TL_VISION_WORKERS": "0"},
            "TL_VISION_WORKERS=0: Input should be greater than or equal to 1 "
            "(allowed: at least 1, at most 64)",
        ),
        (
            {"TL_MIN_FACE_CONFIDENCE": "1.5"},
            "TL_MIN_FACE_CONFIDENCE=1.5: Input should be less than 1 "
            "(allowed: more than 0.0, less than 1.0)",
        ),
        (
            {"TL_HEARTBEAT_S": "10"},
            "TL_PROCESS_STALE_S (20) must be more than twice TL_HEARTBEAT_S (10)",
        ),
        ({"TL_LOG_FORMAT": "xml"}, "TL_LOG_FORMAT=xml: Input should be 'text' or 'json'"),
        ({"TL_CORS_ORIGINS": "https://a.example"}, "TL_CORS_ORIGINS: not valid JSON"),
    ],
)
def test_a_bad_setting_is_named_by_its_variable(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    done = run(["check"], tmp_path, **env)
    assert done.returncode == 1
    assert expected in done.stderr
    assert "vision_workers" not in done.stderr  # the field's name inside the code


def test_secrets_are_not_echoed(tmp_path: Path) -> None:
    done = run(["check"], tmp_path, TL_ENV="production", TL_SECRET_KEY="hunter2")
    assert done.returncode == 1
    assert "TL_SECRET_KEY" in done.stderr
    assert "hunter2" not in done.stderr
