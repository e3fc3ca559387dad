"""Signing keys: where the embedded default keeps its key, and every form a key is given in."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from records import SigningKeyError
from records.keys import (
    SigningKey,
    b64url,
    key_file_for,
    parse_private,
    private_pem,
    public_jwk,
    signing_key,
)
from records.verify import read_keys


def test_the_embedded_default_creates_an_owner_only_key_once(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'school.db'}"
    first = signing_key(None, url)
    path = tmp_path / "school.db.signing-key.pem"
    assert key_file_for(url) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = signing_key(None, url)
    assert again.kid == first.kid  # the same key after a restart


def test_a_configured_key_is_read_in_each_form() -> None:
    private = Ed25519PrivateKey.generate()
    kid = SigningKey.of(private).kid
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    for text in (private_pem(private), b64url(seed)):
        assert SigningKey.of(parse_private(text)).kid == kid
    assert signing_key(private_pem(private), "postgresql+asyncpg://db/x").kid == kid


@pytest.mark.parametrize("bad", ["", "not a key", b64url(b"short"), "-----BEGIN PRIVATE KEY-----"])
def test_an_unreadable_key_is_refused_with_its_name(bad: str) -> None:
    with pytest.raises(SigningKeyError, match="TL_SIGNING_KEY"):
        parse_private(bad)


def test_trusted_keys_are_read_from_a_jwk_set_a_jwk_a_pem_or_a_multikey() -> None:
    key = SigningKey.of(Ed25519PrivateKey.generate())
    pem = key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    jwk = public_jwk(key.public)
    assert jwk["kid"] == key.kid and jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    for text in (json.dumps({"keys": [jwk]}), json.dumps(jwk), pem, key.kid):
        assert list(read_keys(text)) == [key.kid]
    with pytest.raises(SigningKeyError):
        read_keys(json.dumps({"keys": [{"kty": "RSA", "n": "x"}]}))
