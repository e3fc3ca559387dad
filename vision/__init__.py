"""Bytes in, verdict out: is one student, and only one, in front of the camera?

`VisionPool.judge` is the entry point for the server; `judge_frame` is the same check, synchronous.
"""

from vision.detector import DETECTOR_VERSION, Face, FaceDetector
from vision.errors import BadImage, PoolClosed, PoolSaturated, VisionError
from vision.images import ImageLimits, decode_image
from vision.judge import judge_frame
from vision.pool import VisionPool
from vision.verdict import Challenge, Outcome, Verdict

__all__ = [
    "DETECTOR_VERSION",
    "BadImage",
    "Challenge",
    "Face",
    "FaceDetector",
    "ImageLimits",
    "Outcome",
    "PoolClosed",
    "PoolSaturated",
    "Verdict",
    "VisionError",
    "VisionPool",
    "decode_image",
    "judge_frame",
]
