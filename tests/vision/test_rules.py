from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.vision.images import face_rgb
from vision.detector import Face
from vision.rules import decide, measure
from vision.verdict import Challenge, Outcome

LIT, SHARP = 140.0, 300.0


def face(height: float = 0.5, score: float = 0.9) -> Face:
    return Face(score=score, box=(0.3, 0.2, height * 0.75, height))


def test_one_face_is_present_without_a_hint() -> None:
    assert decide([face()], LIT, SHARP, Challenge.NONE, 640, 480) == (Outcome.PRESENT, None)


def test_two_faces_mean_someone_else_is_in_view() -> None:
    assert decide([face(), face(0.3)], LIT, SHARP, Challenge.NONE, 640, 480) == (
        Outcome.MULTIPLE_FACES,
        "only you should be in view",
    )


@pytest.mark.parametrize(
    ("box_height", "frame_height"),
    [(0.08, 480), (0.2, 120)],  # small share of the frame; too few pixels
)
def test_a_small_face_still_passes_but_asks_to_move_closer(
    box_height: float, frame_height: int
) -> None:
    outcome, hint = decide([face(box_height)], LIT, SHARP, Challenge.NONE, 640, frame_height)

    assert outcome is Outcome.PRESENT
    assert hint == "move closer"


@pytest.mark.parametrize(
    ("brightness", "sharpness", "hint"),
    [
        (20.0, SHARP, "too dark — face a light"),
        (240.0, SHARP, "too bright — move out of direct light"),
        (LIT, 8.0, "hold still"),
        (LIT, SHARP, "no face found — look at the camera"),
        (LIT, 0.0, "no face found — look at the camera"),  # a flat frame is not motion blur
        (20.0, 8.0, "too dark — face a light"),  # light first: darkness also blurs
    ],
)
def test_no_face_hint_names_the_likely_cause(
    brightness: float, sharpness: float, hint: str
) -> None:
    assert decide([], brightness, sharpness, Challenge.NONE, 640, 480) == (Outcome.NO_FACE, hint)


@pytest.mark.parametrize("challenge", [Challenge.TURN_LEFT, Challenge.TURN_RIGHT])
def test_challenges_are_judged_as_plain_checks_until_head_pose_lands(challenge: Challenge) -> None:
    assert decide([face()], LIT, SHARP, challenge, 640, 480) == (Outcome.PRESENT, None)


def test_brightness_is_mean_luma() -> None:
    grey = np.full((240, 320, 3), 77, dtype=np.uint8)

    brightness, sharpness = measure(grey)

    assert brightness == pytest.approx(77, abs=0.5)
    assert sharpness == pytest.approx(0, abs=1e-6)


def test_blur_lowers_sharpness() -> None:
    sharp = face_rgb(640)
    blurred = np.asarray(Image.fromarray(sharp).filter(ImageFilter.GaussianBlur(4)))

    assert measure(blurred)[1] < measure(sharp)[1] / 5


def test_sharpness_is_comparable_across_frame_sizes() -> None:
    small, large = measure(face_rgb(320))[1], measure(face_rgb(1280))[1]

    assert 0.7 < small / large < 1.4
