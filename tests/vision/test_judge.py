from __future__ import annotations

import hashlib
import logging
import tracemalloc

import numpy as np
import pytest

from tests.vision.images import (
    blank_jpeg,
    cat_jpeg,
    coffee_jpeg,
    dark_face_jpeg,
    encode,
    face_jpeg,
    face_rgb,
    png_bomb,
    tiny_png,
    truncated_jpeg,
    two_faces_jpeg,
)
from vision import DETECTOR_VERSION, Challenge, ImageLimits, Outcome, Verdict, judge_frame
from vision.detector import Face, FaceDetector
from vision.images import RGBArray

LIMITS = ImageLimits()


def judge(data: bytes, detector: FaceDetector, challenge: Challenge = Challenge.NONE) -> Verdict:
    return judge_frame(data, challenge, detector, LIMITS)


@pytest.mark.parametrize("width", [320, 640, 1280])
def test_a_student_facing_the_camera_is_present(detector: FaceDetector, width: int) -> None:
    verdict = judge(face_jpeg(width), detector)

    assert verdict.outcome is Outcome.PRESENT
    assert verdict.passed
    assert verdict.face_count == 1
    assert verdict.score is not None and verdict.score > 0.5
    assert verdict.hint is None
    assert (verdict.width, verdict.height) == (width, width * 3 // 4)
    assert verdict.detector_version == DETECTOR_VERSION


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_frames_are_judged_too(detector: FaceDetector, fmt: str) -> None:
    assert judge(encode(face_rgb(640), fmt), detector).outcome is Outcome.PRESENT


def test_a_turn_challenge_passes_for_a_face_until_head_pose_is_checked(
    detector: FaceDetector,
) -> None:
    assert judge(face_jpeg(), detector, Challenge.TURN_LEFT).outcome is Outcome.PRESENT


def test_two_people_in_view(detector: FaceDetector) -> None:
    verdict = judge(two_faces_jpeg(), detector)

    assert verdict.outcome is Outcome.MULTIPLE_FACES
    assert verdict.face_count == 2
    assert verdict.hint == "only you should be in view"
    assert not verdict.passed


def test_an_empty_frame_has_no_face(detector: FaceDetector) -> None:
    verdict = judge(blank_jpeg(), detector)

    assert verdict.outcome is Outcome.NO_FACE
    assert verdict.face_count == 0
    assert verdict.score is None
    assert verdict.hint == "no face found — look at the camera"


@pytest.mark.parametrize("data", [coffee_jpeg(), cat_jpeg()], ids=["coffee", "cat"])
def test_things_that_are_not_a_person_do_not_pass(detector: FaceDetector, data: bytes) -> None:
    assert judge(data, detector).outcome is not Outcome.PRESENT


def test_a_dark_frame_measures_darker(detector: FaceDetector) -> None:
    dark, lit = judge(dark_face_jpeg(), detector), judge(face_jpeg(), detector)

    assert dark.brightness is not None and lit.brightness is not None
    assert dark.brightness < 50 < lit.brightness


def test_a_dark_frame_without_a_face_says_too_dark(detector: FaceDetector) -> None:
    verdict = judge(encode(np.full((480, 640, 3), 12, dtype=np.uint8)), detector)

    assert verdict.outcome is Outcome.NO_FACE
    assert verdict.hint == "too dark — face a light"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("random bytes", np.random.default_rng(1).bytes(10_000)),
        ("empty", b""),
        ("truncated jpeg", truncated_jpeg()),
        ("gif", encode(face_rgb(320), "GIF")),
        ("bmp", encode(face_rgb(320), "BMP")),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="40"/></svg>'),
        ("png bomb", png_bomb()),
    ],
)
def test_unreadable_bytes_are_a_bad_image_not_an_error(
    detector: FaceDetector, name: str, data: bytes
) -> None:
    verdict = judge(data, detector)

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.face_count == 0
    assert verdict.hint is not None and verdict.hint.startswith("the image could not be read")
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()


def test_a_decompression_bomb_is_judged_without_being_decoded(detector: FaceDetector) -> None:
    tracemalloc.start()
    try:
        verdict = judge(png_bomb(), detector)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert peak < 1_000_000  # 30000x30000 RGB would be 2.7 GB


def test_a_frame_too_small_for_a_face(detector: FaceDetector) -> None:
    verdict = judge(tiny_png(), detector)

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.hint == "the image is too small"


def test_oversized_bytes_are_refused(detector: FaceDetector) -> None:
    data = face_jpeg()

    verdict = judge_frame(data, Challenge.NONE, detector, ImageLimits(max_bytes=10_000))

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.hint == "the image could not be read — the file is too large"


def test_sha256_is_of_the_bytes_as_sent(detector: FaceDetector) -> None:
    data = face_jpeg()

    assert judge(data, detector).sha256 == hashlib.sha256(data).hexdigest()


class _BrokenDetector(FaceDetector):
    def detect(self, rgb: RGBArray) -> list[Face]:
        raise RuntimeError("graph crashed")


def test_an_unexpected_failure_is_logged_and_answered(caplog: pytest.LogCaptureFixture) -> None:
    with _BrokenDetector() as broken, caplog.at_level(logging.ERROR, logger="vision.judge"):
        verdict = judge(face_jpeg(), broken)

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.hint == "the image could not be read"
    [record] = caplog.records
    assert record.exc_info is not None
    assert verdict.sha256[:16] in record.getMessage()
