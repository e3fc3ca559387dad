"""Verifying a signed document, offline: a signed JSON credential or a certificate PDF.

What is checked, in order: the file's own signature (a certificate), the credential's
eddsa-jcs-2022 proof, and the seal link it states (signed by a trusted key too). The answer
names the first thing that fails: ``signature``, ``key unknown`` or ``content changed``.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records import SigningKeyError, credential
from records.certificate import ATTACHMENT, split_signature
from records.credential import verification_code
from records.keys import (
    key_id,
    public_from_jwk,
    public_from_key_id,
    unb64url,
    verify_signature,
)
from records.seal import header_hash

logger = logging.getLogger(__name__)

Keys = Mapping[str, Ed25519PublicKey]
MAX_DOCUMENT_BYTES = 5_000_000
_HEADER_FIELDS = (
    "type",
    "lesson",
    "sequence",
    "reason",
    "sealedAt",
    "records",
    "openRecords",
    "root",
    "previous",
    "keyId",
)


@dataclass(slots=True)
class DocumentCheck:
    """The answer about one document: valid or the first problem, and what it says."""

    valid: bool
    kind: str  # "credential" or "certificate"
    problem: str | None = None
    lesson_id: str | None = None
    sealed_at: str | None = None
    key_id: str | None = None
    code: str | None = None
    says: dict[str, Any] = field(default_factory=dict)

    def sentence(self) -> str:
        if not self.valid:
            return f"invalid: {self.problem}"
        return f"valid, lesson {self.lesson_id}, sealed at {self.sealed_at}, key {self.key_id}"

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "kind": self.kind,
            "problem": self.problem,
            "lesson_id": self.lesson_id,
            "sealed_at": self.sealed_at,
            "key_id": self.key_id,
            "verification_code": self.code,
            "says": self.says,
            "summary": self.sentence(),
        }


def read_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """Trusted public keys from a JWK set (as /api/signing-keys serves it), one JWK, a PEM
    public key or a Multikey (``z6Mk…``)."""
    value = text.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(value.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("the PEM public key is not an Ed25519 key")
        return {key_id(key): key}
    if value.startswith("z"):
        key = public_from_key_id(value)
        return {key_id(key): key}
    try:
        data = json.loads(value)
    except ValueError:
        raise SigningKeyError(
            "a public key must be a JWK set, a JWK, a PEM or a Multikey"
        ) from None
    jwks = data.get("keys", [data]) if isinstance(data, dict) else None
    if not isinstance(jwks, list):
        raise SigningKeyError("a JWK set must have a list of keys")
    keys = {}
    for jwk in jwks:
        if not isinstance(jwk, dict):
            raise SigningKeyError("each key of a JWK set must be an object")
        public = public_from_jwk(jwk)
        keys[key_id(public)] = public
    return keys


def verify_document(data: bytes, keys: Keys) -> DocumentCheck:
    """Check a signed JSON credential or a certificate PDF against the trusted ``keys``."""
    if len(data) > MAX_DOCUMENT_BYTES:
        return DocumentCheck(
            False, "unknown", f"the file is larger than {MAX_DOCUMENT_BYTES} bytes"
        )
    if data.startswith(b"%PDF-"):
        return _verify_certificate(data, keys)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return DocumentCheck(False, "unknown", "neither a PDF certificate nor a JSON document")
    if not isinstance(document, dict):
        return DocumentCheck(False, "credential", "the JSON document is not an object")
    return _verify_credential(document, keys, "credential")


def _verify_certificate(data: bytes, keys: Keys) -> DocumentCheck:
    signed = split_signature(data)
    if signed is None:
        return DocumentCheck(False, "certificate", "signature: the PDF carries no signature")
    body, kid, signature = signed
    public = keys.get(kid)
    if public is None:
        return DocumentCheck(
            False, "certificate", f"key unknown: {kid[:80]} is not one of the trusted public keys"
        )
    try:
        raw = unb64url(signature)
    except ValueError:
        raw = b""
    if not verify_signature(public, raw, body):
        return DocumentCheck(
            False, "certificate", "signature: does not match the file (content changed)", key_id=kid
        )
    document = _attached(body)
    if document is None:
        return DocumentCheck(False, "certificate", f"content changed: no {ATTACHMENT} inside")
    return _verify_credential(document, keys, "certificate")


def _attached(body: bytes) -> dict[str, Any] | None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        files = PdfReader(io.BytesIO(body)).attachments.get(ATTACHMENT) or []
        document = json.loads(files[0]) if files else None
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        logger.info("a certificate's attachment could not be read: %s", exc)
        return None
    return document if isinstance(document, dict) else None


def _verify_credential(document: dict[str, Any], keys: Keys, kind: str) -> DocumentCheck:
    try:
        return _checked_credential(document, keys, kind)
    except (rfc8785.CanonicalizationError, RecursionError, TypeError, ValueError) as exc:
        # Numbers JSON cannot canonicalise (integers past 2**53), nesting too deep to walk:
        # nothing this server signed.
        return DocumentCheck(False, kind, f"content changed: not a signed document ({exc})")


def _checked_credential(document: dict[str, Any], keys: Keys, kind: str) -> DocumentCheck:
    proof = credential.check(document, keys)
    if not proof.valid:
        return DocumentCheck(False, kind, proof.problem, key_id=proof.key_id)
    subject = document.get("credentialSubject")
    seal = subject.get("seal") if isinstance(subject, dict) else None
    if not isinstance(seal, dict) or not all(k in seal for k in _HEADER_FIELDS):
        return DocumentCheck(False, kind, "content changed: the document states no seal")
    header = {k: seal[k] for k in _HEADER_FIELDS}
    sealer = keys.get(str(seal["keyId"]))
    if sealer is None:
        return DocumentCheck(False, kind, f"key unknown: the seal's key {seal['keyId']}")
    try:
        raw = unb64url(str(seal.get("signature", "")))
    except ValueError:
        raw = b""
    if header_hash(header) != seal.get("hash") or not verify_signature(
        sealer, raw, rfc8785.dumps(header)
    ):
        return DocumentCheck(False, kind, "signature: the seal's signature does not match")
    assert isinstance(subject, dict)
    return DocumentCheck(
        True,
        kind,
        lesson_id=str(seal["lesson"]),
        sealed_at=str(seal["sealedAt"]),
        key_id=proof.key_id,
        code=verification_code(document),
        says={
            "name": document.get("name"),
            "issuer": document.get("issuer"),
            "subject": {k: v for k, v in subject.items() if k != "seal"},
            "seal": seal,
        },
    )


def verify_file(path: Path, keys: Keys) -> DocumentCheck:
    return verify_document(path.read_bytes(), keys)
