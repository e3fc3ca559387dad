"""Find every face in a frame: the student's, and anyone else's, however small. One per thread.

MediaPipe ships two face detectors in its wheel. The short-range one is the faster and gives
the best keypoints, but misses faces under about 15 % of the frame height. The full-range one
(slower: bench/RESULTS.md, "Vision: cost") sees faces down to about 8 %, yet next to a large
face it misses most small ones: in `bench/vision_eval.py`, a second face at 10 % of the frame
height beside a student filling half of it was found 23 % of the time on the whole frame, and
98 % of the time when the detector looked only at the strips of the frame beside the student.
Hence, per frame:

1. the short-range model on the whole frame (always);
2. a face found: the **side scan**, the full-range model on the parts of the frame beside and
   above the student's (the largest) face, packed side by side into one picture no larger than
   the frame is high (so nothing is shrunk more than in the whole frame). A small student face
   (under 20 % of the height) leaves nothing to pack: the full-range model looks at the whole
   frame instead. (With two faces found already it still runs, so the count is complete.)
3. no face found: the full-range model on the whole frame (a student far from the camera), then
   both models again on a contrast-normalised copy (a dark or backlit frame);
4. any face scoring under 0.75 is checked by the face-landmark model on a crop around it (see
   `MeshGraph`); in the evaluation every false face on a photo without people was rejected there,
   and every real one kept. The landmarks also give that face's head pose.

Steps 2 to 4 are the "extra models": `scan=False` turns step 2 off, for when speed matters more
than a small face in the background.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from types import TracebackType

import numpy as np

from vision._graphs import DetectionGraph, MeshGraph, RawFace
from vision.errors import VisionError
from vision.images import RGBArray
from vision.pose import HeadPose, mesh_pose
from vision.quality import normalise_contrast

__all__ = ["DETECTOR_VERSION", "Detection", "Face", "FaceDetector"]

DETECTOR_VERSION = f"mediapipe-{version('mediapipe')}/blazeface-short+full+mesh-check/v2"
"""Recorded with every verdict, so a check can be traced to the models and rules that made it."""

Box = tuple[float, float, float, float]
Point = tuple[float, float]

SHORT_RANGE = "short_range"
FULL_RANGE = "full_range"
SIDE_SCAN = "side_scan"
CONTRAST = "contrast"
MESH_CHECK = "mesh_check"
MESH_POSE = "mesh_pose"

VERIFY_BELOW = 0.75
"""Faces scoring under this are checked by the landmark model. Clear faces score 0.85 to 0.97;
the false faces seen in the evaluation (a cat, a colour wheel, a phantom, textures after contrast
normalisation) scored 0.53 to 0.70."""
SIDE_SCAN_MIN_SHARE = 0.2
"""Student faces shorter than this share of the frame height leave no strips worth scanning."""
_SIDE_MARGIN = 0.08
"""Left out around the student's face box, in box widths: ears and hair are not another face."""
_TOP_MARGIN = 0.3
"""Left out above the face box, in box heights: the student's own forehead and hair."""
_MIN_PANEL = 0.08
"""Strips narrower or shorter than this share of the frame height cannot hold a face."""
_GAP = 0.02
_CANVAS_WIDTH = 1.0
"""Canvases are at most this many frame heights wide (the model squeezes the longer side)."""
_DUPLICATE_IOU = 0.3


@dataclass(frozen=True, slots=True)
class Face:
    score: float
    box: Box
    """(x, y, width, height), relative to the frame's width and height; may reach past its edges."""
    keypoints: list[Point] = field(default_factory=list)
    """Relative (x, y): right eye, left eye, nose tip, mouth, right ear, left ear."""
    found_by: str = SHORT_RANGE
    """The pass that found it: short_range, full_range or side_scan."""
    pose: HeadPose | None = None
    """From the face mesh, when it ran on this face; else None (see `FaceDetector.refine_pose`)."""

    @property
    def centre(self) -> Point:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2


@dataclass(frozen=True, slots=True)
class Detection:
    faces: list[Face]
    """The largest face (the one nearest the camera: the student) first."""
    passes: tuple[str, ...]
    """The passes that ran, in order; `MESH_CHECK` once per face checked."""
    image: RGBArray = field(repr=False, compare=False)
    """The picture the faces were found in: the frame, or its contrast-normalised copy."""

    @property
    def enhanced(self) -> bool:
        """The faces were found on the contrast-normalised copy of the frame."""
        return CONTRAST in self.passes


