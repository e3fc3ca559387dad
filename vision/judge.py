"""Bytes in, verdict out: the whole check of one frame, synchronous and CPU-bound."""

from __future__ import annotations

import hashlib
import logging

from vision.detector import MESH_POSE, Detection, FaceDetector
from vision.errors import BadImage
from vision.images import ImageLimits, read_image
from vision.pose import HeadPose, head_pose
from vision.quality import measure
from vision.rules import DEFAULT_THRESHOLDS, Thresholds, decide
from vision.verdict import Challenge, Outcome, Verdict

__all__ = ["judge_frame"]

logger = logging.getLogger(__name__)

SURE_YAW = 15.0
SURE_PITCH = 20.0
"""Keypoint angles under these are taken as they are: the keypoint estimate errs by up to 10
degrees on yaw and 10 to 15 on pitch (a face's own shape reads as a nod), so such a head is well
inside the looking-away limits. Beyond them, or for a turn challenge, where the exact angle
decides, the face mesh measures the pose again."""


def judge_frame(
    data: bytes,
    challenge: Challenge,
    detector: FaceDetector,
    limits: ImageLimits,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> Verdict:
    """Judge one frame. Whatever the bytes, the student gets an answer: bytes that cannot be
    read are a `bad_image` verdict. A failure after decoding (the detector's graph raising) is
    the server's fault, not the frame's: it is raised, for the caller to ask for another frame
    without holding it against the student."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        image = read_image(data, limits)
    except BadImage as exc:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("frame %s refused: %s", digest[:16], exc)
        return _bad_image(digest, detector.version, exc.hint)
    except Exception:
        # A decoder failing in a way it does not report as damage: still the bytes' doing.
        logger.error("frame %s could not be decoded", digest[:16], exc_info=True)
        return _bad_image(digest, detector.version, "the image could not be read")
    found = detector.find(image.rgb)
    student = found.faces[0] if found.faces else None
    brightness, sharpness = measure(image.rgb, student.box if student else None)
    pose, passes = _pose(found, challenge, detector)
    decision = decide(
        found.faces,
        brightness,
        sharpness,
        challenge,
        image.width,
        image.height,
        pose,
        thresholds,
    )

    return Verdict(
        outcome=decision.outcome,
        face_count=len(found.faces),
        score=student.score if student else None,
        yaw=pose.yaw if pose else None,
        pitch=pose.pitch if pose else None,
        brightness=brightness,
        sharpness=sharpness,
        sha256=digest,
        detector_version=detector.version,
        hint=decision.hint,
        width=image.width,
        height=image.height,
        wrong_way=decision.wrong_way,
        passes=passes,
        box=student.box if student else None,
    )


def _pose(
    found: Detection, challenge: Challenge, detector: FaceDetector
) -> tuple[HeadPose | None, tuple[str, ...]]:
    """The student's head pose: from the mesh if it already ran on the face, else from the
    keypoints, measured again by the mesh when a decision hangs on it."""
    if not found.faces:
        return None, found.passes
    student = found.faces[0]
    if student.pose is not None:
        return student.pose, found.passes
    height, width = found.image.shape[:2]
    pose = head_pose(student.keypoints, width, height)
    if len(found.faces) > 1:
        return pose, found.passes  # multiple_faces whatever the pose
    if (
        challenge is Challenge.NONE
        and pose is not None
        and abs(pose.yaw) < SURE_YAW
        and abs(pose.pitch) < SURE_PITCH
    ):
        return pose, found.passes
    refined = detector.refine_pose(found.image, student)
    return refined or pose, (*found.passes, MESH_POSE)


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
