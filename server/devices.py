"""Device cookies: a browser where an account signed in before keeps its own sign-in budget.

Failed sign-ins are limited per account, and anyone may spend an account's budget: five wrong
passwords from five addresses used to keep the owner out for the whole window, again and again.
A successful sign-in now leaves an HttpOnly cookie naming the account (as a keyed hash, not the
email) and a random device id, signed with the server's key. A sign-in that carries a valid
cookie for the account it names is counted against that device alone; the others against the
account and the address, as before. (OWASP, "Slow Down Online Guessing Attacks with Device
Cookies".) The figures, and what the owner waits for on a new device: README, "Sign-in limits".
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from starlette.responses import Response

from server.security import ALGORITHM, ISSUER

COOKIE = "tl_device"
AUDIENCE = "trust-lesson/device"
LIFETIME_S = 90 * 24 * 3600


class DeviceCookies:
    def __init__(self, secret: str, lifetime_s: int = LIFETIME_S) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s

    def _account(self, account: str) -> str:
        digest = hmac.new(self._secret.encode(), b"device:" + account.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def issue(self, account: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "acct": self._account(account),
            "jti": uuid.uuid4().hex,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.lifetime_s)).timestamp()),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def device(self, cookie: str | None, account: str) -> str | None:
        """The device's id if ``cookie`` is a valid device cookie for ``account``, else None."""
        if not cookie or len(cookie) > 1024:
            return None
        try:
            claims = jwt.decode(
                cookie,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "jti", "acct"]},
            )
        except jwt.PyJWTError:
            return None
        if int(claims["exp"]) - int(claims["iat"]) > self.lifetime_s:
            return None
        if not hmac.compare_digest(str(claims["acct"]), self._account(account)):
            return None
        return str(claims["jti"])

    def set(self, response: Response, account: str, *, secure: bool) -> None:
        response.set_cookie(
            COOKIE,
            self.issue(account),
            max_age=self.lifetime_s,
            path="/api/auth",
            secure=secure,
            httponly=True,
            samesite="strict",
        )
