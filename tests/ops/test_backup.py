"""`trust-lesson backup PATH`: a consistent copy of the embedded database taken while the
server runs and writes, that a server then starts from (the restore)."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import closing
from pathlib import Path

import httpx

from tests.ops.processes import run, serving


def _count(db: Path, table: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(n)


def _admin(url: str) -> dict[str, str]:
    r = httpx.post(
        f"{url}/api/auth/login", json={"email": "admin@demo.test", "password": "demo-password"}
    )
    r.raise_for_status()
    return {"authorization": f"Bearer {r.json()['access_token']}"}


def test_backup_while_the_server_writes_then_restore(tmp_path: Path) -> None:
    assert run(["demo"], tmp_path).returncode == 0
    with serving(tmp_path) as (url, _log):
        headers = _admin(url)
        stop = threading.Event()
        added: list[int] = []

        def keep_writing() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
                while not stop.is_set():
                    email = f"s-{uuid.uuid4().hex[:8]}@school.example"
                    body = {"email": email, "name": "S", "role": "student", "password": "x" * 12}
                    added.append(http.post("/api/users", json=body).status_code)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            copies = []
            for i in range(3):
                dest = tmp_path / "backups" / f"copy-{i}.db"
                dest.parent.mkdir(exist_ok=True)
                done = run(["backup", str(dest)], tmp_path)
                assert done.returncode == 0, done.stderr
                assert f"to {dest}" in done.stdout
                copies.append(dest)
        finally:
            stop.set()
            writer.join()
    assert added.count(201) > 0
    counts = [_count(copy, "users") for copy in copies]
    assert counts == sorted(counts)  # each copy is one moment, later ones hold more
    for copy in copies:
        with closing(sqlite3.connect(copy)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file

    # Restore: a server started on the copy has what was there when it was taken.
    restored = tmp_path / "restored"
    restored.mkdir()
    (restored / "ops.db").write_bytes(copies[-1].read_bytes())
    with serving(restored) as (url, _log):
        headers, users, cursor = _admin(url), 0, ""
        while cursor is not None:
            page = httpx.get(f"{url}/api/users?limit=200&cursor={cursor}", headers=headers).json()
            users, cursor = users + len(page["items"]), page["next_cursor"]
    assert users == counts[-1]


def test_backup_refuses_to_overwrite_or_invent(tmp_path: Path) -> None:
    missing = run(["backup", str(tmp_path / "copy.db")], tmp_path)
    assert missing.returncode == 2
    assert "no database at" in missing.stderr
    assert not (tmp_path / "ops.db").exists()  # did not create an empty one
    assert not (tmp_path / "copy.db").exists()

    assert run(["migrate"], tmp_path).returncode == 0
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"keep me")
    refused = run(["backup", str(taken)], tmp_path)
    assert refused.returncode == 2
    assert "exists" in refused.stderr
    assert taken.read_bytes() == b"keep me"


def test_backup_of_postgres_points_to_its_tools(tmp_path: Path) -> None:
    done = run(
        ["backup", str(tmp_path / "x.db")],
        tmp_path,
        TL_DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:5432/x",
    )
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
