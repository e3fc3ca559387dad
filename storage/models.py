"""SQLAlchemy models for every record the server keeps (docs/api.md, "What the records
look like")."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.statuses import PromptStatus
from storage.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the values ("live"), not the member names ("LIVE"); no native enum type, so
    # adding a value later is not a schema migration on PostgreSQL.
    return Enum(
        cls,
        values_callable=lambda members: [m.value for m in members],
        native_enum=False,
        length=24,
        validate_strings=True,
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    TUTOR = "tutor"
    STUDENT = "student"


class TemplateState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXEMPT = "exempt"
    """No template: an admin excused the student from identity checks (presence only)."""


class LessonStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Stored lower-cased: uniqueness is case-insensitive on every backend.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Carried by every token issued to the user; raising it ends all of them at once (a new
    # password, a new role, disabling, "sign out everywhere").
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RevokedToken(Base):
    """A token signed out before it expired; kept until then, so it is refused until then."""

    __tablename__ = "revoked_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Course(Base):
    __tablename__ = "courses"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    tutor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    # The attendance and evidence policy, as validated by server.schemas.Policy.
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Enrolment(Base):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("course_id", "student_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lesson(Base):
    __tablename__ = "lessons"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    course_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    scheduled_start: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[LessonStatus] = mapped_column(
        _enum(LessonStatus), default=LessonStatus.SCHEDULED
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ServerProcess(Base):
    """A running server process, kept alive by its heartbeat. When the heartbeat stops (the
    process was killed), another process closes what it left open: presence intervals at its
    last heartbeat, and its pending prompts as cancelled."""

    __tablename__ = "server_processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PresenceInterval(Base):
    __tablename__ = "presence_intervals"
    __table_args__ = (
        Index("ix_presence_lesson_student", "lesson_id", "student_id"),
        Index("ix_presence_open_by_process", "process_id", "disconnected_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The process holding the connection; not a foreign key: the row outlives the process.
    process_id: Mapped[str | None] = mapped_column(String(32))


class Prompt(Base):
    __tablename__ = "prompts"
    __table_args__ = (
        Index("ix_prompts_lesson_student", "lesson_id", "student_id"),
        Index("ix_prompts_lesson_status", "lesson_id", "status"),
        Index("ix_prompts_pending_by_process", "process_id", "status"),
        # At most one open prompt per student and lesson, whichever process issues it.
        Index(
            "uq_prompts_one_pending",
            "lesson_id",
            "student_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    # 128 random bits, URL-safe text: unguessable by another student.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    challenge: Mapped[str] = mapped_column(String(16))
    status: Mapped[PromptStatus] = mapped_column(_enum(PromptStatus), default=PromptStatus.PENDING)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The process that issued it and times its deadline.
    process_id: Mapped[str | None] = mapped_column(String(32))


class Check(Base):
    __tablename__ = "checks"
    # The verdict log is read per lesson in arrival order.
    __table_args__ = (Index("ix_checks_lesson_received", "lesson_id", "received_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    # Denormalised from the prompt: the verdict log is read per lesson.
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(24))
    face_count: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float)
    yaw: Mapped[float | None] = mapped_column(Float)
    pitch: Mapped[float | None] = mapped_column(Float)
    brightness: Mapped[float | None] = mapped_column(Float)
    sharpness: Mapped[float | None] = mapped_column(Float)
    frame_sha256: Mapped[str] = mapped_column(String(64))
    detector_version: Mapped[str] = mapped_column(String(80))
    # The sentence the student was shown with this frame's verdict, for a later review.
    hint: Mapped[str | None] = mapped_column(String(300))
    # Only when the course's evidence policy asks for it; never by default.
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # When the frame was compared with the student's template: matched, mismatch, inconclusive
    # or not_enrolled; the descriptor distance and the model that measured it. Never the vector.
    identity: Mapped[str | None] = mapped_column(String(16))
    identity_distance: Mapped[float | None] = mapped_column(Float)
    identity_model: Mapped[str | None] = mapped_column(String(80))


class FaceTemplate(Base):
    """A student's face template: the descriptor (encrypted), never a photo once decided."""

    __tablename__ = "face_templates"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    student_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    state: Mapped[TemplateState] = mapped_column(_enum(TemplateState))
    # AES-GCM sealed 128 float32 (identity.crypto); None once rejected, and for an exemption.
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    model: Mapped[str | None] = mapped_column(String(80))
    quality: Mapped[float | None] = mapped_column(Float)
    # "admin" (an admin's photo) or "student" (the student's own enrolment with consent).
    source: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The student's enrolment picture (sealed), kept only until the approver decides.
    picture: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))


class PromptReview(Base):
    """A person's decision on a prompt's verdict. Append-only: a changed mind is a new row,
    the newest counting; the prompt's own verdict is never changed."""

    __tablename__ = "prompt_reviews"
    __table_args__ = (Index("ix_prompt_reviews_lesson_created", "lesson_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"), index=True)
    # Denormalised from the prompt: a lesson's reviews are read together for its report.
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(2000))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PromptContest(Base):
    """A student's objection to a prompt's verdict, with their message. One per prompt."""

    __tablename__ = "prompt_contests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    prompt_id: Mapped[str] = mapped_column(
        ForeignKey("prompts.id", ondelete="CASCADE"), unique=True
    )
    lesson_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lessons.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    message: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Seal(Base):
    """One link of a lesson's seal chain: the Merkle root of the lesson's records at a moment,
    the hash of the link before it, and the server's Ed25519 signature (see records.seal)."""

    __tablename__ = "seals"
    # One successor per link, whichever process seals: the chain cannot fork.
    __table_args__ = (UniqueConstraint("lesson_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    lesson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    records: Mapped[int] = mapped_column(Integer)
    open_records: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class SealLeaf(Base):
    """A record's digest as a seal saw it; a seal stores only the leaves that are new or
    changed since the link before it."""

    __tablename__ = "seal_leaves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("seals.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    # Still allowed to change (a pending prompt, an open presence interval, a live lesson).
    open: Mapped[bool] = mapped_column(Boolean)


class SigningKeyRecord(Base):
    """Every public key this server has signed with: published after a rotation too."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
