"""Render a sample certificate (made-up lesson, throwaway key) to docs/certificate.png for the
README: ``python -m tests.records.render_certificate docs/certificate.png`` (needs pdftoppm)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records.certificate import certificate_pdf
from records.credential import verification_code
from records.documents import student_document
from records.keys import SigningKey
from storage.db import make_engine, make_sessions
from storage.migrate import upgrade
from tests.records.lessons import make_lesson

ISSUER = "https://lessons.school.example"


async def sample_pdf(folder: Path) -> bytes:
    engine = make_engine(f"sqlite+aiosqlite:///{folder / 'sample.db'}")
    try:
        await upgrade(engine)
        sessions = make_sessions(engine)
        key = SigningKey.of(Ed25519PrivateKey.generate())
        made = await make_lesson(sessions, title="Lesson 3: loads and balance")
        document = await student_document(sessions, made.lesson_id, made.students[1], key, ISSUER)
        assert document is not None
        return certificate_pdf(document, verification_code(document), key, f"{ISSUER}/verify")
    finally:
        await engine.dispose()


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "certificate.pdf"
        pdf.write_bytes(asyncio.run(sample_pdf(Path(tmp))))
        stem = out.with_suffix("")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-singlefile", str(pdf), str(stem)], check=True
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
