"""What runs inside each vision worker process: one detector, loaded once, and its one job.

Imports nothing of the server: a worker holds MediaPipe's graphs, OpenCV's decoder and numpy.
"""

from __future__ import annotations

from vision.detector import FaceDetector
from vision.images import ImageLimits
from vision.judge import judge_frame
from vision.native_log import sifted_native_output
from vision.rules import Thresholds
from vision.verdict import Challenge, Verdict

_detector: FaceDetector | None = None
_limits = ImageLimits()
_thresholds: Thresholds | None = None


def init(min_confidence: float, scan: bool, limits: ImageLimits, thresholds: Thresholds) -> None:
    """Worker setup: build the detector and run it once, so the first frame is not slow."""
    global _detector, _limits, _thresholds
    _limits, _thresholds = limits, thresholds
    with sifted_native_output():
        _detector = FaceDetector(min_confidence, scan=scan)
        _detector.warm_up()


def judge(data: bytes, challenge: Challenge) -> Verdict:
    """`vision.judge_frame` with this process's detector."""
    assert _detector is not None and _thresholds is not None, "init() runs first"
    return judge_frame(data, challenge, _detector, _limits, _thresholds)
