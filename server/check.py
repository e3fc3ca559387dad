"""`trust-lesson check`: what the server would use on this host, and what is wrong with it.

The settings have been read and validated already (a bad one stops the command before this,
naming the variable). Here each part is reached as the server would reach it: the database
and its schema, Redis when configured, and the vision models. One line per part; the exit
status is 1 when any part has a problem.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from server.logs import redact_url
from server.settings import Settings
from server.token_secret import weakness

TIMEOUT_S = 5.0


@dataclass
class Finding:
    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok     ' if self.ok else 'PROBLEM'} {self.part}: {self.detail}"


async def run_check(settings: Settings) -> int:
    findings = [
        *_settings(settings),
        await _database(settings),
        await _message_queue(settings),
        await asyncio.to_thread(_vision, settings),
    ]
    for finding in findings:
        print(finding.line())
    problems = sum(not f.ok for f in findings)
    print(f"trust-lesson: {problems} problem(s)" if problems else "trust-lesson: ready to serve")
    return 1 if problems else 0


def _settings(settings: Settings) -> list[Finding]:
    found = [
        Finding(
            "settings",
            True,
            f"TL_ENV={settings.env}, TL_VISION_WORKERS={settings.vision_workers}, "
            f"TL_VISION_MAX_PENDING={settings.vision_max_pending}, "
            f"TL_LOG_FORMAT={settings.log_format}, TL_PUBLIC_URL={settings.public_url}",
        )
    ]
    if settings.secret_key is None:
        found.append(
            Finding(
                "TL_SECRET_KEY",
                True,
                "unset: with SQLite a random key is made beside the database on first start "
                "(with PostgreSQL it must be set, the same in every process)",
            )
        )
    elif (reason := weakness(settings.secret_key)) is not None:
        found.append(Finding("TL_SECRET_KEY", False, f"unsafe: {reason}"))
    return found


async def _database(settings: Settings) -> Finding:
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision

    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return Finding("database", True, f"{shown}: in memory, gone when the process ends")
        missing = await asyncio.to_thread(_missing_file, Path(url.database))
        if missing is not None:
            return Finding("database", missing[0], f"{shown}: {missing[1]}")
    try:
        engine = make_engine(settings.database_url)
    except Exception as exc:
        return Finding("database", False, f"{shown}: {type(exc).__name__}: {exc}")
    try:
        async with asyncio.timeout(TIMEOUT_S):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            revision = await current_revision(engine)
    except Exception as exc:
        return Finding("database", False, f"{shown}: not reachable: {_reason(exc)}")
    finally:
        await engine.dispose()
    head = head_revision()
    if revision == head:
        return Finding("database", True, f"{shown}: reachable, schema {revision} (up to date)")
    if url.get_backend_name() == "sqlite":
        return Finding(
            "database", True, f"{shown}: reachable, schema {revision}; migrated to {head} at start"
        )
    return Finding(
        "database",
        False,
        f"{shown}: reachable, schema {revision or 'empty'}, expected {head}: "
        "run `trust-lesson migrate`",
    )


def _missing_file(path: Path) -> tuple[bool, str] | None:
    if path.exists():
        return None
    if path.resolve().parent.is_dir():
        return True, "no file yet; created and migrated at start"
    return False, f"no file yet, and its folder {path.resolve().parent} does not exist"


async def _message_queue(settings: Settings) -> Finding:
    if not settings.message_queue_url:
        return Finding("message queue", True, "none (TL_MESSAGE_QUEUE_URL): one process only")
    import redis.asyncio as redis

    shown = redact_url(settings.message_queue_url)
    client = redis.Redis.from_url(settings.message_queue_url, socket_connect_timeout=TIMEOUT_S)
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await client.ping()
    except Exception as exc:
        return Finding("message queue", False, f"{shown}: not reachable: {_reason(exc)}")
    finally:
        await client.aclose()
    return Finding(
        "message queue", True, f"{shown}: reachable, channel {settings.message_queue_channel}"
    )


def _vision(settings: Settings) -> Finding:
    from vision import DETECTOR_VERSION, FaceDetector
    from vision.native_log import sifted_native_output

    started = time.perf_counter()
    try:
        with sifted_native_output(), FaceDetector(settings.min_face_confidence) as detector:
            detector.warm_up()
    except Exception as exc:
        return Finding("vision", False, f"the models do not load: {_reason(exc)}")
    took = (time.perf_counter() - started) * 1000
    return Finding(
        "vision",
        True,
        f"{DETECTOR_VERSION}: models load and run ({took:.0f} ms); "
        f"{settings.vision_workers} workers at start",
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT_S:.0f} s"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")
