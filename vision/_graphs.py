"""Thin wrappers around the MediaPipe graphs the detector runs. Not thread-safe: one per thread.

Every model file ships inside the mediapipe 0.10.21 wheel (mediapipe/modules/...): the legacy
solutions load them from there and never download anything.
"""

from __future__ import annotations

from typing import Any

import cv2
import mediapipe as mp
import numpy as np
from numpy.typing import NDArray

from vision.images import RGBArray

__all__ = ["DetectionGraph", "MeshGraph", "RawFace"]

RawFace = tuple[float, tuple[float, float, float, float], list[tuple[float, float]]]
"""(score, relative box (x, y, width, height), relative keypoints)."""


class DetectionGraph:
    """BlazeFace: the short-range model (128 px input, faces within about 2 m) or the
    full-range one (192 px input, sparse, faces within about 5 m)."""

    def __init__(self, *, full_range: bool, min_confidence: float) -> None:
        self._solution = mp.solutions.face_detection.FaceDetection(
            model_selection=1 if full_range else 0, min_detection_confidence=min_confidence
        )

    def run(self, rgb: RGBArray) -> list[RawFace]:
        return [_raw(d) for d in _process(self._solution, rgb, "detections") or ()]

    def close(self) -> None:
        self._solution.close()


class MeshGraph:
    """The face mesh, run on a crop around a face the detector found: 468 landmarks with depth,
    or nothing when its own face-presence score says there is no face there.

    A second opinion on a doubtful face: the landmark model is a different network from the
    detectors, trained on face crops; in the crop the face fills half the picture. Patterns that
    fool a detector (a cat, a colour wheel, a brick wall) do not pass. And the landmarks give the
    head pose (`vision.pose.mesh_pose`).
    """

    CROP_PX = 192
    CONTEXT = 2.0
    """The crop's side, in face-box sides."""

    def __init__(self, min_presence: float = 0.5) -> None:
        self._solution = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=1,
            min_detection_confidence=0.5,
            min_tracking_confidence=min_presence,
        )

    def landmarks(
        self, rgb: RGBArray, box: tuple[float, float, float, float]
    ) -> NDArray[np.float64] | None:
        """(468, 3) landmarks in pixels of the crop (z in the same unit), or None: no face."""
        h, w = rgb.shape[:2]
        cx, cy = (box[0] + box[2] / 2) * w, (box[1] + box[3] / 2) * h
        side = max(box[2] * w, box[3] * h, 1.0) * self.CONTEXT
        scale = self.CROP_PX / side
        matrix = np.array(
            [[scale, 0, self.CROP_PX / 2 - cx * scale], [0, scale, self.CROP_PX / 2 - cy * scale]]
        )
        crop = cv2.warpAffine(
            rgb,
            matrix,
            (self.CROP_PX, self.CROP_PX),
            flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(128, 128, 128),
        )
        found = _process(self._solution, crop, "multi_face_landmarks")
        if not found:
            return None
        px = float(self.CROP_PX)
        return np.array([(p.x * px, p.y * px, p.z * px) for p in found[0].landmark])

    def close(self) -> None:
        self._solution.close()


def _process(solution: Any, rgb: NDArray[Any], output: str) -> Any:
    """``SolutionBase.process`` for a graph with one image input, reading one output.

    The same steps as mediapipe 0.10.21's own (which the project pins), without building a
    new namedtuple class on every call (its cost: bench/RESULTS.md, figures behind the code).
    These are mediapipe internals: docs/library-internals.md."""
    solution._graph_outputs.clear()  # never the previous frame's answer
    solution._simulated_timestamp += 33333  # as SolutionBase does: a 30 fps stream
    ((stream, kind),) = solution._input_stream_type_info.items()
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("the image must have three channels (RGB)")
    packet = solution._make_packet(kind, rgb).at(solution._simulated_timestamp)
    solution._graph.add_packet_to_input_stream(stream=stream, packet=packet)
    solution._graph.wait_until_idle()
    found = solution._graph_outputs.get(output)
    if found is None:
        return None
    return solution._get_packet_content(solution._output_stream_type_info[output], found)


def _raw(detection: Any) -> RawFace:  # a mediapipe Detection protobuf, which has no stubs
    data = detection.location_data
    box = data.relative_bounding_box
    return (
        float(detection.score[0]),
        (float(box.xmin), float(box.ymin), float(box.width), float(box.height)),
        [(float(k.x), float(k.y)) for k in data.relative_keypoints],
    )
