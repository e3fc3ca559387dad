"""dlib's face descriptor: 128 numbers per face, close together for one person.

Only two of the files in the ``face_recognition_models`` package are loaded: the 5-point landmark
model (dlib's, CC0) and the ResNet descriptor model (dlib's, public domain). The package also holds
a 68-point landmark model whose training data may not be used commercially: it is never opened.

The face is found by MediaPipe (`vision`), not here: ``describe`` takes its box, relative to the
frame. dlib's 5-point model was trained on dlib's own detector boxes; MediaPipe's boxes give
descriptors within 0.1 of those from dlib's boxes on the same photos (measured on the photos of
``bench/identity_eval.py``), far below the distance between two people.

dlib finds the landmarks and cuts the 150 px face chip; the descriptor network runs in numpy
(`identity._resnet`), on the same weights: dlib's binary wheel has no BLAS, and its own forward
pass cost some 80 ms of one core where numpy's takes 15 to 20, for the same 128 numbers.

Everything here is synchronous and CPU-bound (some 20 ms of one core per descriptor, much of it
holding the GIL): it runs in the worker processes of `identity.pool`, never in the server process.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import dlib
import numpy as np
from numpy.typing import NDArray

from identity._resnet import CHIP_SIZE, FaceNet
from identity.description import Box, Description

__all__ = ["DARK_BELOW", "MIN_FACE_PIXELS", "FaceDescriber", "model_paths"]

MIN_FACE_PIXELS = 32
"""A face box shorter than this is too small to compare. The descriptor sees the face as a 150 px
chip; a face at 8 % of a 480 px frame (MediaPipe's box: 34 to 42 px) still measured within 0.45
of its template, at 6 % (30 to 36 px) up to 0.60, and below that the detector loses it
(bench/identity_eval.py)."""

DARK_BELOW = 22.0
"""Mean luma of the face under which it is too dark to compare. At 25 % light (face luma 26 to
40 on the evaluation photos, with the noise a webcam adds) same-person distances stayed within
0.50 of the template; at 12 % (luma 13 to 20) they reached 0.63: the noise, not the face, made
the descriptor."""

_MODELS = {
    "landmarks": "shape_predictor_5_face_landmarks.dat",
    "descriptor": "dlib_face_recognition_resnet_model_v1.dat",
}


def model_paths() -> dict[str, Path]:
    """Where the two model files are, inside the installed package (nothing is downloaded).

    Found through the import system rather than the package's own helpers, which import
    ``pkg_resources`` (deprecated, and slow to import)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face_recognition_models package is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "models"
    paths = {key: root / name for key, name in _MODELS.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"face model files missing: {', '.join(missing)}")
    return paths


class FaceDescriber:
    """The two dlib models, loaded once per process. Not thread-safe: one per process."""

    def __init__(self) -> None:
        paths = model_paths()
        self._landmarks = dlib.shape_predictor(str(paths["landmarks"]))
        self._network = FaceNet(paths["descriptor"])

    def describe(self, rgb: NDArray[np.uint8], box: Box) -> Description:
        """The descriptor of the face in ``box``, or why it cannot be compared."""
        height, width = rgb.shape[:2]
        left, top = round(box[0] * width), round(box[1] * height)
        right, bottom = round((box[0] + box[2]) * width), round((box[1] + box[3]) * height)
        face_pixels = bottom - top
        crop = rgb[max(0, top) : max(0, bottom), max(0, left) : max(0, right)]
        brightness = float(_luma(crop).mean()) if crop.size else 0.0
        if face_pixels < MIN_FACE_PIXELS or crop.size == 0:
            return Description(None, face_pixels, brightness, "too_small")
        if brightness < DARK_BELOW:
            return Description(None, face_pixels, brightness, "too_dark")
        image = np.ascontiguousarray(rgb)
        shape = self._landmarks(image, dlib.rectangle(left, top, right, bottom))
        # The chip dlib's compute_face_descriptor would cut: aligned on the 5 points, a quarter
        # of the face's size added on each side.
        chip = dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=0.25)
        vector = self._network.describe(chip).astype("<f4")
        return Description(vector.tobytes(), face_pixels, brightness)


def _luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    weights = np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return rgb.astype(np.float32) @ weights
