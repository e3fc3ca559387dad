from __future__ import annotations

import numpy as np
import pytest

from testkit import synth
from testkit.frames import face_rgb
from vision.quality import measure, normalise_contrast

FACE_BOX = (0.3125, 0.2, 0.375, 0.5)  # where the face sits in synth.portrait_frame(.., 0.5)


def test_brightness_is_mean_luma() -> None:
    grey = np.full((240, 320, 3), 77, dtype=np.uint8)

    brightness, sharpness = measure(grey)

    assert brightness == pytest.approx(77, abs=0.5)
    assert sharpness == pytest.approx(0, abs=1e-6)


def test_brightness_is_the_faces_when_there_is_one() -> None:
    """A window behind the student lights the room, not the face."""
    frame = synth.adjust_light(synth.portrait_frame(synth.ASTRONAUT, 0.5), 0.4)
    frame[:, :200] = 255

    face_light, _ = measure(frame, FACE_BOX)
    frame_light, _ = measure(frame)

    assert face_light < 70 < frame_light


@pytest.mark.parametrize("box", [FACE_BOX, None], ids=["face", "frame"])
def test_blur_and_motion_lower_sharpness(box: tuple[float, float, float, float] | None) -> None:
    frame = synth.portrait_frame(synth.ASTRONAUT, 0.5)
    sharp = measure(frame, box)[1]

    assert measure(synth.blur(frame, 3), box)[1] < sharp / 4
    assert measure(synth.motion_blur(frame, 25), box)[1] < sharp / 3


def test_a_blurred_background_does_not_make_a_sharp_face_blurry() -> None:
    frame = synth.portrait_frame(synth.ASTRONAUT, 0.5)
    blurred_room = synth.blur(frame, 6)
    x0, y0, w, h = (round(v * s) for v, s in zip(FACE_BOX, (640, 480, 640, 480), strict=True))
    blurred_room[y0 : y0 + h, x0 : x0 + w] = frame[y0 : y0 + h, x0 : x0 + w]

    assert measure(blurred_room, FACE_BOX)[1] == pytest.approx(measure(frame, FACE_BOX)[1], rel=0.1)
    assert measure(blurred_room)[1] < measure(frame)[1] / 2


def test_sharpness_is_comparable_across_frame_sizes() -> None:
    small, large = measure(face_rgb(320))[1], measure(face_rgb(1280))[1]

    assert 0.7 < small / large < 1.4


def test_sharpness_of_a_face_is_roughly_comparable_across_distances() -> None:
    near = measure(synth.portrait_frame(synth.HOPPER, 0.6), (0.275, 0.15, 0.45, 0.6))[1]
    far = measure(synth.portrait_frame(synth.HOPPER, 0.3), (0.3875, 0.3, 0.225, 0.3))[1]

    # Bilinear scaling keeps some aliasing from a large face: comparable within a factor 3.
    assert 1 / 3 < near / far < 3


def test_contrast_normalisation_stretches_a_dim_frame_and_keeps_its_colour() -> None:
    frame = synth.portrait_frame(synth.ASTRONAUT, 0.5)
    dim = synth.adjust_light(frame, 0.1)

    lifted = normalise_contrast(dim)

    assert lifted.shape == dim.shape and lifted.dtype == np.uint8
    assert np.percentile(lifted, 99) - np.percentile(lifted, 1) > 150
    assert np.percentile(dim, 99) - np.percentile(dim, 1) < 30
    # Still the same colours: the channels keep their order of strength.
    channels = frame.reshape(-1, 3).mean(axis=0)
    assert list(np.argsort(lifted.reshape(-1, 3).mean(axis=0))) == list(np.argsort(channels))


def test_contrast_normalisation_leaves_a_flat_frame_flat() -> None:
    flat = np.full((480, 640, 3), 9, dtype=np.uint8)

    assert np.ptp(normalise_contrast(flat)) < 3