class FaceDetector:
    """Not thread-safe: a MediaPipe graph runs one frame at a time, so give each thread its own."""

    version = DETECTOR_VERSION

    def __init__(
        self, min_confidence: float = 0.5, *, scan: bool = True, normalise: bool = True
    ) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within [0, 1], not {min_confidence}")
        self.min_confidence = min_confidence
        self.scan = scan
        self.normalise = normalise
        self._short = DetectionGraph(full_range=False, min_confidence=min_confidence)
        self._full: DetectionGraph | None = None
        self._mesh: MeshGraph | None = None
        self._closed = False

    def detect(self, rgb: RGBArray) -> list[Face]:
        """Faces found in ``rgb``, the largest first."""
        return self.find(rgb).faces

    def find(self, rgb: RGBArray) -> Detection:
        """Faces found in ``rgb``, and how they were found."""
        if self._closed:
            raise VisionError("the face detector is closed")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame, not {rgb.dtype} {rgb.shape}")
        rgb = np.ascontiguousarray(rgb)
        seen = rgb
        passes = [SHORT_RANGE]
        faces = self._confirmed(rgb, _unique(_faces(self._short.run(rgb), SHORT_RANGE)), passes)
        if faces:
            if self.scan:
                faces = [*faces, *self._scan(rgb, faces, passes)]
        else:
            faces = self._confirmed(rgb, self._full_frame(rgb, passes), passes)
            if not faces and self.normalise:
                passes.append(CONTRAST)
                enhanced = normalise_contrast(rgb)
                passes.append(SHORT_RANGE)
                found = _unique(_faces(self._short.run(enhanced), SHORT_RANGE))
                faces = self._confirmed(enhanced, found, passes)
                if not faces:
                    faces = self._confirmed(enhanced, self._full_frame(enhanced, passes), passes)
                seen = enhanced
        faces.sort(key=lambda f: f.box[3], reverse=True)
        return Detection(faces=faces, passes=tuple(passes), image=seen)

    def refine_pose(self, image: RGBArray, face: Face) -> HeadPose | None:
        """The head pose of ``face`` from the face mesh, or None if the mesh sees no face.

        ``image`` is `Detection.image`: the picture the face was found in.
        """
        if face.pose is not None:
            return face.pose
        points = self._mesh_graph().landmarks(image, face.box)
        return None if points is None else mesh_pose(points)

    def warm_up(self) -> None:
        """Load every model now and run each once, so no frame waits for one to load."""
        frame = np.full((192, 192, 3), 127, dtype=np.uint8)
        self._short.run(frame)
        self._full_graph().run(frame)
        self._mesh_graph().landmarks(frame, (0.25, 0.25, 0.5, 0.5))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for graph in (self._short, self._full, self._mesh):
                if graph is not None:
                    graph.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _full_frame(self, rgb: RGBArray, passes: list[str]) -> list[Face]:
        passes.append(FULL_RANGE)
        return _unique(_faces(self._full_graph().run(rgb), FULL_RANGE))

    def _scan(self, rgb: RGBArray, known: list[Face], passes: list[str]) -> list[Face]:
        """Faces not ``known`` yet: in the strips beside the student's, or in the whole frame."""
        student = max(known, key=lambda f: f.box[3])
        h, w = rgb.shape[:2]
        if student.box[3] < SIDE_SCAN_MIN_SHARE:
            found = self._full_frame(rgb, passes)
        else:
            found = []
            for canvas, placed in _pack(_panels(w, h, student.box), h):
                passes.append(SIDE_SCAN)
                picture = _compose(rgb, canvas, placed)
                for raw in self._full_graph().run(picture):
                    face = _unpack(raw, canvas, placed, w, h)
                    if face is not None:
                        found.append(face)
        others = [f for f in _unique(found) if not any(_same(f, k) for k in known)]
        return self._confirmed(rgb, others, passes)

    def _confirmed(self, rgb: RGBArray, faces: list[Face], passes: list[str]) -> list[Face]:
        kept = []
        for face in faces:
            if face.score < VERIFY_BELOW:
                passes.append(MESH_CHECK)
                points = self._mesh_graph().landmarks(rgb, face.box)
                if points is None:
                    continue
                face = replace(face, pose=mesh_pose(points))
            kept.append(face)
        return kept

    def _full_graph(self) -> DetectionGraph:
        if self._full is None:
            self._full = DetectionGraph(full_range=True, min_confidence=self.min_confidence)
        return self._full

    def _mesh_graph(self) -> MeshGraph:
        if self._mesh is None:
            self._mesh = MeshGraph()
        return self._mesh


