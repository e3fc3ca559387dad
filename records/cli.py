"""`trust-lesson verify` and `trust-lesson keygen`: the command line of signed records."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records import SigningKeyError


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verify = sub.add_parser(
        "verify",
        help="verify a signed JSON or certificate PDF offline, or a lesson against its seal",
    )
    verify.add_argument("file", nargs="?", type=Path, help="a .signed.json or certificate .pdf")
    verify.add_argument("--lesson", help="check this lesson's records in the database instead")
    verify.add_argument(
        "--public-key",
        type=Path,
        help="the trusted public keys: a JWK set (GET /api/signing-keys), a JWK, a PEM or a "
        "Multikey; without it, the keys this installation's database has published",
    )
    sub.add_parser("keygen", help="print a new Ed25519 signing key for TL_SIGNING_KEY")


def keygen() -> int:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from records.keys import key_id, private_pem

    private = Ed25519PrivateKey.generate()
    print(private_pem(private), end="")
    print(f"# key id: {key_id(private.public_key())}", file=sys.stderr)
    return 0


def verify(args: argparse.Namespace, database_url: str | None) -> int:
    """Exit 0 with "valid, …", or 1 naming what fails (2: the command was used wrongly)."""
    import asyncio

    if (args.file is None) == (args.lesson is None):
        print("trust-lesson verify: give a FILE or --lesson ID (one of them)", file=sys.stderr)
        return 2
    try:
        keys = _trusted(args.public_key) if args.public_key else None
        lesson_id = uuid.UUID(args.lesson) if args.lesson else None
    except (OSError, SigningKeyError, ValueError) as exc:
        print(f"trust-lesson verify: {exc}", file=sys.stderr)
        return 2
    if keys is None or lesson_id is not None:
        if database_url is None:
            print("trust-lesson verify: invalid settings (TL_DATABASE_URL)", file=sys.stderr)
            return 2
        return asyncio.run(_with_database(database_url, args.file, lesson_id, keys))
    return _report_file(args.file, keys)


def _trusted(path: Path) -> dict[str, Ed25519PublicKey]:
    from records.verify import read_keys

    return read_keys(path.read_text())


def _report_file(path: Path, keys: dict[str, Ed25519PublicKey]) -> int:
    from records.verify import verify_file

    try:
        result = verify_file(path, keys)
    except OSError as exc:
        print(f"trust-lesson verify: {exc}", file=sys.stderr)
        return 2
    if not result.valid:
        print(result.sentence(), file=sys.stderr)
        return 1
    print(result.sentence() + f", verification code {result.code}")
    return 0


async def _with_database(
    url: str,
    path: Path | None,
    lesson_id: uuid.UUID | None,
    keys: dict[str, Ed25519PublicKey] | None,
) -> int:
    from records.lesson_check import check_lesson, published_keys
    from storage.db import make_engine, make_sessions

    engine = make_engine(url)
    try:
        sessions = make_sessions(engine)
        trusted = keys if keys is not None else await published_keys(sessions)
        if lesson_id is None:
            assert path is not None
            return _report_file(path, trusted)
        result = await check_lesson(sessions, lesson_id, trusted)
    finally:
        await engine.dispose()
    if not result.valid:
        for line in result.problems[:20] or ["not valid"]:
            print(f"invalid: {line}", file=sys.stderr)
        if len(result.problems) > 20:
            print(f"... and {len(result.problems) - 20} more", file=sys.stderr)
        return 1
    print(
        f"valid, lesson {lesson_id}, sealed at {result.sealed_at}, key {result.key_id} "
        f"({result.seals} seal links, {result.records} records)"
    )
    return 0
