"""Signed documents end to end: a real server, a real lesson, the signed JSON and the
certificate PDF, checked by POST /api/verify and by `trust-lesson verify` offline."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records import credential
from records.keys import SigningKey, private_pem
from testkit.api import Api, make_classroom
from testkit.frames import face_jpeg
from testkit.lessons import join, prompted
from testkit.participants import Participant
from testkit.processes import ROOT
from testkit.server import running_server


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "verify", *args],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


@pytest.fixture
async def api(server: tuple[str, Path]) -> AsyncIterator[Api]:
    client = Api(server[0])
    yield client
    await client.close()


@pytest.fixture
async def ended_lesson(api: Api, server: tuple[str, Path]) -> AsyncIterator[dict[str, Any]]:
    """A lesson where one student passed a check, ended over HTTP."""
    room = await make_classroom(api, n_students=2)
    ada = room.students[0]
    await api.call("PATCH", f"/api/users/{ada['id']}", room.admin, {"name": "Zoë Ångström"})
    people: list[Participant] = []
    try:
        tutor = await join(people, server[0], "/tutor", room.tutor["token"], room.lesson_id)
        student = await join(people, server[0], "/student", ada["token"], room.lesson_id)
        prompt = await prompted(tutor, student, ada["id"])
        ack = await student.call(
            "capture", {"prompt_id": prompt["prompt_id"], "image": face_jpeg()}
        )
        assert ack["outcome"] == "present"
        await api.call("POST", f"/api/lessons/{room.lesson_id}/end", room.tutor["token"])
    finally:
        for p in people:
            await p.close()
    yield {"room": room, "ada": ada}


async def _keys_file(api: Api, tmp_path: Path) -> Path:
    keys = await api.call("GET", "/api/signing-keys", None)
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys))
    return path


async def test_the_signed_report_verifies_offline_and_online_and_a_change_does_not(
    api: Api, server: tuple[str, Path], ended_lesson: dict[str, Any], tmp_path: Path
) -> None:
    room = ended_lesson["room"]
    tutor = room.tutor["token"]
    # Sealed when it ended: the database's records match the seal.
    database = {"TL_DATABASE_URL": f"sqlite+aiosqlite:///{server[1]}"}
    checked = cli("--lesson", room.lesson_id, env=database)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"valid, lesson {room.lesson_id}, sealed at ")

    document = await api.call("GET", f"/api/lessons/{room.lesson_id}/attendance.signed.json", tutor)
    assert document["type"] == ["VerifiableCredential", "LessonAttendanceCredential"]
    assert document["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    lines = {line["name"]: line for line in document["credentialSubject"]["report"]["students"]}
    assert lines["Zoë Ångström"]["checks"]["passed"] == 1

    answer = (await api.http.post("/api/verify", content=json.dumps(document))).json()
    assert answer["valid"] is True and answer["lesson_id"] == room.lesson_id
    assert answer["says"]["subject"]["report"]["lesson"]["id"] == room.lesson_id

    keys = await _keys_file(api, tmp_path)
    signed = tmp_path / "attendance.signed.json"
    signed.write_text(json.dumps(document))
    ok = cli(str(signed), "--public-key", str(keys))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"valid, lesson {room.lesson_id}, sealed at ")
    assert f"key {document['proof']['verificationMethod'].split('#')[1]}" in ok.stdout

    forged = copy.deepcopy(document)
    forged["credentialSubject"]["report"]["students"][1]["status"] = "present"
    signed.write_text(json.dumps(forged))
    bad = cli(str(signed), "--public-key", str(keys))
    assert bad.returncode == 1
    assert "content changed" in bad.stderr
    answer = (await api.http.post("/api/verify", content=json.dumps(forged))).json()
    assert answer["valid"] is False and "content changed" in answer["problem"]

    # One byte of the file changed, anywhere in the signed content.
    raw = bytearray(json.dumps(document).encode())
    at = raw.index(b'"live_seconds": ') + len(b'"live_seconds": ')
    raw[at] = ord("9") if raw[at] != ord("9") else ord("8")
    signed.write_bytes(bytes(raw))
    assert cli(str(signed), "--public-key", str(keys)).returncode == 1

    # Someone with the database file turns the passed check into a failed one.
    with sqlite3.connect(server[1]) as db:
        (check_id,) = db.execute(
            "SELECT id FROM checks WHERE lesson_id = ?", (room.lesson_id.replace("-", ""),)
        ).fetchone()
        db.execute("UPDATE checks SET outcome = 'no_face' WHERE id = ?", (check_id,))
    tampered = cli("--lesson", room.lesson_id, env=database)
    assert tampered.returncode == 1
    named = str(uuid.UUID(hex=check_id)) if "-" not in check_id else check_id
    assert tampered.stderr.startswith(f"invalid: check {named} changed after it was sealed")
    refused = await api.http.get(
        f"/api/lessons/{room.lesson_id}/attendance.signed.json",
        headers={"authorization": f"Bearer {tutor}"},
    )
    assert refused.status_code == 409 and "no longer match their seal" in refused.text


async def test_a_document_signed_by_an_unknown_key_is_invalid(
    api: Api, ended_lesson: dict[str, Any], tmp_path: Path
) -> None:
    room = ended_lesson["room"]
    document = await api.call(
        "GET", f"/api/lessons/{room.lesson_id}/attendance.signed.json", room.tutor["token"]
    )
    stranger = SigningKey.of(Ed25519PrivateKey.generate())
    unproven = {k: v for k, v in document.items() if k != "proof"}
    resigned = credential.sign(unproven, stranger, datetime.now(UTC))
    answer = (await api.http.post("/api/verify", content=json.dumps(resigned))).json()
    assert answer["valid"] is False and answer["problem"].startswith("key unknown")
    path = tmp_path / "resigned.json"
    path.write_text(json.dumps(resigned))
    result = cli(str(path), "--public-key", str(await _keys_file(api, tmp_path)))
    assert result.returncode == 1 and "key unknown" in result.stderr


async def test_the_certificate_reads_right_verifies_and_a_changed_byte_does_not(
    api: Api, ended_lesson: dict[str, Any], tmp_path: Path
) -> None:
    room, ada = ended_lesson["room"], ended_lesson["ada"]
    path = f"/api/lessons/{room.lesson_id}/attendance/me/certificate.pdf"
    r = await api.http.get(path, headers={"authorization": f"Bearer {ada['token']}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(r.content)

    if shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("pdftotext (poppler-utils) is required under CI")
    else:
        text = _run("pdftotext", "-layout", str(pdf), "-")
        pages = _run("pdfinfo", str(pdf))
        assert re.search(r"^Pages:\s+1$", pages, re.MULTILINE), pages
        for expected in ("Certificate of attendance", "Zoë Ångström", "Road safety", "Lesson"):
            assert expected in text
        assert "1 passed, 0 failed, 0 missed of 1 issued" in text
        assert "Verification code:" in text
        code = text.split("Verification code:")[1].split()[0]

    keys = await _keys_file(api, tmp_path)
    ok = cli(str(pdf), "--public-key", str(keys))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"valid, lesson {room.lesson_id}, sealed at ")
    if shutil.which("pdftotext"):
        assert ok.stdout.rstrip().endswith(f"verification code {code}")
    answer = (await api.http.post("/api/verify", content=r.content)).json()
    assert answer["valid"] is True and answer["kind"] == "certificate"
    assert answer["says"]["subject"]["name"] == "Zoë Ångström"

    for where in (len(r.content) // 3, len(r.content) // 2, len(r.content) - 200):
        changed = bytearray(r.content)
        changed[where] ^= 0x01
        pdf.write_bytes(bytes(changed))
        bad = cli(str(pdf), "--public-key", str(keys))
        assert bad.returncode == 1, f"a byte changed at {where} went unnoticed"
        answer = (await api.http.post("/api/verify", content=bytes(changed))).json()
        assert answer["valid"] is False

    # The tutor may fetch any student's; a student may not read the whole signed report.
    other = f"/api/lessons/{room.lesson_id}/attendance/{ada['id']}/certificate.pdf"
    assert (
        await api.http.get(other, headers={"authorization": f"Bearer {room.tutor['token']}"})
    ).status_code == 200
    signed_path = f"/api/lessons/{room.lesson_id}/attendance.signed.json"
    assert (
        await api.http.get(signed_path, headers={"authorization": f"Bearer {ada['token']}"})
    ).status_code == 403
    assert (
        await api.http.get(other, headers={"authorization": f"Bearer {ada['token']}"})
    ).status_code == 403


async def test_after_a_key_rotation_old_documents_still_verify(
    api: Api, server: tuple[str, Path], ended_lesson: dict[str, Any], tmp_path: Path
) -> None:
    room = ended_lesson["room"]
    old = await api.call(
        "GET", f"/api/lessons/{room.lesson_id}/attendance.signed.json", room.tutor["token"]
    )
    new_key = SigningKey.of(Ed25519PrivateKey.generate())
    # The same database, served with a new key (as after a rotation).
    with running_server(
        tmp_path,
        database_url=f"sqlite+aiosqlite:///{server[1]}",
        signing_key=private_pem(new_key.private),
    ) as rotated:
        after = Api(rotated)
        try:
            keys = await after.call("GET", "/api/signing-keys", None)
            kids = [k["kid"] for k in keys["keys"]]
            assert new_key.kid in kids and old["proof"]["verificationMethod"].split("#")[1] in kids
            answer = (await after.http.post("/api/verify", content=json.dumps(old))).json()
            assert answer["valid"] is True, answer
            fresh = await after.call(
                "GET", f"/api/lessons/{room.lesson_id}/attendance.signed.json", room.tutor["token"]
            )
            assert fresh["proof"]["verificationMethod"].endswith(new_key.kid)
            assert (await after.http.post("/api/verify", content=json.dumps(fresh))).json()["valid"]
        finally:
            await after.close()
