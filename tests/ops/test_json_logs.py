"""TL_LOG_FORMAT=json, on PostgreSQL and Redis as in production: every line of the log is one
JSON object with time, level, logger and message, and the ids that matter as fields (the
request id on access lines, the lesson, student and sid on a student's lines)."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
import socketio

from testkit.server import SECRET_KEY
from testkit.services import fresh_postgres, redis_available
from testkit.timing import timeout
from tests.ops.processes import run, serving


async def _student_visits(url: str, lesson_id: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=timeout(30)) as http:
        r = await http.post(
            "/api/auth/login", json={"email": "ada@demo.test", "password": "demo-password"}
        )
        r.raise_for_status()
        token = r.json()["access_token"]
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(
        url,
        namespaces=["/student"],
        auth={"token": token, "lesson_id": lesson_id},
        transports=["websocket"],
        wait_timeout=timeout(20),
    )
    sid = sio.get_sid("/student")
    assert sid is not None
    await sio.disconnect()
    await asyncio.sleep(0.5)  # the server logs the leave
    return sid


def _entries(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        entry = json.loads(line)  # every line, none of them plain text
        assert isinstance(entry, dict)
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert entry["time"].endswith("Z")
        entries.append(entry)
    return entries


def test_json_logs_on_postgres_and_redis(tmp_path: Path) -> None:
    redis_url = redis_available()
    with fresh_postgres() as database_url:
        env = {
            "TL_DATABASE_URL": database_url,
            # With a shared database every process signs tokens with the same secret.
            "TL_SECRET_KEY": SECRET_KEY,
            "TL_MESSAGE_QUEUE_URL": redis_url,
            "TL_MESSAGE_QUEUE_CHANNEL": f"tl-test-{secrets.token_hex(4)}",
            "TL_LOG_FORMAT": "json",
        }
        migrated = run(["migrate"], tmp_path, **env)
        assert migrated.returncode == 0, migrated.stderr
        # The migration's own lines are JSON too.
        assert all(json.loads(line) for line in migrated.stderr.splitlines() if line.strip())
        demo = run(["demo"], tmp_path, **env)
        assert demo.returncode == 0, demo.stderr
        lesson_id = next(line.split()[1] for line in demo.stdout.splitlines() if "lesson:" in line)

        with serving(tmp_path, **env) as (url, log):
            health = httpx.get(f"{url}/api/health", headers={"x-request-id": "probe-42"})
            assert health.headers["x-request-id"] == "probe-42"
            assert httpx.get(f"{url}/api/me").headers["x-request-id"]  # one made up
            sid = asyncio.run(_student_visits(url, lesson_id))

    entries = _entries(log)
    messages = [e["message"] for e in entries]
    assert any(m.startswith("database: postgresql+asyncpg://") for m in messages), messages
    assert any(m.startswith("message queue: redis://") for m in messages), messages

    (access,) = [e for e in entries if e.get("request_id") == "probe-42"]
    assert access["logger"] == "uvicorn.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/health", 200)
    unauthorised = [e for e in entries if e.get("path") == "/api/me"]
    assert unauthorised[0]["status"] == 401
    assert len(unauthorised[0]["request_id"]) == 32

    joined = [e for e in entries if "joined lesson" in e["message"]]
    assert joined, messages
    assert joined[0]["sid"] == sid
    assert joined[0]["lesson"] == lesson_id
    assert joined[0]["student"] in joined[0]["message"]
    left = [e for e in entries if "left lesson" in e["message"]]
    assert left and left[0]["sid"] == sid and left[0]["lesson"] == lesson_id


def test_the_default_log_is_readable_text(tmp_path: Path) -> None:
    with serving(tmp_path) as (url, log):
        httpx.get(f"{url}/api/health", headers={"x-request-id": "probe-43"})
    text = log.read_text()
    assert not text.lstrip().startswith("{")
    assert '"GET /api/health HTTP/1.1" 200 [request_id=probe-43]' in text


def test_serve_log_format_option_wins(tmp_path: Path) -> None:
    with serving(tmp_path, "--log-format", "json", TL_LOG_FORMAT="text") as (_url, log):
        pass
    assert _entries(log)
