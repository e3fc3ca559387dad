"""Settings, read once from ``TL_*`` environment variables and validated at start-up."""

from __future__ import annotations

import ipaddress
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.keys import GENERATE, weakness
from server.security import ADMIN_PASSWORD_MIN


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TL_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///trust-lesson.db"
    message_queue_url: str | None = None
    # Prefix of the Redis channels: deployments (or test runs) sharing one Redis keep apart.
    message_queue_channel: str = Field(default="trust-lesson", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # Signs tokens. Unset: made on first start and kept beside the SQLite file (server.keys).
    secret_key: str | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    # The public address printed by `trust-lesson demo`.
    public_url: str = "http://127.0.0.1:8000"

    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    vision_workers: int = Field(default=2, ge=1, le=64)
    # Frames judged or waiting at once, beyond which captures are answered `rate_limited`.
    vision_max_pending: int = Field(default=16, ge=1, le=10_000)
    max_image_bytes: int = Field(default=2_000_000, ge=10_000, le=50_000_000)
    # 4K UHD; each declared pixel costs decoding time, whatever the file's size in bytes.
    max_image_pixels: int = Field(default=3840 * 2160, ge=10_000, le=89_000_000)
    min_face_confidence: float = Field(default=0.5, gt=0.0, lt=1.0)
    # Head pose limits in degrees (the reasons for the defaults: vision.rules.Thresholds).
    vision_looking_away_yaw_deg: float = Field(default=40.0, gt=0.0, lt=90.0)
    vision_looking_away_pitch_deg: float = Field(default=35.0, gt=0.0, lt=90.0)
    vision_challenge_yaw_deg: float = Field(default=20.0, gt=0.0, lt=90.0)
    # The full-range model beside the student's face, for a second, smaller face (4 ms a frame).
    vision_side_scan: bool = True
    # Each process's heartbeat in the database; a process silent for `process_stale_s` is taken
    # for dead, and what it left open (presence, prompts) is settled by the others.
    heartbeat_s: float = Field(default=5.0, gt=0, le=300)
    process_stale_s: float = Field(default=20.0, gt=0, le=3600)
    # When the database does not answer, how long a check waits for it before the verdict is
    # held in memory and written once it is back.
    db_wait_s: float = Field(default=5.0, ge=0, le=120)
    # On SIGTERM: how long frames being judged may take to finish before the process exits.
    drain_timeout_s: float = Field(default=20.0, ge=0, le=600)
    # Failed sign-ins allowed per account, and per client address, within the window.
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_address: int = Field(default=30, ge=1, le=100_000)
    login_window_s: float = Field(default=300.0, ge=1, le=86_400)
    # Addresses (or networks) of the reverse proxies whose X-Forwarded-For/-Proto headers are
    # believed, comma-separated; "*" believes anyone (README, "Behind a reverse proxy").
    trusted_proxies: str = "127.0.0.1, ::1"
    # Origins (scheme://host[:port]) other than the server's own that may call the API and open
    # sockets; empty: same-origin only.
    cors_origins: list[str] = Field(default_factory=list)
    # How often the server drops evidence thumbnails past their course's retention period.
    purge_interval_s: float = Field(default=3600.0, ge=1)
    # Socket.IO: how long a silent client is kept before it counts as gone.
    ping_interval_s: float = Field(default=20.0, gt=0)
    ping_timeout_s: float = Field(default=20.0, gt=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        if items == ["*"]:
            return "*"
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (names are not resolved)"
                ) from None
        return ", ".join(items)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if (
            self.env == "production"
            and self.secret_key is not None
            and (reason := weakness(self.secret_key))
        ):
            raise ValueError(
                f"TL_SECRET_KEY is unsafe in production: {reason}; "
                f"use a random value, e.g. {GENERATE}"
            )
        if self.admin_password is not None and len(self.admin_password) < ADMIN_PASSWORD_MIN:
            raise ValueError(
                f"TL_ADMIN_PASSWORD must be at least {ADMIN_PASSWORD_MIN} characters "
                "(as every admin's password)"
            )
        if self.process_stale_s <= 2 * self.heartbeat_s:
            raise ValueError("TL_PROCESS_STALE_S must be more than twice TL_HEARTBEAT_S")
        if (self.admin_email is None) != (self.admin_password is None):
            raise ValueError("set both TL_ADMIN_EMAIL and TL_ADMIN_PASSWORD, or neither")
        return self

    @property
    def max_socket_message_bytes(self) -> int:
        # One capture message: the image plus a little framing.
        return self.max_image_bytes + 16_384
