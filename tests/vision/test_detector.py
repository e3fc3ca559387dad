from __future__ import annotations

import numpy as np
import pytest

from tests.vision.images import face_rgb
from vision.detector import DETECTOR_VERSION, FaceDetector
from vision.errors import VisionError


def test_finds_the_face_where_it_is(detector: FaceDetector) -> None:
    faces = detector.detect(face_rgb(640))

    assert len(faces) == 1
    x, _, w, h = faces[0].box
    assert faces[0].score > 0.8
    assert 0.3 < x + w / 2 < 0.7  # the crop is centred on the face
    assert 0.4 < h < 0.7
    assert len(faces[0].keypoints) == 6


def test_a_blank_frame_has_no_face(detector: FaceDetector) -> None:
    assert detector.detect(np.full((480, 640, 3), 128, dtype=np.uint8)) == []


def test_refuses_anything_but_rgb_uint8(detector: FaceDetector) -> None:
    with pytest.raises(ValueError):
        detector.detect(np.zeros((48, 64), dtype=np.uint8))


def test_a_closed_detector_says_so() -> None:
    detector = FaceDetector()
    detector.close()
    detector.close()  # idempotent

    assert detector.closed
    with pytest.raises(VisionError):
        detector.detect(face_rgb(64))


def test_version_names_the_model() -> None:
    assert DETECTOR_VERSION == "mediapipe-0.10.21/face_detection_short_range"
