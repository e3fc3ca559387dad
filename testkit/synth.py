"""Labelled frames for the vision tests and `bench.vision_eval`, made at run time.

Everything starts from photos that ship inside installed packages, so nothing is downloaded:

- scikit-image's astronaut (Eileen Collins, NASA, public domain) and its LFW subset (100 faces of
  25x25 pixels, used as small faces in the background);
- matplotlib's Grace Hopper portrait (US Navy, public domain);
- scikit-image's scenes without a person (coffee, a cat, a rocket, coins, text, ...).

From them: a portrait placed in a 4:3 webcam frame at a chosen face size, the usual damage
(rotation, light, blur, JPEG, noise, mirroring), composites with a second and third face, and
head turns. A head turn is rendered from the face mesh MediaPipe fits to the frontal photo: the
mesh's 468 points (with their depth) are rotated about the head's centre and the photo is warped
triangle by triangle, far triangles first. Eyes, nose and mouth move as on a real turning head;
hair and ears only follow a ring around the face, and nothing hidden in the photo (the side of the
head) can appear, so renders past about 45 degrees show seams. They are good for checking the
geometry of the pose estimate, not a substitute for photos of real turned heads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, cast

import cv2
import mediapipe as mp
import numpy as np
import skimage.data
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "ASTRONAUT",
    "HOPPER",
    "Portrait",
    "adjust_light",
    "background",
    "blur",
    "encode_jpeg",
    "jpeg_roundtrip",
    "lfw_faces",
    "motion_blur",
    "noise",
    "non_faces",
    "paste_face",
    "portrait_frame",
    "rotate",
    "save_sheet",
    "tilted_photo",
    "turned",
    "turned_frame",
]

RGB = NDArray[np.uint8]
FRAME = (640, 480)


@dataclass(frozen=True)
class Portrait:
    """A photo with one face; ``centre`` and ``side`` are the short-range detector's box, in px."""

    name: str
    centre: tuple[float, float]
    side: float

    @property
    def rgb(self) -> RGB:
        return _source(self.name)


# Measured once with the short-range detector on the original photos.
ASTRONAUT = Portrait("astronaut", centre=(225.0, 131.0), side=95.0)
HOPPER = Portrait("hopper", centre=(269.0, 244.0), side=194.0)


