"""Templates and enrolment pictures encrypted at rest: AES-256-GCM from ``cryptography``.

A sealed value is ``version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)``, with a
random nonce per value. The associated data binds it to its student and its purpose: a template
copied into another student's row, or a picture passed off as a template, fails to open.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import uuid
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from numpy.typing import NDArray

from identity.description import DESCRIPTOR_SIZE
from identity.errors import BadTemplate

__all__ = ["KEY_BYTES", "TemplateCipher", "decode_key", "key_file_for", "load_or_create_key_file"]

logger = logging.getLogger(__name__)

KEY_BYTES = 32
_VERSION = b"\x01"
_NONCE_BYTES = 12


def decode_key(text: str) -> bytes:
    """A key given as base64 (standard or URL-safe) of 32 random bytes."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise ValueError("TL_FACE_KEY must be base64 of 32 random bytes") from None
    if len(raw) != KEY_BYTES:
        raise ValueError(f"TL_FACE_KEY must be base64 of {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def key_file_for(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".face-key")


def load_or_create_key_file(path: Path) -> bytes:
    """The development key kept beside the SQLite file, made on first use, readable by its owner
    alone (0600). Made with O_EXCL, so two processes starting together agree on one key."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        logger.warning(
            "made a face-template key at %s; in production set TL_FACE_KEY instead", path
        )
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} must be readable by its owner only (mode {mode:o})")
    return decode_key(path.read_text())


class TemplateCipher:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"the face key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, plain: bytes, *, student_id: uuid.UUID, purpose: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain, _aad(student_id, purpose))
        return _VERSION + nonce + sealed

    def open(self, sealed: bytes, *, student_id: uuid.UUID, purpose: str) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise BadTemplate("not a sealed value of a known version")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, _aad(student_id, purpose))
        except InvalidTag:
            raise BadTemplate("the sealed value does not open with this key") from None

    def seal_template(self, vector: NDArray[np.float32], *, student_id: uuid.UUID) -> bytes:
        plain = np.asarray(vector, dtype="<f4").tobytes()
        return self.seal(plain, student_id=student_id, purpose="template")

    def open_template(self, sealed: bytes, *, student_id: uuid.UUID) -> NDArray[np.float32]:
        plain = self.open(sealed, student_id=student_id, purpose="template")
        if len(plain) != DESCRIPTOR_SIZE * 4:
            raise BadTemplate(f"a template holds {DESCRIPTOR_SIZE} numbers")
        return np.frombuffer(plain, dtype="<f4")


def _aad(student_id: uuid.UUID, purpose: str) -> bytes:
    return b"trust-lesson/face/" + purpose.encode() + b"/" + student_id.bytes
