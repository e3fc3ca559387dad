"""Passwords (argon2) and bearer tokens (signed, expiring JWT)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from server.errors import ServerError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password")
ALGORITHM = "HS256"
# Every admin, whichever way the account was made (TL_ADMIN_PASSWORD, POST or PATCH /api/users).
ADMIN_PASSWORD_MIN = 12
PASSWORD_MIN = 8


async def hash_password(password: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) the same work is done and False returned."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        ok = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


# How far the clocks of the processes sharing a deployment may disagree.
CLOCK_LEEWAY_S = 60


class InvalidToken(ServerError):
    """The token is malformed, tampered with, expired, or outlives the longest lifetime."""


ISSUER = "trust-lesson"
AUDIENCE = "trust-lesson/api"
# A token issued "in the future" by a clock a little ahead is still taken.
CLOCK_SKEW_S = 30


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: uuid.UUID
    role: str
    version: int
    """The user's token version when it was issued; a token of an older version is ended."""
    token_id: str
    """Names this one token, so that signing out can end it alone."""
    expires_at: datetime


class TokenCodec:
    """Issues and checks bearer tokens.

    A token is taken only if it is signed with the key (HS256, pinned), names this server as
    issuer and audience, and lives at most ``ttl_s`` from its issue: a token made by hand with a
    far ``exp`` is refused whatever it says. Whether the user still holds it (version, signed
    out, disabled) is the database's to say: ``storage.access.token_user``.
    """

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(
        self, user_id: uuid.UUID, role: str, version: int = 0, now: datetime | None = None
    ) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user_id),
            "role": role,
            "ver": version,
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.ttl_s)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: object, now: datetime | None = None) -> TokenClaims:
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise InvalidToken("no token")
        try:
            # The algorithm is pinned: "none" and key-confusion tokens are refused.
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "sub", "jti", "iss", "aud", "ver"]},
                # A token issued by a process whose clock runs ahead is valid here too.
                leeway=CLOCK_LEEWAY_S,
            )
            issued_at = int(claims["iat"])
            expires_at = int(claims["exp"])
            version = claims["ver"]
            token_id = claims["jti"]
            if not isinstance(version, int) or not isinstance(token_id, str) or len(token_id) > 64:
                raise InvalidToken("malformed claims")
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc
        now_s = (now or datetime.now(UTC)).timestamp()
        if issued_at > now_s + CLOCK_SKEW_S or expires_at - issued_at > self.ttl_s:
            raise InvalidToken("the token claims a longer life than this server gives")
        if now is not None and expires_at <= now_s:
            raise InvalidToken("the token has expired")
        try:
            user_id = uuid.UUID(str(claims["sub"]))
        except ValueError as exc:
            raise InvalidToken("malformed subject") from exc
        return TokenClaims(
            user_id=user_id,
            role=str(claims.get("role", "")),
            version=version,
            token_id=token_id,
            expires_at=datetime.fromtimestamp(expires_at, UTC),
        )
