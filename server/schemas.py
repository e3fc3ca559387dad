"""Request bodies, validated once at the HTTP boundary, and response shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from domain.policy import Policy
from server.security import ADMIN_PASSWORD_MIN, PASSWORD_MIN
from storage.emails import normalise_email
from storage.models import Course, Lesson, Role, User

T = TypeVar("T")


def _email(value: str) -> str:
    # One person, one email: look-alike forms are the same address or refused (storage.emails).
    return normalise_email(value)


Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_email)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(str.strip)]


class Body(BaseModel):
    # Unknown fields are refused: a typo in a policy field must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # Valid JSON, but no database text column takes it (PostgreSQL refuses it outright).
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


class LoginIn(Body):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class LogoutIn(Body):
    everywhere: bool = False


def admin_password_problem() -> str:
    return (
        f"password: an admin's password needs at least {ADMIN_PASSWORD_MIN} characters "
        "(the same rule as TL_ADMIN_PASSWORD)"
    )


class UserIn(Body):
    email: Email
    name: Name
    role: Role
    password: Annotated[str, Field(min_length=PASSWORD_MIN, max_length=1024)]


class PolicyIn(Body):
    interval_min_s: float = Field(default=60.0, ge=1, le=86_400)
    interval_max_s: float = Field(default=180.0, ge=1, le=86_400)
    first_prompt_min_s: float = Field(default=5.0, ge=0, le=86_400)
    first_prompt_max_s: float = Field(default=20.0, ge=0, le=86_400)
    deadline_s: float = Field(default=15.0, ge=1, le=3_600)
    max_frames: int = Field(default=3, ge=1, le=10)
    challenge_probability: float = Field(default=0.2, ge=0, le=1)
    present_ratio: float = Field(default=0.8, ge=0, le=1)
    present_connected_ratio: float = Field(default=0.85, ge=0, le=1)
    partial_ratio: float = Field(default=0.5, ge=0, le=1)
    evidence: Literal["none", "failures", "all"] = "none"
    retention_days: int = Field(default=30, ge=1, le=3_650)
    # Days after the lesson's end in which a student may contest a failed or missed check.
    contest_days: int = Field(default=7, ge=0, le=365)
    # Which prompts compare the face with the enrolled template (identity.policy).
    identity: Literal["off", "sampled", "every"] = "sampled"
    identity_probability: float = Field(default=0.34, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.interval_min_s > self.interval_max_s:
            raise ValueError("interval_min_s must not exceed interval_max_s")
        if self.first_prompt_min_s > self.first_prompt_max_s:
            raise ValueError("first_prompt_min_s must not exceed first_prompt_max_s")
        if self.partial_ratio > self.present_ratio:
            raise ValueError("partial_ratio must not exceed present_ratio")
        return self

    def to_rules(self) -> Policy:
        # The identity fields are read by identity.policy.IdentityPolicy, not the rules.
        return Policy.from_stored(self.model_dump())


class CourseIn(Body):
    title: Name
    tutor_id: uuid.UUID
    policy: PolicyIn = Field(default_factory=PolicyIn)


class EnrolIn(Body):
    student_ids: Annotated[list[uuid.UUID], Field(min_length=1, max_length=1000)]


class ReasonIn(Body):
    reason: Annotated[str, Field(min_length=1, max_length=500), AfterValidator(str.strip)]


class PolicyPatch(Body):
    """Only the fields to change; the result is checked as a whole policy."""

    interval_min_s: float | None = None
    interval_max_s: float | None = None
    first_prompt_min_s: float | None = None
    first_prompt_max_s: float | None = None
    deadline_s: float | None = None
    max_frames: int | None = None
    challenge_probability: float | None = None
    present_ratio: float | None = None
    present_connected_ratio: float | None = None
    partial_ratio: float | None = None
    evidence: Literal["none", "failures", "all"] | None = None
    retention_days: int | None = None
    contest_days: int | None = None
    identity: Literal["off", "sampled", "every"] | None = None
    identity_probability: float | None = None


class UserPatch(Body):
    email: Email | None = None
    name: Name | None = None
    role: Role | None = None
    password: Annotated[str, Field(min_length=PASSWORD_MIN, max_length=1024)] | None = None
    disabled: bool | None = None


class CoursePatch(Body):
    title: Name | None = None
    tutor_id: uuid.UUID | None = None
    policy: PolicyPatch | None = None


class LessonIn(Body):
    title: Name
    scheduled_start: AwareDatetime
    scheduled_end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.scheduled_end <= self.scheduled_start:
            raise ValueError("scheduled_end must be after scheduled_start")
        return self


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def user_out(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "disabled": user.disabled,
        "created_at": _iso(user.created_at),
    }


def course_out(course: Course) -> dict[str, Any]:
    return {
        "id": str(course.id),
        "title": course.title,
        "tutor_id": str(course.tutor_id),
        "policy": course.policy,
        "created_at": _iso(course.created_at),
    }


def lesson_out(lesson: Lesson, course_title: str | None = None) -> dict[str, Any]:
    return {
        "id": str(lesson.id),
        "course_id": str(lesson.course_id),
        "course_title": course_title,
        "title": lesson.title,
        "status": lesson.status.value,
        "scheduled_start": _iso(lesson.scheduled_start),
        "scheduled_end": _iso(lesson.scheduled_end),
        "started_at": _iso(lesson.started_at),
        "ended_at": _iso(lesson.ended_at),
    }


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserOut(Out):
    id: uuid.UUID
    email: str
    name: str
    role: Role
    disabled: bool
    created_at: datetime


class LoginOut(Out):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    user: UserOut


class CourseOut(Out):
    id: uuid.UUID
    title: str
    tutor_id: uuid.UUID
    policy: PolicyIn
    created_at: datetime


class LessonOut(Out):
    id: uuid.UUID
    course_id: uuid.UUID
    course_title: str | None = None
    title: str
    status: Literal["scheduled", "live", "ended"]
    scheduled_start: datetime
    scheduled_end: datetime
    started_at: datetime | None
    ended_at: datetime | None


class EnrolOut(Out):
    course_id: uuid.UUID
    added: list[uuid.UUID]
    student_ids: list[uuid.UUID]


class EnrolmentOut(Out):
    student_id: uuid.UUID
    name: str
    email: str
    disabled: bool
    enrolled_at: datetime


class CheckCounts(Out):
    issued: int
    passed: int
    failed: int
    missed: int


class ReviewCountsOut(Out):
    accepted: int
    upheld: int
    pending: int


class IdentityCountsOut(Out):
    """Prompts that compared the student's face, by the result of the last comparison."""

    checked: int
    matched: int
    mismatched: int
    inconclusive: int


