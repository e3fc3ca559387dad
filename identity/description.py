"""What a worker answers about one face, and the constants both sides share. No dlib here: the
server process imports this without loading the model's library."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DESCRIPTOR_SIZE", "MODEL_VERSION", "Box", "Description"]

Box = tuple[float, float, float, float]
"""(x, y, width, height) relative to the frame, as `vision.Face.box` gives it."""

DESCRIPTOR_SIZE = 128
MODEL_VERSION = "dlib-resnet-v1+5pt/dlib-20"
"""Stored with every template and every compared check: descriptors of two models never compare."""


@dataclass(frozen=True, slots=True)
class Description:
    """What the worker says of one face: its descriptor, or why it has none."""

    vector: bytes | None
    """128 float32, little-endian; None when ``unusable`` is set."""
    face_pixels: int
    """Height of the face box in pixels of the frame."""
    brightness: float
    """Mean luma (0-255) inside the face box."""
    unusable: str | None = None
    """``too_small`` or ``too_dark`` (or ``unreadable`` for bytes that do not decode)."""
    model_version: str = MODEL_VERSION

    def array(self) -> NDArray[np.float32]:
        if self.vector is None:
            raise ValueError(f"no descriptor: {self.unusable}")
        return np.frombuffer(self.vector, dtype="<f4")
