"""The `trust-lesson` command: serve, demo, migrate, purge, check, backup, verify, keygen."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from records import cli as records_cli
from server import logs
from server.settings import InvalidSettings, Settings, load


def _version() -> str:
    try:
        return version("trust-lesson")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="trust-lesson", description=__doc__)
    parser.add_argument("--version", action="version", version=f"trust-lesson {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start one server process")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="for the whole server: its own records and uvicorn's (default: info)",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="text (readable) or json (one object per line); default: TL_LOG_FORMAT or text",
    )
    demo = sub.add_parser("demo", help="seed a demo course with a live lesson")
    demo.add_argument(
        "--if-empty", action="store_true", help="only when the database holds no users yet"
    )
    sub.add_parser("migrate", help="bring the database schema up to date")
    sub.add_parser("purge", help="delete evidence thumbnails past their retention period")
    records_cli.add_commands(sub)
    sub.add_parser(
        "check",
        help="validate the settings and reach the database, Redis and the vision models",
    )
    backup = sub.add_parser(
        "backup", help="copy the SQLite database, consistently, even while the server runs"
    )
    backup.add_argument("path", type=Path, help="the new file to write (must not exist)")
    sub.add_parser("check-emails", help="list stored emails that look alike (exit 1 if any)")
    args = parser.parse_args(argv)
    if args.command == "keygen":
        return records_cli.keygen()
    if args.command == "verify":
        # Offline with --public-key: no settings needed, not even a valid environment.
        try:
            database_url: str | None = load().database_url
        except InvalidSettings:
            database_url = None
        return records_cli.verify(args, database_url)

    try:
        settings = load()
    except InvalidSettings as exc:
        problems = "".join(f"\n  {line}" for line in exc.problems)
        print(f"trust-lesson: invalid settings:{problems}", file=sys.stderr)
        return 1 if args.command == "check" else 2
    level = args.log_level.upper() if args.command == "serve" else logging.INFO
    log_format = getattr(args, "log_format", None) or settings.log_format
    logs.configure(level, log_format)
    if args.command == "serve":
        return _serve(settings, args.host, args.port, args.log_level)
    if args.command == "check":
        from server.check import run_check

        return asyncio.run(run_check(settings))
    if args.command == "backup":
        from server.backup import backup_command

        return backup_command(settings, args.path)
    if args.command == "demo":
        return asyncio.run(_demo(settings, only_if_empty=args.if_empty))
    if args.command == "purge":
        return asyncio.run(_purge(settings))
    if args.command == "check-emails":
        return asyncio.run(_check_emails(settings))
    return asyncio.run(_migrate(settings))


def _serve(settings: Settings, host: str, port: int, log_level: str) -> int:
    from server.app import create_app
    from server.serving import DrainingServer, uvicorn_config
    from server.token_secret import UnsafeKey, check_for_serving, token_secret

    try:
        key = token_secret(settings.secret_key, settings.database_url)
        check_for_serving(key, host=host, production=settings.env == "production")
    except UnsafeKey as exc:
        print(f"trust-lesson: {exc}", file=sys.stderr)
        return 2

    if settings.trusted_proxies == "*":
        logging.getLogger(__name__).warning(
            "TL_TRUSTED_PROXIES=*: every client may name its own address in X-Forwarded-For "
            "and escape the per-address sign-in limit; list the proxies' addresses instead"
        )
    app = create_app(settings)
    # log_config=None: uvicorn's records go through the handler `server.logs` set up.
    config = uvicorn_config(
        app, settings, host=host, port=port, log_level=log_level, log_config=None
    )
    hub = app.other_asgi_app.state.hub
    try:
        DrainingServer(config, hub, settings.drain_timeout_s).run()
    except KeyboardInterrupt:
        # uvicorn hands Ctrl-C back once it has shut down cleanly: nothing to report.
        return 130
    return 0


async def _demo(settings: Settings, *, only_if_empty: bool) -> int:
    from server import demo
    from storage.db import make_engine, make_sessions
    from storage.migrate import upgrade

    if settings.env == "production":
        print("trust-lesson: the demo is not seeded in production (TL_ENV)", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = make_sessions(engine)
        async with sessions() as s:
            others = await demo.other_users(s)
        if others:
            # The demo's logins are published: never add them beside real accounts.
            if only_if_empty:
                print("trust-lesson: the database already has users; no demo seeded")
                return 0
            print(
                f"trust-lesson: refusing to seed the demo: this database holds {others} "
                "users of its own, and the demo adds an admin whose password is published",
                file=sys.stderr,
            )
            return 2
        print(demo.describe(await demo.seed(sessions), settings.public_url))
    finally:
        await engine.dispose()
    return 0


async def _migrate(settings: Settings) -> int:
    from storage.db import make_engine
    from storage.migrate import UnversionedDatabase, current_revision, upgrade

    engine = make_engine(settings.database_url)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        after = await current_revision(engine)
    except UnversionedDatabase as exc:
        print(f"trust-lesson: {exc}", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
    change = "unchanged" if before == after else f"migrated from {before or 'empty'}"
    print(f"trust-lesson: schema is up to date: {after} ({change})")
    return 0


async def _purge(settings: Settings) -> int:
    from server.purge import purge_once
    from storage.db import make_engine, make_sessions

    engine = make_engine(settings.database_url)
    try:
        purged = await purge_once(
            make_sessions(engine), face_retention_days=settings.face_retention_days
        )
    finally:
        await engine.dispose()
    print(f"trust-lesson: purged {purged} evidence thumbnails past their retention period")
    return 0


async def _check_emails(settings: Settings) -> int:
    from sqlalchemy import select

    from storage.db import make_engine, make_sessions
    from storage.emails import look_alikes
    from storage.models import User

    engine = make_engine(settings.database_url)
    try:
        async with make_sessions(engine)() as s:
            emails = list(await s.scalars(select(User.email)))
    finally:
        await engine.dispose()
    groups = look_alikes(emails)
    for group in groups:
        print("look alike or not in normal form: " + ", ".join(ascii(e) for e in group))
    print(f"trust-lesson: {len(groups)} group(s) of emails to check")
    return 1 if groups else 0


if __name__ == "__main__":
    sys.exit(main())