class AttendanceLine(Out):
    student_id: uuid.UUID
    name: str
    email: str
    status: Literal["present", "partial", "absent"]
    ratio: float | None
    connected_seconds: float
    connected_ratio: float | None
    checks: CheckCounts
    reviewed: ReviewCountsOut
    identity: IdentityCountsOut


class AttendanceTotals(Out):
    students: int
    present: int
    partial: int
    absent: int
    checks: CheckCounts
    reviewed: ReviewCountsOut


class AttendanceReport(Out):
    lesson: LessonOut
    live_seconds: float
    policy: PolicyIn
    generated_at: datetime
    totals: AttendanceTotals
    students: list[AttendanceLine]


class CheckOut(Out):
    id: uuid.UUID
    prompt_id: str
    student_id: uuid.UUID
    student_name: str
    received_at: datetime
    outcome: str
    hint: str | None
    face_count: int
    score: float | None
    yaw: float | None
    pitch: float | None
    brightness: float | None
    sharpness: float | None
    frame_sha256: str
    detector_version: str
    has_thumbnail: bool


class AuditOut(Out):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_email: str | None
    action: str
    target_type: str
    target_id: str
    detail: dict[str, Any] | None


class HealthOut(BaseModel):
    status: Literal["ok", "failing"]
    database: str
    vision: str
    message_queue: str
    process: str
    connections: dict[str, int]
    vision_pool: dict[str, Any]


class ProblemOut(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class PageOf(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None
