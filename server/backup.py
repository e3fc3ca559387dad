"""`trust-lesson backup PATH`: a consistent copy of the embedded SQLite database.

SQLite's online backup reads the database as one snapshot, so the copy is consistent even
while the server writes (WAL mode lets the server carry on meanwhile). The copy is written
beside its destination first and renamed into place once it is checked. PostgreSQL is backed
up with its own tools (README: Backups).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from server.settings import Settings


def backup_command(settings: Settings, dest: Path) -> int:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        print(
            "trust-lesson: backup copies the embedded SQLite database; for "
            f"{url.get_backend_name()} use its own tools (pg_dump: see the README)",
            file=sys.stderr,
        )
        return 2
    if url.database in (None, "", ":memory:"):
        print("trust-lesson: an in-memory database cannot be backed up", file=sys.stderr)
        return 2
    source = Path(url.database)
    if not source.is_file():
        print(f"trust-lesson: no database at {source}", file=sys.stderr)
        return 2
    if dest.exists():
        print(f"trust-lesson: {dest} exists; choose a new file", file=sys.stderr)
        return 2
    try:
        pages, revision = copy(source, dest)
    except (OSError, sqlite3.Error) as exc:
        print(f"trust-lesson: backup failed: {exc}", file=sys.stderr)
        return 1
    size = dest.stat().st_size
    print(
        f"trust-lesson: backed up {source} to {dest} "
        f"({size / 1024:.0f} KB, {pages} pages, schema {revision or 'empty'})"
    )
    return 0


def copy(source: Path, dest: Path) -> tuple[int, str | None]:
    """Copy ``source`` to ``dest`` with SQLite's online backup; returns (pages, revision)."""
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        # mode=rw: never create an empty database where the real one was expected.
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True, timeout=30)
        with closing(src), closing(sqlite3.connect(partial)) as out:
            # One step (pages=-1): the whole database as of one moment.
            src.backup(out, pages=-1)
            out.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            (verdict,) = out.execute("PRAGMA quick_check").fetchone()
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"the copy does not check out: {verdict}")
            (pages,) = out.execute("PRAGMA page_count").fetchone()
            revision = _revision(out)
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    return int(pages), revision


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else str(row[0])
