"""Signed documents: W3C Verifiable Credentials (Data Model 2.0) with a Data Integrity proof,
cryptosuite eddsa-jcs-2022, the model Open Badges 3.0 uses for course credentials.

eddsa-jcs-2022 (W3C "Data Integrity EdDSA Cryptosuites v1.0", section 3.3): the proof options
(the proof without ``proofValue``, with the document's ``@context``) and the document (without
``proof``) are each canonicalised with RFC 8785 (JCS) and hashed with SHA-256; the Ed25519
signature is over the proof hash followed by the document hash, and ``proofValue`` is its
multibase base58btc form (``z…``). No JSON-LD processing is needed to check it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records import SigningKeyError
from records.keys import SigningKey, b58decode, b58encode, public_from_key_id, verify_signature

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CRYPTOSUITE = "eddsa-jcs-2022"


def did_key(kid: str) -> str:
    """The verification method of a key: a did:key whose fragment is the key's id."""
    return f"did:key:{kid}#{kid}"


def hash_data(document: Mapping[str, Any], options: Mapping[str, Any]) -> bytes:
    """SHA-256(JCS(options)) ‖ SHA-256(JCS(document)), what the signature covers."""
    body = {k: v for k, v in document.items() if k != "proof"}
    config = {k: v for k, v in options.items() if k != "proofValue"}
    return (
        hashlib.sha256(rfc8785.dumps(config)).digest()
        + hashlib.sha256(rfc8785.dumps(body)).digest()
    )


def sign(document: Mapping[str, Any], key: SigningKey, created: datetime) -> dict[str, Any]:
    """The document with a DataIntegrityProof made with ``key``."""
    options: dict[str, Any] = {
        "type": "DataIntegrityProof",
        "cryptosuite": CRYPTOSUITE,
        "created": created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": did_key(key.kid),
        "proofPurpose": "assertionMethod",
    }
    if "@context" in document:
        options["@context"] = document["@context"]
    signature = key.sign(hash_data(document, options))
    return {**document, "proof": {**options, "proofValue": "z" + b58encode(signature)}}


@dataclass(frozen=True, slots=True)
class ProofCheck:
    """What checking a document's proof found; ``problem`` is None when it holds."""

    key_id: str | None
    problem: str | None

    @property
    def valid(self) -> bool:
        return self.problem is None


def check(document: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> ProofCheck:
    """Check the document's eddsa-jcs-2022 proof against the trusted ``keys`` (by key id)."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return ProofCheck(None, "not signed: the document has no proof")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != CRYPTOSUITE:
        return ProofCheck(None, f"not signed with {CRYPTOSUITE}")
    method = proof.get("verificationMethod")
    value = proof.get("proofValue")
    if not isinstance(method, str) or not isinstance(value, str) or not value.startswith("z"):
        return ProofCheck(None, "signature: the proof has no verification method or value")
    kid = method.rsplit("#", 1)[-1]
    try:
        claimed = public_from_key_id(method)
    except SigningKeyError:
        return ProofCheck(kid, f"key unknown: {method[:80]!r} is not an Ed25519 key")
    trusted = keys.get(kid)
    if trusted is None or trusted.public_bytes_raw() != claimed.public_bytes_raw():
        return ProofCheck(kid, f"key unknown: {kid} is not one of the trusted public keys")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        return ProofCheck(kid, "content changed: the proof's context is not the document's")
    try:
        signature = b58decode(value[1:])
    except ValueError:
        signature = b""
    if not verify_signature(trusted, signature, hash_data(document, proof)):
        return ProofCheck(kid, "signature: does not match the content (content changed)")
    return ProofCheck(kid, None)


def verification_code(document: dict[str, Any]) -> str:
    """A short code for a person to compare: the first 60 bits of the SHA-256 of the signed
    document (canonical JSON), in base 32, as XXXX-XXXX-XXXX."""
    digest = hashlib.sha256(rfc8785.dumps(document)).digest()
    text = base64.b32encode(digest).decode()[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))
