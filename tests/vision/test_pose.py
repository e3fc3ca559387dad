"""Head pose: the sign conventions on hand-made keypoints, the accuracy on rendered head turns,
and the one real turned head that ships with scikit-image."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import skimage.data

from testkit import synth
from vision.detector import FaceDetector
from vision.pose import head_pose, mesh_pose

Points = list[tuple[float, float]]

# A frontal face in a 640x480 frame: right eye (on the picture's left), left eye, nose tip,
# mouth, right ear, left ear; relative coordinates.
FRONTAL: Points = [
    (0.45, 0.40),
    (0.55, 0.40),
    (0.50, 0.465),
    (0.50, 0.53),
    (0.39, 0.43),
    (0.61, 0.43),
]


def shifted_nose(points: Points, dx: float) -> Points:
    out = list(points)
    out[2] = (points[2][0] + dx, points[2][1])
    return out


def rotated(points: Points, degrees: float) -> Points:
    """Rotated in the picture about its centre, in pixels of a 640x480 frame."""
    t = math.radians(degrees)
    out = []
    for x, y in points:
        px, py = x * 640 - 320, y * 480 - 240
        out.append(
            (
                (px * math.cos(t) - py * math.sin(t) + 320) / 640,
                (px * math.sin(t) + py * math.cos(t) + 240) / 480,
            )
        )
    return out


def mirrored(points: Points) -> Points:
    flipped = [(1 - x, y) for x, y in points]
    # In a mirrored picture the right eye appears on the right: swap so the order still reads
    # right eye, left eye, ..., right ear, left ear as a detector would report them.
    return [flipped[1], flipped[0], flipped[2], flipped[3], flipped[5], flipped[4]]


def test_a_frontal_face_has_no_yaw() -> None:
    pose = head_pose(FRONTAL, 640, 480)

    assert pose is not None
    assert abs(pose.yaw) < 3
    assert abs(pose.roll) < 1


def test_nose_towards_the_pictures_left_is_a_turn_to_the_students_own_right() -> None:
    pose = head_pose(shifted_nose(FRONTAL, -0.02), 640, 480)

    assert pose is not None and pose.yaw > 15


def test_a_tilted_head_or_laptop_is_not_a_turn() -> None:
    turned = head_pose(shifted_nose(FRONTAL, -0.02), 640, 480)
    turned_and_tilted = head_pose(rotated(shifted_nose(FRONTAL, -0.02), 25), 640, 480)

    assert turned is not None and turned_and_tilted is not None
    assert turned_and_tilted.yaw == pytest.approx(turned.yaw, abs=1)
    assert turned_and_tilted.roll == pytest.approx(25, abs=1)


def test_a_mirror_swaps_the_turn() -> None:
    turned = head_pose(shifted_nose(FRONTAL, -0.02), 640, 480)
    seen_in_a_mirror = head_pose(mirrored(shifted_nose(FRONTAL, -0.02)), 640, 480)

    assert turned is not None and seen_in_a_mirror is not None
    assert seen_in_a_mirror.yaw == pytest.approx(-turned.yaw, abs=0.5)


def test_a_printed_photo_turned_away_still_faces_the_camera() -> None:
    """Squeezing the keypoints sideways (a flat face seen at an angle) moves nothing against
    anything else: no parallax, no yaw."""
    squeezed = [(0.5 + (x - 0.5) * math.cos(math.radians(50)), y) for x, y in FRONTAL]

    pose = head_pose(squeezed, 640, 480)

    assert pose is not None and abs(pose.yaw) < 3


@pytest.mark.parametrize(
    "points",
    [FRONTAL[:5], [(0.5, 0.5)] * 6, [FRONTAL[1], FRONTAL[0], *FRONTAL[2:]]],
    ids=["five keypoints", "all in one spot", "eyes swapped (upside down)"],
)
def test_no_pose_from_keypoints_that_cannot_give_one(points: Points) -> None:
    assert head_pose(points, 640, 480) is None


def test_mesh_pose_needs_468_landmarks() -> None:
    assert mesh_pose(np.zeros((10, 3))) is None


# -- on rendered head turns of real portraits --------------------------------------------------


@pytest.mark.parametrize("portrait", [synth.ASTRONAUT, synth.HOPPER], ids=lambda p: p.name)
@pytest.mark.parametrize("yaw", [-40, -25, 25, 40])
def test_keypoints_and_mesh_follow_a_rendered_head_turn(
    detector: FaceDetector, portrait: synth.Portrait, yaw: int
) -> None:
    frame = synth.turned_frame(portrait, yaw)
    found = detector.find(frame)
    [face] = found.faces

    quick = head_pose(face.keypoints, 640, 480)
    sure = detector.refine_pose(found.image, face)

    assert quick is not None and sure is not None
    assert np.sign(quick.yaw) == np.sign(yaw)
    assert abs(quick.yaw - yaw) < 12
    assert abs(sure.yaw - yaw) < 6


@pytest.mark.parametrize("pitch", [-30, 30])
def test_the_mesh_follows_a_rendered_nod(detector: FaceDetector, pitch: int) -> None:
    frame = synth.turned_frame(synth.HOPPER, 0, pitch)
    found = detector.find(frame)

    sure = detector.refine_pose(found.image, found.faces[0])

    assert sure is not None
    assert abs(sure.pitch - pitch) < 8
    assert abs(sure.yaw) < 6


def test_the_cameraman_has_turned_his_head_to_his_own_left(detector: FaceDetector) -> None:
    """The one real head turned well away that ships in the packages: the keypoints are fooled
    (they land on his cheek), the mesh is not."""
    cam = np.repeat(np.asarray(skimage.data.camera())[:, :, None], 3, axis=2)
    frame = cv2.resize(cam[32:480, :], (640, 480))
    found = detector.find(frame)

    sure = detector.refine_pose(found.image, found.faces[0])

    assert sure is not None and sure.yaw < -50