@cache
def _source(name: str) -> RGB:
    if name == "astronaut":
        return np.ascontiguousarray(skimage.data.astronaut())
    if name == "hopper":
        import matplotlib.cbook  # a dependency of mediapipe; the photo ships with it

        with cast(IO[bytes], matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as f:
            return np.ascontiguousarray(Image.open(f).convert("RGB"))
    raise KeyError(name)


@cache
def lfw_faces() -> tuple[RGB, ...]:
    """scikit-image's 100 LFW faces: tight 25x25 grey crops, as RGB."""
    tiles = (skimage.data.lfw_subset()[:100] * 255).round().astype(np.uint8)
    return tuple(np.ascontiguousarray(np.repeat(t[:, :, None], 3, axis=2)) for t in tiles)


def non_faces() -> dict[str, RGB]:
    """Photos and drawings without a human face, as RGB."""
    out: dict[str, RGB] = {}
    for name in (
        "coffee",
        "chelsea",
        "rocket",
        "horse",
        "brick",
        "grass",
        "gravel",
        "moon",
        "coins",
        "text",
        "page",
        "clock",
        "hubble_deep_field",
        "retina",
        "immunohistochemistry",
        "logo",
        "colorwheel",
        "shepp_logan_phantom",
        "microaneurysms",
        "cell",
        "checkerboard",
    ):
        img = np.asarray(getattr(skimage.data, name)())
        if img.dtype == np.float64:  # the phantom: 0 to 1
            img = (img * 255).astype(np.uint8)
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.dtype != np.uint8:
            img = (img / max(1, img.max()) * 255).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        out[name] = np.ascontiguousarray(img[:, :, :3])
    # The people's photos without their heads: uniforms, flags, a helmet, a hand.
    out["astronaut body"] = np.ascontiguousarray(ASTRONAUT.rgb[230:, :])
    out["hopper body"] = np.ascontiguousarray(HOPPER.rgb[420:, :])
    return out


@cache
def background(kind: str = "wall", size: tuple[int, int] = FRAME) -> RGB:
    """A room behind the student: a plain wall, a brick wall or a blurred kitchen."""
    w, h = size
    if kind == "wall":
        ramp = np.linspace(150, 110, w, dtype=np.float32)[None, :, None]
        tint = np.array([1.0, 0.97, 0.92], dtype=np.float32)[None, None, :]
        return np.ascontiguousarray(np.broadcast_to(ramp * tint, (h, w, 3)).astype(np.uint8))
    if kind == "brick":
        src = np.asarray(skimage.data.brick())
        return np.ascontiguousarray(np.repeat(cv2.resize(src, size)[:, :, None], 3, axis=2))
    if kind == "kitchen":
        src = np.asarray(skimage.data.coffee())
        return np.ascontiguousarray(cv2.GaussianBlur(cv2.resize(src, size), (0, 0), 6))
    raise KeyError(kind)


def portrait_frame(
    portrait: Portrait | RGB,
    share: float,
    *,
    size: tuple[int, int] = FRAME,
    at: tuple[float, float] = (0.5, 0.45),
    backdrop: str = "wall",
    face: tuple[tuple[float, float], float] | None = None,
) -> RGB:
    """``portrait`` scaled so its face box is ``share`` of the frame height, its centre ``at``.

    Whatever the photo does not cover is the ``backdrop``, blended over a few pixels.
    ``portrait`` may be a rendered array, with ``face`` = (centre, side) of its face box.
    """
    if isinstance(portrait, Portrait):
        rgb, (cx, cy), side = portrait.rgb, portrait.centre, portrait.side
    else:
        assert face is not None
        rgb, (cx, cy), side = portrait, face[0], face[1]
    w, h = size
    scale = share * h / side
    matrix = np.array(
        [[scale, 0, at[0] * w - cx * scale], [0, scale, at[1] * h - cy * scale]], dtype=np.float64
    )
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    warped = cv2.warpAffine(rgb, matrix, size, flags=interp, borderMode=cv2.BORDER_REPLICATE)
    coverage = cv2.warpAffine(
        np.ones(rgb.shape[:2], np.float32), matrix, size, flags=cv2.INTER_LINEAR
    )
    coverage = cv2.GaussianBlur(cv2.erode(coverage, np.ones((5, 5), np.uint8)), (0, 0), 2)
    soft = cast(NDArray[np.float32], coverage)
    return _blend(background(backdrop, size), cast(RGB, warped), soft)


def paste_face(
    frame: RGB,
    portrait: Portrait | RGB,
    share: float,
    at: tuple[float, float],
    *,
    face: tuple[tuple[float, float], float] | None = None,
) -> RGB:
    """Another person's head in ``frame``: face box ``share`` of the frame height, centre ``at``.

    The head (with hair and neck) is cut out with a soft oval, as a person sitting behind the
    student would show around the edges of the room. LFW tiles (arrays without ``face``) are
    tight crops: the whole tile is the face.
    """
    # The cut: half-width, half-height, and how far its centre sits below the face's, in sides.
    if isinstance(portrait, Portrait):
        rgb, (cx, cy), side = portrait.rgb, portrait.centre, portrait.side
        oval = (1.0, 1.35, 0.1)
    elif face is not None:
        rgb, (cx, cy), side = portrait, face[0], face[1]
        oval = (1.0, 1.35, 0.1)
    else:
        rgb = portrait
        cy, cx = (rgb.shape[0] - 1) / 2, (rgb.shape[1] - 1) / 2
        side = float(rgb.shape[0])
        oval = (0.45, 0.5, 0.0)
    h, w = frame.shape[:2]
    scale = share * h / side
    matrix = np.array(
        [[scale, 0, at[0] * w - cx * scale], [0, scale, at[1] * h - cy * scale]], dtype=np.float64
    )
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    warped = cv2.warpAffine(rgb, matrix, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    mask = np.zeros((h, w), np.float32)
    centre = (round(at[0] * w), round(at[1] * h + oval[2] * share * h))
    axes = (max(1, round(oval[0] * share * h)), max(1, round(oval[1] * share * h)))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, (1.0,), -1)
    soft = cast(NDArray[np.float32], cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.06 * share * h)))
    return _blend(frame, cast(RGB, warped), soft)


