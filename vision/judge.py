"""Bytes in, verdict out: the whole check of one frame, synchronous and CPU-bound."""

from __future__ import annotations

import hashlib
import logging

from vision.detector import FaceDetector
from vision.errors import BadImage
from vision.images import ImageLimits, read_image
from vision.rules import decide, measure
from vision.verdict import Challenge, Outcome, Verdict

__all__ = ["judge_frame"]

logger = logging.getLogger(__name__)


def judge_frame(
    data: bytes, challenge: Challenge, detector: FaceDetector, limits: ImageLimits
) -> Verdict:
    """Judge one frame. Never raises: whatever the bytes, the student gets an answer."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        image = read_image(data, limits)
        brightness, sharpness = measure(image.rgb)
        faces = detector.detect(image.rgb)
        outcome, hint = decide(faces, brightness, sharpness, challenge, image.width, image.height)
    except BadImage as exc:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("frame %s refused: %s", digest[:16], exc)
        return _bad_image(digest, detector.version, exc.hint)
    except Exception:
        logger.error("frame %s could not be judged", digest[:16], exc_info=True)
        return _bad_image(digest, detector.version, "the image could not be read")

    return Verdict(
        outcome=outcome,
        face_count=len(faces),
        score=faces[0].score if faces else None,
        yaw=None,
        pitch=None,
        brightness=brightness,
        sharpness=sharpness,
        sha256=digest,
        detector_version=detector.version,
        hint=hint,
        width=image.width,
        height=image.height,
    )


def _bad_image(digest: str, detector_version: str, hint: str) -> Verdict:
    return Verdict(
        outcome=Outcome.BAD_IMAGE,
        face_count=0,
        score=None,
        yaw=None,
        pitch=None,
        brightness=None,
        sharpness=None,
        sha256=digest,
        detector_version=detector_version,
        hint=hint,
    )
