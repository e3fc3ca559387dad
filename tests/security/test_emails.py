"""One person, one email: addresses that read the same are the same address, or refused.

The review made separate accounts from a fullwidth "ada@", one with a Cyrillic "a", one with a
zero-width space and one with a trailing dot, all reading "ada@" in reports.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from storage.db import make_engine
from storage.emails import normalise_email
from storage.migrate import _config, upgrade
from testkit.api import PASSWORD, Api
from testkit.timing import timeout


def wide(text: str) -> str:
    """The same letters in their fullwidth forms (U+FF01 onwards)."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


def unique() -> str:
    return f"ada{uuid.uuid4().hex[:8]}"


async def create(api: Api, admin: str, email: str) -> tuple[int, str]:
    r = await api.http.post(
        "/api/users",
        json={"email": email, "name": "Ada", "role": "student", "password": PASSWORD},
        headers={"authorization": f"Bearer {admin}"},
    )
    return r.status_code, r.text


async def test_look_alikes_of_an_existing_email_make_no_second_account(api: Api) -> None:
    admin = await api.admin_token()
    local = unique()
    assert (await create(api, admin, f"{local}@school.example"))[0] == 201
    fullwidth = wide(local)
    for same in (f"{fullwidth}@school.example", f"{local.upper()}@SCHOOL.EXAMPLE"):
        status, body = await create(api, admin, same)
        assert status == 409, (same, body)


@pytest.mark.parametrize(
    ("email", "why"),
    [
        ("\u0430da-{u}@school.example", "script"),  # a Cyrillic a, then Latin
        ("ada\u200b-{u}@school.example", "invisible"),  # zero-width space
        ("ada-{u}@school.example.", "dot"),
        ("ada\u0007-{u}@school.example", "invisible"),  # a control character
        ("ada-{u}@sch\u043eol.example", "script"),  # a Cyrillic o in the domain
    ],
    ids=["cyrillic-a", "zero-width-space", "trailing-dot", "control", "cyrillic-domain"],
)
async def test_addresses_that_only_look_like_others_are_refused_naming_the_field(
    api: Api, email: str, why: str
) -> None:
    admin = await api.admin_token()
    status, body = await create(api, admin, email.format(u=uuid.uuid4().hex[:6]))
    assert status == 422, body
    assert "email" in body and why in body


async def test_sign_in_and_changes_use_the_same_form(api: Api) -> None:
    admin = await api.admin_token()
    local = unique()
    created = await api.call(
        "POST",
        "/api/users",
        admin,
        {"email": f"{local}@Bücher.example", "name": "A", "role": "student", "password": PASSWORD},
        expect=201,
    )
    assert created["email"] == f"{local}@xn--bcher-kva.example"
    fullwidth = wide(local)
    # Typed either way, it is the same account.
    await api.login(f"{fullwidth}@bücher.example", PASSWORD)
    await api.login(f"{local}@xn--bcher-kva.example", PASSWORD)
    other = await api.add_user(admin, "student", "Other")
    r = await api.http.patch(
        f"/api/users/{other['id']}",
        json={"email": f"{local.upper()}@BÜCHER.example"},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 409, r.text
    r = await api.http.patch(
        f"/api/users/{other['id']}",
        json={"email": f"{local}\u200b@bücher.example"},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert r.status_code == 422 and "email" in r.text


def test_the_normal_form() -> None:
    assert normalise_email("  Ada@Example.ORG ") == "ada@example.org"
    assert normalise_email(f"{wide('ada')}@{wide('example')}.org") == "ada@example.org"
    assert normalise_email("STRASSE@example.org") == normalise_email("straße@example.org")
    assert normalise_email("ада@пример.рф") == "ада@xn--e1afmkfd.xn--p1ai"


async def test_the_migration_reports_existing_look_alikes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(_config(c), "b9f3b483d4df"))
            for email in (
                "ada@school.example",
                f"{wide('ada')}@school.example",
                "\u0430da@school.example",
                "ada\u200b@school.example",
                "ada@school.example.",
                "ben@school.example",
            ):
                await conn.execute(
                    text(
                        "INSERT INTO users (id, email, name, role, password_hash, disabled, "
                        "created_at, updated_at) VALUES (:id, :email, 'x', 'student', 'x', 0, "
                        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                    ),
                    {"id": uuid.uuid4().hex, "email": email},
                )
        with caplog.at_level(logging.WARNING):
            await upgrade(engine)
    finally:
        await engine.dispose()
    report = "\n".join(r.getMessage() for r in caplog.records)
    assert "look alike" in report
    for email in (
        f"{wide('ada')}@school.example",
        "\u0430da@school.example",
        "ada\u200b@school.example",
        "ada@school.example.",
    ):
        assert ascii(email) in report
    assert "ben@school.example" not in report

    # The same report on demand, with an exit status a script can act on.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TL_")} | {
        "TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "check-emails"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert ascii("\u0430da@school.example") in done.stdout
    assert "ben@school.example" not in done.stdout
