"""Errors raised by the identity package.

IdentityError
├── IdentitySaturated   every worker process is busy; answer "rate_limited" now
├── IdentityClosed      the pool has been closed
├── IdentityUnavailable a worker died on this request twice (the request itself kills it)
└── BadTemplate         a stored template cannot be decrypted or has the wrong shape
"""

from __future__ import annotations

__all__ = [
    "BadTemplate",
    "IdentityClosed",
    "IdentityError",
    "IdentitySaturated",
    "IdentityUnavailable",
]


class IdentityError(Exception):
    """Root of every error raised by the identity package."""


class IdentitySaturated(IdentityError):
    """No worker slot is free; the request was refused rather than queued."""


class IdentityClosed(IdentityError):
    """The pool no longer accepts requests."""


class IdentityUnavailable(IdentityError):
    """The worker process died while describing this face, and again on the retry."""


class BadTemplate(IdentityError):
    """A stored template could not be decrypted (wrong key, damaged row) or is malformed."""
