"""The resources a running server holds, made and closed in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from identity import IdentityPool
from identity.crypto import TemplateCipher
from records.keys import SigningKey
from server.devices import DeviceCookies
from server.login_limits import FailureLimiter
from server.security import TokenCodec
from server.settings import Settings
from storage.db import Sessions
from vision import Vision

if TYPE_CHECKING:
    from realtime.hub import LessonHub


@dataclass(slots=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: Sessions
    tokens: TokenCodec
    vision: Vision
    hub: LessonHub
    account_logins: FailureLimiter
    address_logins: FailureLimiter
    face_cipher: TemplateCipher
    signing_key: SigningKey
    devices: DeviceCookies
    identity: IdentityPool | None = None
    """None when ``TL_IDENTITY_WORKERS`` is 0: identity is switched off."""
