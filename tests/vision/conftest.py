from __future__ import annotations

from collections.abc import Iterator

import pytest

from vision.detector import FaceDetector


@pytest.fixture(scope="module")
def detector() -> Iterator[FaceDetector]:
    with FaceDetector() as detector:
        yield detector