def _faces(raw: Iterable[RawFace], found_by: str) -> list[Face]:
    return [Face(score, box, keypoints, found_by) for score, box, keypoints in raw]


def _unique(faces: list[Face]) -> list[Face]:
    """Best first, without the weaker of two boxes on one face (a model can answer twice)."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if not any(_same(face, k) for k in kept):
            kept.append(face)
    return kept


def _same(a: Face, b: Face) -> bool:
    ax, ay, aw, ah = a.box
    bx, by, bw, bh = b.box
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    union = aw * ah + bw * bh - inter
    if union > 0 and inter / union > _DUPLICATE_IOU:
        return True

    def inside(p: Point, box: Box) -> bool:
        return box[0] <= p[0] <= box[0] + box[2] and box[1] <= p[1] <= box[1] + box[3]

    return inside(a.centre, b.box) or inside(b.centre, a.box)


# -- the side scan: panels of the frame, packed side by side -------------------------------

Rect = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in pixels."""


def _panels(w: int, h: int, box: Box) -> list[Rect]:
    """The parts of a w x h frame where someone else's face can be, around the student's box."""
    bx, by, bw, bh = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    left = round(bx - _SIDE_MARGIN * bw)
    right = round(bx + bw + _SIDE_MARGIN * bw)
    top = round(by - _TOP_MARGIN * bh)
    candidates = [
        (0, 0, min(left, w), h),
        (max(right, 0), 0, w, h),
        (max(left, 0), 0, min(right, w), min(top, h)),
    ]
    least = _MIN_PANEL * h
    return [r for r in candidates if r[2] - r[0] >= least and r[3] - r[1] >= least]


def _pack(panels: list[Rect], h: int) -> list[tuple[tuple[int, int], list[tuple[Rect, int]]]]:
    """Panels placed left to right on canvases of at most h high and `_CANVAS_WIDTH` h wide, so
    each is seen at about the scale of a whole frame's height; wider panels are cut in
    overlapping pieces.
    Returns [((canvas width, canvas height), [(panel, x offset on the canvas)])]."""
    gap = max(2, round(_GAP * h))
    most = round(_CANVAS_WIDTH * h)
    pieces: list[Rect] = []
    for x0, y0, x1, y1 in panels:
        if x1 - x0 <= most:
            pieces.append((x0, y0, x1, y1))
            continue
        # The pieces overlap: a face cut by one piece is whole in the next.
        step = round(most - 2 * _MIN_PANEL * h)
        starts = [*range(x0, x1 - most, step), x1 - most]
        pieces.extend((s, y0, s + most, y1) for s in starts)
    canvases: list[tuple[tuple[int, int], list[tuple[Rect, int]]]] = []
    placed: list[tuple[Rect, int]] = []
    x = 0
    for piece in sorted(pieces, key=lambda r: r[2] - r[0], reverse=True):
        width = piece[2] - piece[0]
        if placed and x + width > most:
            canvases.append(((x - gap, h), placed))
            placed, x = [], 0
        placed.append((piece, x))
        x += width + gap
    if placed:
        canvases.append(((x - gap, h), placed))
    return canvases


def _compose(rgb: RGBArray, size: tuple[int, int], placed: list[tuple[Rect, int]]) -> RGBArray:
    canvas = np.full((size[1], size[0], 3), 127, dtype=np.uint8)
    for (x0, y0, x1, y1), at in placed:
        canvas[: y1 - y0, at : at + x1 - x0] = rgb[y0:y1, x0:x1]
    return canvas


def _unpack(
    raw: RawFace, size: tuple[int, int], placed: list[tuple[Rect, int]], w: int, h: int
) -> Face | None:
    """A face found on a canvas, in the frame's relative coordinates (None: it sat on a gap)."""
    score, (x, y, bw, bh), keypoints = raw
    cw, ch = size
    cx = (x + bw / 2) * cw
    for (x0, y0, x1, _), at in placed:
        if at <= cx < at + x1 - x0:
            dx, dy = x0 - at, y0  # canvas pixels to frame pixels
            return Face(
                score=score,
                box=((x * cw + dx) / w, (y * ch + dy) / h, bw * cw / w, bh * ch / h),
                keypoints=[((kx * cw + dx) / w, (ky * ch + dy) / h) for kx, ky in keypoints],
                found_by=SIDE_SCAN,
            )
    return None
