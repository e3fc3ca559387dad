"""The ids a log line is about, carried with the work that produces it.

The Socket.IO dispatch binds the connection's ids (sid, lesson, student or tutor) and the HTTP
layer a request id; a log formatter adds whichever are bound to each record (JSON logs carry
them as fields). Tasks started while ids are bound keep them: a prompt timer started for a
student logs with that student's ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType

__all__ = ["bind", "current", "reset"]

_EMPTY: Mapping[str, str] = MappingProxyType({})
_IDS: ContextVar[Mapping[str, str]] = ContextVar("log_ids", default=_EMPTY)


def bind(**ids: str | None) -> Token[Mapping[str, str]]:
    """Add ``ids`` (those not None) to the current context; `reset` with the token undoes it."""
    merged = {**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}}
    return _IDS.set(MappingProxyType(merged))


def reset(token: Token[Mapping[str, str]]) -> None:
    _IDS.reset(token)


def current() -> Mapping[str, str]:
    return _IDS.get()
