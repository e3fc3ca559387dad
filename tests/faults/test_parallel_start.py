"""Processes started together on an empty database all come up (the README's production
example, several at once): the first admin, the demo and SQLite's self-migration are each
made once, whoever gets there first, and no process dies on a unique key."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from storage.db import make_engine, make_sessions
from storage.models import Course, Lesson, Role, User
from testkit.processes import ROOT
from testkit.services import cluster_env, fresh_postgres, migrate
from testkit.timing import timeout
from tests.faults.services import servers

PROCESSES = 3


async def _count(url: str, what: object) -> int:
    engine = make_engine(url)
    try:
        async with make_sessions(engine)() as s:
            return int(await s.scalar(what) or 0)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


def _admins(url: str) -> int:
    return asyncio.run(
        _count(url, select(func.count()).select_from(User).where(User.role == Role.ADMIN))
    )


def _logs(tmp: Path) -> str:
    return "".join(p.read_text() for p in tmp.glob("server-*.log"))


def test_processes_started_together_on_a_fresh_postgres_all_serve_with_one_admin(
    tmp_path: Path,
) -> None:
    with fresh_postgres() as url:
        migrate(url)
        env = cluster_env(url, None)
        with servers([env] * PROCESSES, tmp_path) as started:
            assert all(s.health().status_code == 200 for s in started)  # 3 of 3 serving
        assert _admins(url) == 1
        assert "uq_users_email" not in _logs(tmp_path)


def test_processes_started_together_on_an_empty_sqlite_file_all_serve(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = cluster_env(url, None)
    with servers([env] * PROCESSES, tmp_path) as started:
        # Each migrated the one file, or found it migrated; each serves.
        assert all(s.health().status_code == 200 for s in started)
    assert _admins(url) == 1
    assert " ERROR " not in _logs(tmp_path)


def test_demos_seeded_together_on_an_empty_database_make_one_demo(tmp_path: Path) -> None:
    with fresh_postgres() as url:
        env = {**os.environ, "TL_DATABASE_URL": url, "TL_ENV": "development"}
        seeding = [
            subprocess.Popen(
                [sys.executable, "-m", "server.cli", "demo", "--if-empty"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        outputs = [p.communicate(timeout=timeout(120))[0] for p in seeding]
        assert [p.returncode for p in seeding] == [0] * PROCESSES, outputs
        # Migrated once (the others waited their turn), one demo course and lesson.
        assert asyncio.run(_count(url, select(func.count()).select_from(Course))) == 1
        assert asyncio.run(_count(url, select(func.count()).select_from(Lesson))) == 1
        assert sum("demo created" in o for o in outputs) == 1
        assert _admins(url) == 1
