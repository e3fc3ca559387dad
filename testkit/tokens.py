"""Access tokens a client might forge, for the refusal tests."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt

from server.security import TokenCodec
from testkit.server import SECRET_KEY


def forged_tokens(user_id: str, valid: str) -> dict[str, str]:
    """Tokens a client might try: expired, tampered, unsigned, signed with another key."""
    secret = SECRET_KEY
    uid = uuid.UUID(user_id)
    header, payload, signature = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return {
        "expired": TokenCodec(secret, 60).issue(
            uid, "student", now=datetime.now(UTC) - timedelta(hours=2)
        ),
        "tampered": f"{header}.{raised}.{signature}",
        # PyJWT takes "" as no key for the "none" algorithm.
        "alg-none": jwt.encode(
            {"sub": user_id, "role": "admin", "exp": 4_000_000_000}, "", algorithm="none"
        ),
        "other-key": TokenCodec("another-secret-of-at-least-32-chars!", 3600).issue(uid, "admin"),
    }
