"""Settings, read once from ``TL_*`` environment variables and validated at start-up.

Rules between settings (checked together, after each value on its own):
- ``TL_PROCESS_STALE_S`` > 2 * ``TL_HEARTBEAT_S`` (a process is not taken for dead between
  two of its own heartbeats);
- ``TL_ADMIN_EMAIL`` and ``TL_ADMIN_PASSWORD`` both set, or neither;
- in production (``TL_ENV=production``): ``TL_SECRET_KEY`` of 32 characters or more, not the
  development value, and ``TL_ADMIN_PASSWORD`` (when set) of 12 or more.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, Self

import annotated_types
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from identity.crypto import decode_key
from server.security import ADMIN_PASSWORD_MIN
from server.token_secret import GENERATE, weakness

ENV_PREFIX = "TL_"
# Never echoed back in an error.
SECRET_FIELDS = frozenset(
    {"secret_key", "admin_password", "database_url", "message_queue_url", "face_key", "signing_key"}
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///trust-lesson.db"
    message_queue_url: str | None = None
    # Prefix of the Redis channels: deployments (or test runs) sharing one Redis keep apart.
    message_queue_channel: str = Field(default="trust-lesson", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    # Signs tokens. Unset: made on first start, kept beside the SQLite file (server.token_secret).
    secret_key: str | None = None
    admin_email: str | None = None
    admin_password: str | None = None
    # The public address printed by `trust-lesson demo`.
    public_url: str = "http://127.0.0.1:8000"

    token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 24 * 3600)
    vision_workers: int = Field(default=2, ge=1, le=64)
    # True: frames are judged in worker processes, so MediaPipe's Python parts never hold the
    # event loop's interpreter lock: worth it for one server process on several cores. With a
    # process per core (as in production) threads of the server do better, with less memory
    # (bench/RESULTS.md, "Performance II").
    vision_processes: bool = False
    # How much lower the identity (and vision, in processes) worker processes run than the
    # server's own (Unix nice), so that on busy cores the event loop goes first. 0 by default:
    # the benchmarks could tell no difference (bench/RESULTS.md, "Performance II").
    worker_nice: int = Field(default=0, ge=0, le=19)
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
    # The full-range model beside the student's face, for a second, smaller face (its cost per
    # frame: bench/RESULTS.md, "Vision: cost").
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
    # Face templates: the key that encrypts them at rest (base64 of 32 random bytes; required in
    # production; in development a key file is made beside the SQLite file), and how many days
    # after a student's last lesson their template is deleted.
    face_key: str | None = None
    face_retention_days: int = Field(default=365, ge=1, le=3650)
    # Worker processes that describe faces (0: identity switched off); requests beyond
    # `identity_max_pending` running or waiting are answered `rate_limited`.
    identity_workers: int = Field(default=1, ge=0, le=32)
    identity_max_pending: int = Field(default=4, ge=1, le=1000)
    # The Ed25519 key that signs seals and documents: a PKCS#8 PEM, a private Multikey
    # (z3u2...) or a base64url 32-byte seed. Required in production; the embedded default
    # creates one beside the SQLite file on first start.
    signing_key: str | None = Field(default=None, repr=False)
    # How often live lessons (and ended ones not yet sealed since their end) are sealed.
    seal_interval_s: float = Field(default=300.0, ge=1, le=86_400)
    # The log's shape: readable text, or one JSON object per line for a log collector.
    log_format: Literal["text", "json"] = "text"
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
        if self.env == "production":
            if self.face_key is None:
                raise ValueError(
                    "TL_FACE_KEY must be set in production (base64 of 32 random bytes, e.g. "
                    "`python -c 'import secrets,base64; "
                    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`)"
                )
            if not self.signing_key:
                raise ValueError(
                    "TL_SIGNING_KEY must be set in production (an Ed25519 key: see the README, "
                    "Proving attendance)"
                )
        if self.admin_password is not None and len(self.admin_password) < ADMIN_PASSWORD_MIN:
            raise ValueError(
                f"TL_ADMIN_PASSWORD must be at least {ADMIN_PASSWORD_MIN} characters "
                "(as every admin's password)"
            )
        if self.face_key is not None:
            decode_key(self.face_key)  # its ValueError names TL_FACE_KEY
        if self.process_stale_s <= 2 * self.heartbeat_s:
            raise ValueError(
                f"TL_PROCESS_STALE_S ({self.process_stale_s:g}) must be more than twice "
                f"TL_HEARTBEAT_S ({self.heartbeat_s:g})"
            )
        if (self.admin_email is None) != (self.admin_password is None):
            raise ValueError("set both TL_ADMIN_EMAIL and TL_ADMIN_PASSWORD, or neither")
        return self

    @property
    def max_socket_message_bytes(self) -> int:
        # One capture message: the image plus a little framing.
        return self.max_image_bytes + 16_384


def variable(field: str) -> str:
    """The environment variable of a settings field: ``vision_workers`` -> TL_VISION_WORKERS."""
    return f"{ENV_PREFIX}{field.upper()}"


def allowed_range(field: str) -> str | None:
    """A numeric setting's bounds in words ("at least 1, at most 64"); None if unbounded."""
    info = Settings.model_fields.get(field)
    if info is None:
        return None
    low = high = None
    for bound in info.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = f"at least {bound.ge}"
        elif isinstance(bound, annotated_types.Gt):
            low = f"more than {bound.gt}"
        elif isinstance(bound, annotated_types.Le):
            high = f"at most {bound.le}"
        elif isinstance(bound, annotated_types.Lt):
            high = f"less than {bound.lt}"
    words = ", ".join(part for part in (low, high) if part)
    return words or None


def describe(exc: ValidationError | SettingsError) -> list[str]:
    """One line per problem, naming the environment variable, the value (unless secret) and
    what is allowed."""
    if isinstance(exc, SettingsError):
        match = re.search(r'field "(\w+)"', str(exc))
        name = variable(match.group(1)) if match else "a TL_ variable"
        return [f"{name}: not valid JSON (a list is written like '[\"https://a.example\"]')"]
    lines = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if not loc:
            lines.append(message)  # a rule between settings: its message names them
            continue
        field = str(loc[0])
        shown = "" if field in SECRET_FIELDS else f"={error.get('input')!s}"
        line = f"{variable(field)}{shown}: {message}"
        if (bounds := allowed_range(field)) is not None:
            line += f" (allowed: {bounds})"
        lines.append(line)
    return lines


def load(**overrides: Any) -> Settings:
    """Read the settings; raises `InvalidSettings` with one line per problem."""
    try:
        return Settings(**overrides)
    except (ValidationError, SettingsError) as exc:
        raise InvalidSettings(describe(exc)) from exc


class InvalidSettings(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
