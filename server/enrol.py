"""From pictures to a template: judged by the vision pool, described by the identity workers.

The admin sends one photo (approved at once); the student sends a few frames, frontal and turned,
taken by their page after consent (pending until a tutor or an admin approves). Every refusal is
a 422 naming the reason in words; a full pool is a 429 (``rate_limited``), at once.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, ValidationError
from starlette.requests import Request

from identity import (
    DEFAULT_THRESHOLDS,
    Description,
    IdentityError,
    IdentityPool,
    IdentitySaturated,
    distance,
)
from identity.enrolment import REASONS, check_picture, quality
from server.errors import Problem, validation_problem
from server.resources import Resources
from server.schemas import Body
from vision import Challenge, PoolSaturated, Verdict

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
MIN_FRONTAL = 2
MAX_FRAMES = 6
_CHALLENGES = {
    "none": Challenge.NONE,
    "left": Challenge.TURN_LEFT,
    "right": Challenge.TURN_RIGHT,
}


class FrameIn(Body):
    image: Annotated[str, Field(min_length=8, max_length=4_000_000)]
    """The frame as base64 (JPEG, PNG or WebP)."""
    turn: Literal["none", "left", "right"] = "none"
    """The head turn the page asked for when it took this frame."""


class StudentEnrolIn(Body):
    consent: Literal[True]
    """The student agreed to the biometric notice; anything else is refused."""
    frames: Annotated[list[FrameIn], Field(min_length=MIN_FRONTAL + 1, max_length=MAX_FRAMES)]


@dataclass(frozen=True, slots=True)
class Enrolment:
    vector: NDArray[np.float32]
    quality: float
    model: str
    picture: bytes | None
    """The first frontal frame of a student's enrolment, for the approver; None for an admin's."""


async def read_image_body(request: Request, max_bytes: int) -> bytes:
    """The request body as image bytes: declared as JPEG, PNG or WebP, at most ``max_bytes``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise Problem(
            415, "Unsupported Media Type", "send the picture as image/jpeg, image/png or image/webp"
        )
    return await _read_raw(request, max_bytes)


async def read_frames(request: Request, max_image_bytes: int) -> list[tuple[bytes, Challenge]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Problem(415, "Unsupported Media Type", "send the body as application/json")
    raw = await _read_raw(request, MAX_FRAMES * (max_image_bytes * 4 // 3 + 64) + 1024)
    try:
        body = StudentEnrolIn.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_problem(exc) from exc
    frames: list[tuple[bytes, Challenge]] = []
    for index, frame in enumerate(body.frames):
        try:
            data = base64.b64decode(frame.image, validate=True)
        except (binascii.Error, ValueError):
            raise _refused(f"frames[{index}].image: not base64") from None
        if len(data) > max_image_bytes:
            raise _refused(f"frames[{index}].image: larger than {max_image_bytes} bytes")
        frames.append((data, _CHALLENGES[frame.turn]))
    if sum(1 for _, c in frames if c is Challenge.NONE) < MIN_FRONTAL:
        raise _refused(f"frames: at least {MIN_FRONTAL} frames facing the camera are needed")
    if all(c is Challenge.NONE for _, c in frames):
        raise _refused("frames: one frame with the head turned is needed")
    return frames


async def from_picture(svc: Resources, data: bytes) -> Enrolment:
    """An admin's photo: exactly one clear face."""
    verdict = await _judge(svc, data, Challenge.NONE)
    _require(check_picture(verdict).words)
    description = await _describe(svc, data, verdict)
    return Enrolment(
        description.array(), quality(verdict, description), description.model_version, None
    )


async def from_frames(svc: Resources, frames: list[tuple[bytes, Challenge]]) -> Enrolment:
    """A student's frames: the frontal ones agree with each other, and the turned one, judged by
    its challenge, is the same person (a printed photo cannot turn its head)."""
    frontal: list[tuple[bytes, Verdict, Description]] = []
    turned: list[Description] = []
    for index, (data, challenge) in enumerate(frames):
        verdict = await _judge(svc, data, challenge)
        turn = challenge is not Challenge.NONE
        if turn and verdict.outcome.value == "challenge_failed":
            raise _refused(f"frames[{index}]: the head turn was not seen ({verdict.hint})")
        _require(check_picture(verdict, turn_expected=turn).words, f"frames[{index}]: ")
        description = await _describe(svc, data, verdict, f"frames[{index}]: ")
        if turn:
            turned.append(description)
        else:
            frontal.append((data, verdict, description))
    vectors = [d.array() for _, _, d in frontal]
    template = np.mean(np.stack(vectors), axis=0).astype(np.float32)
    thresholds = DEFAULT_THRESHOLDS
    # Pairwise, not against their mean: two people's frames are each half as far from it.
    if any(
        distance(a, b) >= thresholds.match_below
        for i, a in enumerate(vectors)
        for b in vectors[i + 1 :]
    ):
        raise _refused("the frames facing the camera do not show the same person")
    if any(distance(t.array(), v) > thresholds.mismatch_above for t in turned for v in vectors):
        raise _refused("the turned head is not the same person as the frames facing the camera")
    best = min(quality(v, d) for _, v, d in frontal)
    return Enrolment(template, best, frontal[0][2].model_version, frontal[0][0])


def identity_pool(svc: Resources) -> IdentityPool:
    if svc.identity is None:
        raise Problem(503, "Service Unavailable", "identity checks are switched off on this server")
    return svc.identity


def media_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


async def _judge(svc: Resources, data: bytes, challenge: Challenge) -> Verdict:
    try:
        return await svc.vision.judge(data, challenge)
    except PoolSaturated:
        raise _busy() from None


async def _describe(svc: Resources, data: bytes, verdict: Verdict, where: str = "") -> Description:
    assert verdict.box is not None  # check_picture refused a picture without a face
    try:
        description = await identity_pool(svc).describe(data, verdict.box)
    except IdentitySaturated:
        raise _busy() from None
    except IdentityError as exc:
        raise Problem(
            503, "Service Unavailable", f"the face could not be described: {exc}"
        ) from exc
    _require(REASONS.get(description.unusable or ""), where)
    return description


def _require(reason: str | None, where: str = "") -> None:
    if reason is not None:
        raise _refused(where + reason)


def _refused(detail: str) -> Problem:
    return Problem(422, "Unprocessable Content", detail)


def _busy() -> Problem:
    return Problem(
        429,
        "Too Many Requests",
        "the server is busy; try again in a moment",
        headers={"Retry-After": "1"},
        code="rate_limited",
    )


async def _read_raw(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise Problem(413, "Content Too Large", f"the body may be at most {max_bytes} bytes")
    if not raw:
        raise Problem(422, "Unprocessable Content", "body: the picture is missing")
    return bytes(raw)