def _blend(under: RGB, over: RGB, alpha: NDArray[np.float32]) -> RGB:
    a = alpha[:, :, None]
    out = over.astype(np.float32) * a + under.astype(np.float32) * (1 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# -- damage --------------------------------------------------------------------------------


def rotate(rgb: RGB, degrees: float) -> RGB:
    """Roll the whole frame (a tilted head, or a tilted laptop), counter-clockwise."""
    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cast(
        RGB,
        cv2.warpAffine(rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT),
    )


def adjust_light(rgb: RGB, gain: float = 1.0, contrast: float = 1.0) -> RGB:
    """Scale the light (``gain`` < 1 darkens), then squeeze the range around its mean."""
    out = rgb.astype(np.float32) * gain
    if contrast != 1.0:
        mean = out.mean()
        out = mean + (out - mean) * contrast
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def blur(rgb: RGB, sigma: float) -> RGB:
    return cast(RGB, cv2.GaussianBlur(rgb, (0, 0), sigma))


def motion_blur(rgb: RGB, length: int) -> RGB:
    """A horizontal smear over ``length`` pixels: the head moved while the shutter was open."""
    kernel = np.full((1, length), 1.0 / length, np.float32)
    return cast(RGB, cv2.filter2D(rgb, -1, kernel, borderType=cv2.BORDER_REFLECT))


def noise(rgb: RGB, sigma: float, seed: int = 0) -> RGB:
    """Sensor noise (Gaussian, the same on every channel's scale)."""
    rng = np.random.default_rng(seed)
    out = rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape).astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def encode_jpeg(rgb: RGB, quality: int = 85) -> bytes:
    """As a browser's ``canvas.toBlob(..., "image/jpeg", quality / 100)`` would send it."""
    out = BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def jpeg_roundtrip(rgb: RGB, quality: int) -> RGB:
    ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR))


# -- head turns ----------------------------------------------------------------------------


@cache
def _mesh(name: str) -> NDArray[np.float64]:
    """The face mesh of a portrait: (468, 3) of x, y in pixels and depth towards the camera."""
    rgb = _source(name)
    h, w = rgb.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        result = mesh.process(rgb)
    points = result.multi_face_landmarks[0].landmark
    # MediaPipe's z is in units of the image width, 0 at the head's centre, negative towards
    # the camera.
    return np.array([(p.x * w, p.y * h, -p.z * w) for p in points], dtype=np.float64)


@lru_cache(maxsize=8)
def turned(portrait: Portrait, yaw: float, pitch: float = 0.0) -> RGB:
    """``portrait`` with the head turned: yaw > 0 to the person's own right, pitch > 0 up.

    Seen in the camera's (unmirrored) picture, a turn to the person's own right moves the nose
    towards the left edge of the frame.
    """
    rgb = portrait.rgb
    h, w = rgb.shape[:2]
    face = _mesh(portrait.name)
    centre = face[:, :2].mean(axis=0)
    half_w = np.ptp(face[:, 0]) / 2
    half_h = np.ptp(face[:, 1]) / 2
    angles = np.linspace(0, 2 * np.pi, 36, endpoint=False)
    # Hair and ears: a ring at the depth of the head's centre, turning with it. The room: a
    # wider ring and the frame's edges, which stay put.
    hair = np.stack(
        [
            centre[0] + 1.35 * half_w * np.cos(angles),
            centre[1] + 1.3 * half_h * np.sin(angles),
            np.zeros_like(angles),
        ],
        axis=1,
    )
    room_ring = np.stack(
        [centre[0] + 2.4 * half_w * np.cos(angles), centre[1] + 2.2 * half_h * np.sin(angles)],
        axis=1,
    )
    edge = [(x, y) for x in np.linspace(0, w - 1, 9) for y in (0, h - 1)]
    edge += [(x, y) for y in np.linspace(0, h - 1, 9)[1:-1] for x in (0, w - 1)]
    moving = np.vstack([face, hair])
    still = np.vstack([room_ring, np.array(edge)])
    src = np.vstack([moving[:, :2], still])
    src[:, 0] = src[:, 0].clip(0, w - 1)
    src[:, 1] = src[:, 1].clip(0, h - 1)

    t, p = np.radians(yaw), np.radians(pitch)
    x = moving[:, 0] - centre[0]
    y = moving[:, 1] - centre[1]
    depth = moving[:, 2]
    x1 = x * np.cos(t) - depth * np.sin(t)
    depth1 = x * np.sin(t) + depth * np.cos(t)
    y2 = y * np.cos(p) - depth1 * np.sin(p)
    depth2 = y * np.sin(p) + depth1 * np.cos(p)
    dst = src.copy()
    dst[: len(moving), 0] = x1 + centre[0]
    dst[: len(moving), 1] = y2 + centre[1]
    depth_all = np.concatenate([depth2, np.full(len(still), -1e9)])

    from scipy.spatial import Delaunay  # a dependency of scikit-image

    triangles = Delaunay(src).simplices
    out = rgb.copy()
    for k in np.argsort(depth_all[triangles].mean(axis=1)):  # far first
        _warp_triangle(rgb, out, src[triangles[k]], dst[triangles[k]])
    return out


