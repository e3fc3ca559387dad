"""Errors raised by the storage package."""

from __future__ import annotations


class StorageError(Exception):
    """Root of the storage package's errors."""


class SchemaOutOfDate(StorageError):
    """The shared database needs `trust-lesson migrate` before this version can serve."""
