"""From detections and measures to an outcome and a hint. Pure: no I/O, no model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from vision.images import RGBArray
from vision.verdict import Challenge, Outcome

if TYPE_CHECKING:
    from vision.detector import Face

__all__ = ["decide", "measure"]

DARK_BELOW = 50.0
"""Mean luma under which a missing face is blamed on the light."""
BRIGHT_ABOVE = 220.0
BLURRY_BELOW = 20.0
"""Sharpness under which a missing face is blamed on motion. A sharp 640x480 face measures ~300;
blurred with a 3 px Gaussian, ~18."""
FLAT_BELOW = 1.0
"""A frame this flat (covered lens, blank virtual camera) has nothing to blur: not motion."""
SMALL_FACE_RATIO = 0.12
"""A face box shorter than this share of the frame height earns a "move closer"."""
SMALL_FACE_PIXELS = 32
"""...as does a face box shorter than this: too few pixels to be worth keeping as evidence."""
SHARPNESS_WIDTH = 320
"""Frames are scaled to this width before measuring, so sharpness compares across sizes."""

HINT_DARK = "too dark — face a light"
HINT_BRIGHT = "too bright — move out of direct light"
HINT_BLURRY = "hold still"
HINT_NO_FACE = "no face found — look at the camera"
HINT_MULTIPLE = "only you should be in view"
HINT_CLOSER = "move closer"


def measure(rgb: RGBArray) -> tuple[float, float]:
    """Return (brightness, sharpness): mean luma 0 to 255 and variance of the Laplacian."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    if w != SHARPNESS_WIDTH:
        size = (SHARPNESS_WIDTH, max(1, round(h * SHARPNESS_WIDTH / w)))
        shrinking = w > SHARPNESS_WIDTH
        grey = cv2.resize(
            grey, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        )
    brightness = float(np.mean(grey))
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    return brightness, sharpness


def decide(
    faces: Sequence[Face],
    brightness: float,
    sharpness: float,
    challenge: Challenge,
    width: int,
    height: int,
) -> tuple[Outcome, str | None]:
    """Judge one frame. ``faces`` are those above the detector's confidence threshold."""
    # Turn-left/right challenges are checked once head-pose estimation lands. Until then a
    # challenge prompt is judged like a plain one: no student fails a check we cannot make.
    if not faces:
        return Outcome.NO_FACE, _no_face_hint(brightness, sharpness)
    if len(faces) > 1:
        return Outcome.MULTIPLE_FACES, HINT_MULTIPLE
    box_height = faces[0].box[3]
    if box_height < SMALL_FACE_RATIO or box_height * height < SMALL_FACE_PIXELS:
        # Far from the camera is still present; the hint helps the next check.
        return Outcome.PRESENT, HINT_CLOSER
    return Outcome.PRESENT, None


def _no_face_hint(brightness: float, sharpness: float) -> str:
    if brightness < DARK_BELOW:
        return HINT_DARK
    if brightness > BRIGHT_ABOVE:
        return HINT_BRIGHT
    if FLAT_BELOW <= sharpness < BLURRY_BELOW:
        return HINT_BLURRY
    return HINT_NO_FACE