def _warp_triangle(
    src_img: RGB, out: RGB, src: NDArray[np.float64], dst: NDArray[np.float64]
) -> None:
    def area(t: NDArray[np.float64]) -> float:
        return float(
            (t[1, 0] - t[0, 0]) * (t[2, 1] - t[0, 1]) - (t[1, 1] - t[0, 1]) * (t[2, 0] - t[0, 0])
        )

    if area(src) * area(dst) <= 0:  # turned away from the camera: hidden
        return
    h, w = out.shape[:2]
    x0, y0 = np.maximum(np.floor(dst.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(dst.max(axis=0)).astype(int) + 1, (w, h))
    if x1 <= x0 or y1 <= y0:
        return
    offset = np.array([x0, y0], dtype=np.float64)
    matrix = cv2.getAffineTransform(src.astype(np.float32), (dst - offset).astype(np.float32))
    patch = cv2.warpAffine(
        src_img, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillConvexPoly(mask, np.round((dst - offset) * 16).astype(np.int32), (1,), cv2.LINE_8, 4)
    region = out[y0:y1, x0:x1]
    region[mask > 0] = patch[mask > 0]


def turned_frame(
    portrait: Portrait, yaw: float, pitch: float = 0.0, share: float = 0.45, **kwargs: object
) -> RGB:
    """A webcam frame of ``portrait`` with the head turned (see `turned`)."""
    return portrait_frame(
        turned(portrait, yaw, pitch),
        share,
        face=(portrait.centre, portrait.side),
        **kwargs,  # type: ignore[arg-type]
    )


def tilted_photo(rgb: RGB, degrees: float) -> RGB:
    """The frame as a flat print rotated about its vertical axis, seen by a camera 60 cm away."""
    h, w = rgb.shape[:2]
    f = w  # about 53 degrees of horizontal field of view
    depth = 2.0 * w  # the print's centre, in pixels of the frame
    t = math.radians(degrees)
    corners = np.array([(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)])
    projected = []
    for x, y in corners:
        x3, z3 = x * math.cos(t), depth + x * math.sin(t)
        projected.append((f * x3 / z3 * 0.8 + w / 2, f * y / z3 * 0.8 + h / 2))
    src = np.array([(0, 0), (w, 0), (w, h), (0, h)], np.float32)
    matrix = cv2.getPerspectiveTransform(src, np.array(projected, np.float32))
    return cast(
        RGB,
        cv2.warpPerspective(
            rgb, matrix, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(120, 118, 112)
        ),
    )


def save_sheet(frames: Sequence[RGB], path: Path, columns: int = 6, width: int = 240) -> None:
    """Contact sheet of ``frames``, to look at what the evaluation judges."""
    height = width * 3 // 4
    tiles = [cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    Image.fromarray(np.vstack(rows)).save(path)
