"""How the server writes its log: readable text (the default) or one JSON object per line.

``TL_LOG_FORMAT=json`` (or ``--log-format json``) writes each record as
``{"time", "level", "logger", "message", ...}`` with the ids bound to the work
(`realtime.log_context`: lesson, student, user, sid, request_id), ``exception`` when there is
one, and for access lines ``client``, ``method``, ``path`` and ``status``. Text lines carry the
same ids at the end, in brackets.

Start-up stays quiet: Alembic's plugin and context lines and uvicorn's life-cycle lines are
left out (shown at debug level); warnings and errors always show.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

from realtime import log_context

__all__ = ["LogFormat", "configure", "redact_url"]

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# uvicorn's access line: '%s - "%s %s HTTP/%s" %d' % (client, method, path, version, status).
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
# uvicorn's life-cycle lines; the server says once that it is ready, with the address.
_UVICORN_CHATTER = (
    "Started server process",
    "Waiting for application startup",
    "Application startup complete",
    "Uvicorn running on",
    "Waiting for application shutdown",
    "Application shutdown complete",
    "Finished server process",
    "Shutting down",
)


def _ids(record: logging.LogRecord) -> dict[str, str]:
    ids: dict[str, str] = getattr(record, "log_ids", None) or {}
    return ids


class _BindIds(logging.Filter):
    """Copy the ids bound where the record was made onto it (formatting may happen later)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "log_ids"):
            record.log_ids = dict(log_context.current())
        return True


class _Quiet(logging.Filter):
    """Drop the start-up chatter of uvicorn and Alembic below warning level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        if record.name == "uvicorn.error":
            return not str(record.msg).startswith(_UVICORN_CHATTER)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = _ids(record)
        if not ids:
            return line
        tail = " ".join(f"{k}={v}" for k, v in ids.items())
        first, newline, rest = line.partition("\n")
        return f"{first} [{tail}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            entry.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        entry.update(_ids(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _stream() -> TextIO:
    # A handle of its own on standard error: the vision start-up briefly points descriptor 2
    # elsewhere to sift MediaPipe's native messages, and the log must not go with it.
    try:
        return open(
            os.dup(sys.stderr.fileno()),
            "w",
            buffering=1,
            encoding="utf-8",
            errors="backslashreplace",
        )
    except (AttributeError, OSError, ValueError):
        return sys.stderr


def configure(level: str | int = logging.INFO, fmt: LogFormat = "text") -> None:
    """Set up the root logger for a command of `trust-lesson` (not for tests or libraries)."""
    handler = logging.StreamHandler(_stream())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_BindIds())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Python's own warnings (deprecations in a library, say) as log records, in the same format.
    logging.captureWarnings(True)
    debug = root.level <= logging.DEBUG
    if not debug:
        handler.addFilter(_Quiet())
        # "setup plugin ...", "Context impl ...", "Will assume ...": nothing an operator acts on.
        logging.getLogger("alembic").setLevel(logging.WARNING)


def redact_url(url: str) -> str:
    """A URL fit for a log line: its password left out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))
