"""Errors raised by the storage package."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class StorageError(Exception):
    """Root of the storage package's errors."""


class SchemaOutOfDate(StorageError):
    """The shared database needs `trust-lesson migrate` before this version can serve."""


def unavailable(exc: BaseException) -> bool:
    """Whether a failure means "the database is not there right now" (worth retrying), not
    "this write is wrong"."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
