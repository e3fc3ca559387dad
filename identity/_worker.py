"""What runs inside each identity worker process: the model, loaded once, and its one job.

Imports nothing of the server (no MediaPipe, no database): a worker holds dlib, its two models and
OpenCV's decoder, some 150 MB.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from identity.description import Box, Description

_FLAGS = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION
_describer: Any = None
"""The `identity.model.FaceDescriber` of this process (dlib is imported here only)."""


def init() -> str:
    """Worker setup: load the models and run them once, so the first request is fast. Returns
    what the worker runs on (numpy's BLAS, dlib's build)."""
    global _describer
    import dlib

    from identity._blas import limit_blas_threads
    from identity.model import FaceDescriber

    blas_threads = limit_blas_threads(1)
    _describer = FaceDescriber()
    _describer.describe(_warm_frame(), (0.25, 0.25, 0.5, 0.5))
    return (
        f"descriptor on numpy {np.__version__} "
        f"(OpenBLAS threads: {'not found' if blas_threads is None else blas_threads}), "
        f"landmarks on dlib {dlib.__version__} "
        f"(BLAS {dlib.DLIB_USE_BLAS}, AVX {dlib.USE_AVX_INSTRUCTIONS})"
    )


def describe(image: bytes | NDArray[np.uint8], box: Box) -> Description:
    """Decode (when given bytes) and describe the face in ``box``.

    Bytes reach here only after the vision pool accepted them (format, size and pixel limits),
    so they are decoded as they are; bytes that still fail to decode are ``unreadable``.
    """
    assert _describer is not None, "init() runs first"
    if isinstance(image, bytes):
        rgb = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), _FLAGS)
        if rgb is None:
            return Description(None, 0, 0.0, "unreadable")
    else:
        rgb = image
    description: Description = _describer.describe(rgb, box)
    return description


def _warm_frame() -> NDArray[np.uint8]:
    rng = np.random.default_rng(0)
    return rng.integers(60, 200, size=(160, 160, 3), dtype=np.uint8)
