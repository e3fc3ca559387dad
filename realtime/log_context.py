"""The ids a log line is about, carried with the work that produces it.

The Socket.IO dispatch binds the connection's ids (sid, lesson, student or tutor) and the HTTP
layer a request id; a log formatter adds whichever are bound to each record (JSON logs carry
them as fields). Tasks started while ids are bound keep them: a prompt timer started for a
student logs with that student's ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from types import MappingProxyType

__all__ = ["Lookup", "bind", "bind_lookup", "current", "reset", "reset_lookup"]

Lookup = Callable[[], Mapping[str, str]]
"""Ids known only later (who a connection turned out to be), read when a line is logged."""

_EMPTY: Mapping[str, str] = MappingProxyType({})
_IDS: ContextVar[Mapping[str, str]] = ContextVar("log_ids", default=_EMPTY)
_LOOKUP: ContextVar[Lookup | None] = ContextVar("log_ids_lookup", default=None)


def bind(**ids: str | None) -> Token[Mapping[str, str]]:
    """Add ``ids`` (those not None) to the current context; `reset` with the token undoes it."""
    merged = {**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}}
    return _IDS.set(MappingProxyType(merged))


def reset(token: Token[Mapping[str, str]]) -> None:
    _IDS.reset(token)


def bind_lookup(lookup: Lookup) -> Token[Lookup | None]:
    return _LOOKUP.set(lookup)


def reset_lookup(token: Token[Lookup | None]) -> None:
    _LOOKUP.reset(token)


def current() -> Mapping[str, str]:
    ids = _IDS.get()
    lookup = _LOOKUP.get()
    return ids if lookup is None else {**ids, **lookup()}
