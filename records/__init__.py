"""Records with legal weight: sealed lessons, signed attendance documents, verification.

A lesson's records (prompts, checks, presence intervals, attendance decisions, the lesson
itself) are sealed into a signed hash chain (``seal``); documents that carry a seal are W3C
Verifiable Credentials signed with eddsa-jcs-2022 (``credential``), and a person's one-page
certificate is a PDF carrying its credential (``certificate``). ``verify`` checks either kind
of document offline, and a lesson's records against its seals.

Exceptions::

    RecordsError
     ├── SigningKeyError  a signing key that cannot be read or is not known
     └── TamperDetected   sealed records differ from their seal (sealing is refused)
"""

from __future__ import annotations


class RecordsError(Exception):
    """The root of this package's errors."""


class SigningKeyError(RecordsError):
    """A signing or public key that cannot be read, or that no one published."""


class TamperDetected(RecordsError):
    """Sealed records no longer match their seal; names the first that differs."""
