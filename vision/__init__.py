"""Bytes in, verdict out: is one student, and only one, in front of the camera, facing it?

`Vision.judge` is the entry point for the server, given by `VisionPool` (threads of the server,
the default) or `VisionProcesses` (worker processes); `judge_frame` is the same check,
synchronous.
"""

from vision.detector import DETECTOR_VERSION, Detection, Face, FaceDetector
from vision.errors import BadImage, PoolClosed, PoolSaturated, VisionError, WorkerLost
from vision.images import ImageLimits, decode_image
from vision.judge import judge_frame
from vision.pool import VisionPool
from vision.pose import HeadPose, head_pose
from vision.processes import VisionProcesses
from vision.rules import DEFAULT_THRESHOLDS, Thresholds
from vision.service import Vision
from vision.verdict import Challenge, Outcome, Verdict

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DETECTOR_VERSION",
    "BadImage",
    "Challenge",
    "Detection",
    "Face",
    "FaceDetector",
    "HeadPose",
    "ImageLimits",
    "Outcome",
    "PoolClosed",
    "PoolSaturated",
    "Thresholds",
    "Verdict",
    "Vision",
    "VisionError",
    "VisionPool",
    "VisionProcesses",
    "WorkerLost",
    "decode_image",
    "head_pose",
    "judge_frame",
]
