"""Ed25519 signing keys: loading, creating, naming and publishing them.

A key is named by its public key in the Multikey form that W3C Data Integrity uses
(``z6Mk…``: base58btc of the multicodec prefix 0xed01 and the 32 key bytes). The same name is
the ``kid`` of the key in the JWK set at /api/signing-keys and the fragment of the did:key in a
document's ``verificationMethod``, so a verifier matches a document to a published key by a
plain string comparison. Every public key this server has signed with is kept in the database
(table ``signing_keys``), so after a rotation the old ones stay published.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from records import SigningKeyError

logger = logging.getLogger(__name__)

_ED25519_PUB = b"\xed\x01"
_ED25519_PRIV = b"\x80\x26"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _B58[digit] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        digit = _B58.find(char)
        if digit < 0:
            raise ValueError(f"not base58: {char!r}")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The Multikey name of a public key: ``z`` + base58btc(0xed01 ‖ key)."""
    return "z" + b58encode(_ED25519_PUB + raw_public(key))


def public_from_key_id(kid: str) -> Ed25519PublicKey:
    """The public key a Multikey name (or a did:key built on it) stands for."""
    name = kid.rsplit("#", 1)[-1].removeprefix("did:key:")
    try:
        raw = b58decode(name[1:]) if name.startswith("z") else b""
    except ValueError:
        raw = b""
    if len(raw) != 34 or not raw.startswith(_ED25519_PUB):
        raise SigningKeyError(f"not an Ed25519 Multikey: {kid[:80]!r}")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def private_from_multibase(text: str) -> Ed25519PrivateKey:
    """A private key in the Multikey form (``z3u2…``: 0x8026 ‖ 32-byte seed)."""
    raw = b58decode(text[1:]) if text.startswith("z") else b""
    if len(raw) != 34 or not raw.startswith(_ED25519_PRIV):
        raise SigningKeyError("not an Ed25519 private Multikey")
    return Ed25519PrivateKey.from_private_bytes(raw[2:])


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public.verify(signature, message)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The key this server signs with, and its public name."""

    private: Ed25519PrivateKey
    kid: str

    @classmethod
    def of(cls, private: Ed25519PrivateKey) -> SigningKey:
        return cls(private, key_id(private.public_key()))

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def public_jwk(public: Ed25519PublicKey) -> dict[str, str]:
    """An OKP/Ed25519 JSON Web Key (RFC 8037) named by its Multikey."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(raw_public(public)),
        "kid": key_id(public),
        "use": "sig",
        "alg": "EdDSA",
    }


def public_from_jwk(jwk: dict[str, object]) -> Ed25519PublicKey:
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise SigningKeyError("a JWK must be kty OKP, crv Ed25519, with x")
    raw = unb64url(str(jwk["x"]))
    if len(raw) != 32:
        raise SigningKeyError("the JWK's x is not a 32-byte Ed25519 key")
    return Ed25519PublicKey.from_public_bytes(raw)


def parse_private(text: str) -> Ed25519PrivateKey:
    """TL_SIGNING_KEY: a PKCS#8 PEM, a private Multikey (``z3u2…``) or a base64url seed."""
    value = text.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(value.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise SigningKeyError("TL_SIGNING_KEY: the PEM key is not an Ed25519 key")
            return key
        if value.startswith("z"):
            return private_from_multibase(value)
        seed = unb64url(value)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"TL_SIGNING_KEY: unreadable key ({exc})") from None
    if len(seed) != 32:
        raise SigningKeyError("TL_SIGNING_KEY: a base64url seed must be 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def private_pem(private: Ed25519PrivateKey) -> str:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def key_file_for(database_url: str) -> Path | None:
    """Where the embedded default keeps its key: beside the SQLite file, named after it."""
    if database_url.startswith("sqlite") and ":///" in database_url:
        db = Path(database_url.split(":///", 1)[1].split("?", 1)[0])
        if db.name and db.name != ":memory:":
            return db.with_name(db.name + ".signing-key.pem")
    return None


def load_or_create(path: Path) -> SigningKey:
    """The key in ``path``, created on first use, readable by the owner only."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it this moment
            text = path.read_text()
            if "-----END" in text:
                break
            time.sleep(0.05)
        return SigningKey.of(parse_private(text))
    private = Ed25519PrivateKey.generate()
    with os.fdopen(fd, "w") as out:
        out.write(private_pem(private))
    logger.warning("created a signing key in %s: keep it, and back it up", path)
    return SigningKey.of(private)


def signing_key(configured: str | None, database_url: str) -> SigningKey:
    """The configured key, or the embedded default's key file (the settings refuse a missing
    key in production). A development server on another database gets a key of its own for
    as long as it runs; its public key is published all the same, so what it signed stays
    verifiable."""
    if configured:
        return SigningKey.of(parse_private(configured))
    path = key_file_for(database_url)
    if path is None:
        logger.warning("no TL_SIGNING_KEY: signing with a key made for this process only")
        return SigningKey.of(Ed25519PrivateKey.generate())
    return load_or_create(path)
