from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from testkit import synth
from testkit.frames import face_rgb
from vision.detector import (
    CONTRAST,
    DETECTOR_VERSION,
    FULL_RANGE,
    MESH_CHECK,
    SHORT_RANGE,
    SIDE_SCAN,
    FaceDetector,
    _pack,
    _panels,
)
from vision.errors import VisionError


def test_finds_the_face_where_it_is(detector: FaceDetector) -> None:
    faces = detector.detect(face_rgb(640))

    assert len(faces) == 1
    x, _, w, h = faces[0].box
    assert faces[0].score > 0.8
    assert 0.3 < x + w / 2 < 0.7  # the crop is centred on the face
    assert 0.4 < h < 0.7
    assert len(faces[0].keypoints) == 6


def test_a_typical_frame_runs_the_short_range_model_and_the_side_scan(
    detector: FaceDetector,
) -> None:
    assert detector.find(face_rgb(640)).passes == (SHORT_RANGE, SIDE_SCAN)


def test_without_the_scan_a_typical_frame_runs_one_model() -> None:
    with FaceDetector(scan=False) as plain:
        assert plain.find(face_rgb(640)).passes == (SHORT_RANGE,)


@pytest.mark.parametrize("share", [0.1, 0.12, 0.15])
@pytest.mark.parametrize("where", [(0.12, 0.3), (0.88, 0.6)], ids=["left", "right"])
def test_a_small_face_beside_the_student_is_found_by_the_side_scan(
    detector: FaceDetector, share: float, where: tuple[float, float]
) -> None:
    student = synth.portrait_frame(synth.ASTRONAUT, 0.5, at=(0.5, 0.5))
    frame = synth.paste_face(student, synth.HOPPER, share, where)

    found = detector.find(frame)

    assert len(found.faces) == 2
    student_face, other = found.faces  # the larger first
    assert student_face.found_by == SHORT_RANGE
    assert other.found_by == SIDE_SCAN
    assert other.box[3] == pytest.approx(share, rel=0.35)
    assert abs(other.centre[0] - where[0]) < 0.05


def test_the_short_range_model_alone_misses_that_face() -> None:
    """Why the side scan exists."""
    frame = synth.paste_face(
        synth.portrait_frame(synth.ASTRONAUT, 0.5), synth.HOPPER, 0.1, (0.12, 0.3)
    )

    with FaceDetector(scan=False) as plain:
        assert len(plain.detect(frame)) == 1


def test_a_student_far_from_the_camera_is_found_by_the_full_range_model(
    detector: FaceDetector,
) -> None:
    found = detector.find(synth.portrait_frame(synth.HOPPER, 0.1))

    assert [f.found_by for f in found.faces] == [FULL_RANGE]
    assert found.passes[:2] == (SHORT_RANGE, FULL_RANGE)


def test_a_face_in_near_darkness_is_found_after_contrast_normalisation(
    detector: FaceDetector,
) -> None:
    dark = synth.adjust_light(synth.portrait_frame(synth.ASTRONAUT, 0.5), 0.03)

    found = detector.find(dark)

    assert len(found.faces) == 1
    assert found.enhanced
    assert CONTRAST in found.passes
    assert found.image is not dark


@pytest.mark.parametrize("name", ["colorwheel", "chelsea"])
def test_doubtful_faces_on_things_that_are_not_people_are_rejected_by_the_mesh_check(
    detector: FaceDetector, name: str
) -> None:
    frame = synth.rotate(cv2.resize(synth.non_faces()[name], (640, 480)), 15)

    found = detector.find(frame)

    assert found.faces == []
    assert MESH_CHECK in found.passes


def test_a_blank_frame_has_no_face_after_every_pass(detector: FaceDetector) -> None:
    found = detector.find(np.full((480, 640, 3), 128, dtype=np.uint8))

    assert found.faces == []
    assert found.passes == (SHORT_RANGE, FULL_RANGE, CONTRAST, SHORT_RANGE, FULL_RANGE)


def test_refuses_anything_but_rgb_uint8(detector: FaceDetector) -> None:
    with pytest.raises(ValueError):
        detector.detect(np.zeros((48, 64), dtype=np.uint8))


def test_a_closed_detector_says_so() -> None:
    detector = FaceDetector()
    detector.warm_up()
    detector.close()
    detector.close()  # idempotent

    assert detector.closed
    with pytest.raises(VisionError):
        detector.detect(face_rgb(64))


def test_version_names_the_models() -> None:
    assert DETECTOR_VERSION == "mediapipe-0.10.21/blazeface-short+full+mesh-check/v2"
    assert len(DETECTOR_VERSION) <= 80  # the width of the column it is stored in


# -- the side scan's geometry ----------------------------------------------------------------


def test_panels_leave_out_the_students_face_and_keep_the_rest() -> None:
    # A face box 200x200 px in the middle of a 640x480 frame, its top at 180 px.
    panels = _panels(640, 480, (220 / 640, 180 / 480, 200 / 640, 200 / 480))

    left, right, above = panels
    assert left == (0, 0, 204, 480)
    assert right == (436, 0, 640, 480)
    assert above == (204, 0, 436, 120)


def test_panels_too_thin_to_hold_a_face_are_dropped() -> None:
    # A face filling the frame's height, near its left edge.
    panels = _panels(640, 480, (10 / 640, 0.0, 460 / 640, 1.0))

    assert panels == [(507, 0, 640, 480)]


def test_packing_keeps_every_canvas_within_the_frames_height() -> None:
    panels = [(0, 0, 300, 480), (400, 0, 640, 480), (300, 0, 400, 100)]

    canvases = _pack(panels, 480)

    assert all(w <= 480 and h == 480 for (w, h), _ in canvases)
    placed = sorted(rect for _, rects in canvases for rect, _ in rects)
    assert placed == sorted(panels)


def test_a_panel_wider_than_the_frame_is_high_is_cut_in_overlapping_pieces() -> None:
    canvases = _pack([(0, 0, 1000, 480)], 480)

    pieces = sorted(rect for _, rects in canvases for rect, _ in rects)
    assert pieces[0][0] == 0 and pieces[-1][2] == 1000
    assert all(b[0] < a[2] for a, b in itertools.pairwise(pieces))  # they overlap
    assert all(r[2] - r[0] <= 480 for r in pieces)


def test_every_model_loads_from_the_wheel_without_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import socket

    from mediapipe.python.solutions import download_utils

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was about to be downloaded")

    monkeypatch.setattr(download_utils, "download_oss_model", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    frame = synth.turned_frame(synth.ASTRONAUT, 30)

    with FaceDetector() as fresh:
        fresh.warm_up()  # short-range, full-range and the face mesh
        found = fresh.find(frame)
        assert fresh.refine_pose(found.image, found.faces[0]) is not None
