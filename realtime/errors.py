"""The realtime package's exceptions.

RealtimeError
 ├── Refused        a connection is refused; ``code`` is what the client is told
 ├── PayloadError   a client payload does not have the documented shape
 ├── RulesError     the rules were asked for something that cannot happen (a bug)
 └── HubNotStarted  the hub was used before its start() (a bug)
"""

from __future__ import annotations


class RealtimeError(Exception):
    """Root of the realtime package's exceptions."""


class Refused(RealtimeError):
    """A connection is refused; ``code`` is one of the refusal codes in docs/protocol.md."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PayloadError(RealtimeError, ValueError):
    """A client payload does not have the documented shape; the message names the field."""


class RulesError(RealtimeError):
    """A caller asked the rules for something that cannot happen (a programming error)."""


class HubNotStarted(RealtimeError):
    """The hub was asked for work that needs the database or vision before start()."""
