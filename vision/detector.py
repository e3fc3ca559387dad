"""MediaPipe face detection, one instance per thread.

The model files ship inside the mediapipe 0.10.21 wheel, so nothing is downloaded at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import version
from types import TracebackType
from typing import Any

import mediapipe as mp
import numpy as np

from vision.errors import VisionError
from vision.images import RGBArray

__all__ = ["DETECTOR_VERSION", "Face", "FaceDetector"]

DETECTOR_VERSION = f"mediapipe-{version('mediapipe')}/face_detection_short_range"
"""Recorded with every verdict, so a check can be traced to the model that made it."""

Box = tuple[float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Face:
    score: float
    box: Box
    """(x, y, width, height), relative to the frame's width and height; may reach past its edges."""
    keypoints: list[Point] = field(default_factory=list)
    """Relative (x, y): right eye, left eye, nose tip, mouth, right ear, left ear."""


class FaceDetector:
    """The short-range model (faces within about 2 m, as in front of a webcam).

    Not thread-safe: a MediaPipe graph runs one frame at a time, so give each thread its own.
    """

    version = DETECTOR_VERSION

    def __init__(self, min_confidence: float = 0.5) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within [0, 1], not {min_confidence}")
        self.min_confidence = min_confidence
        self._solution = mp.solutions.face_detection.FaceDetection(
            model_selection=0, min_detection_confidence=min_confidence
        )
        self._closed = False

    def detect(self, rgb: RGBArray) -> list[Face]:
        """Faces found in ``rgb``, best first."""
        if self._closed:
            raise VisionError("the face detector is closed")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame, not {rgb.dtype} {rgb.shape}")
        result = self._solution.process(np.ascontiguousarray(rgb))
        faces = [_face(d) for d in result.detections or ()]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._solution.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _face(detection: Any) -> Face:  # a mediapipe Detection protobuf, which has no stubs
    data = detection.location_data
    box = data.relative_bounding_box
    return Face(
        score=float(detection.score[0]),
        box=(float(box.xmin), float(box.ymin), float(box.width), float(box.height)),
        keypoints=[(float(k.x), float(k.y)) for k in data.relative_keypoints],
    )
