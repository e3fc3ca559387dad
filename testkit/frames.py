"""Real test frames, built at run time from scikit-image's bundled public-domain photos.

Imported by the tests and benchmarks: ``from testkit.frames import face_jpeg``.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from io import BytesIO

import numpy as np
import skimage.data
from numpy.typing import NDArray
from PIL import Image

__all__ = [
    "blank_jpeg",
    "cat_jpeg",
    "coffee_jpeg",
    "dark_face_jpeg",
    "encode",
    "face_jpeg",
    "face_rgb",
    "png_bomb",
    "tiny_png",
    "truncated_jpeg",
    "turned_face_jpeg",
    "two_faces_jpeg",
]

RGB = NDArray[np.uint8]

# In skimage's 512x512 astronaut the face box spans about x 178-273, y 83-178.
_FACE_CENTRE = (225, 135)
_FACE_SIDE = 95


def encode(rgb: RGB, fmt: str = "JPEG", **params: object) -> bytes:
    """Encode an RGB array; JPEG at quality 80 unless told otherwise."""
    if fmt == "JPEG":
        params.setdefault("quality", 80)
    out = BytesIO()
    Image.fromarray(rgb).save(out, fmt, **params)
    return out.getvalue()


@cache
def _astronaut() -> RGB:
    return np.asarray(skimage.data.astronaut())


def face_rgb(width: int = 640, height: int | None = None, face_share: float = 0.5) -> RGB:
    """The astronaut's face, filling ``face_share`` of the frame height (4:3 by default)."""
    height = height or width * 3 // 4
    crop_h = round(_FACE_SIDE / face_share)
    crop_w = round(crop_h * width / height)
    x0 = max(0, _FACE_CENTRE[0] - crop_w // 2)
    y0 = max(0, _FACE_CENTRE[1] - crop_h // 2)
    crop = _astronaut()[y0 : y0 + crop_h, x0 : x0 + crop_w]
    return np.asarray(Image.fromarray(crop).resize((width, height), Image.Resampling.LANCZOS))


@cache
def face_jpeg(width: int = 640) -> bytes:
    """One face, about half the frame height, 4:3."""
    return encode(face_rgb(width))


@cache
def two_faces_jpeg() -> bytes:
    """Two faces side by side on a 640x480 grey frame (the second one mirrored)."""
    face = face_rgb(300, 400)
    frame = np.full((480, 640, 3), 128, dtype=np.uint8)
    frame[40:440, 10:310] = face
    frame[40:440, 330:630] = face[:, ::-1]
    return encode(frame)


@cache
def blank_jpeg() -> bytes:
    return encode(np.full((480, 640, 3), 128, dtype=np.uint8))


@cache
def dark_face_jpeg() -> bytes:
    """The face at a fifth of its light: mean luma around 28."""
    return encode((face_rgb().astype(np.float32) * 0.2).astype(np.uint8))


@cache
def coffee_jpeg() -> bytes:
    return encode(np.asarray(skimage.data.coffee()))


@cache
def cat_jpeg() -> bytes:
    return encode(np.asarray(skimage.data.chelsea()))


@cache
def truncated_jpeg() -> bytes:
    """The face JPEG cut off a little past its headers, partway into the scan data."""
    data = face_jpeg()
    return data[: len(data) // 3]


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A ~100-byte PNG whose valid IHDR (correct CRC) declares ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def tiny_png(width: int = 1, height: int = 1) -> bytes:
    """A valid PNG too small to hold a face."""
    return encode(np.zeros((height, width, 3), dtype=np.uint8), "PNG")


@cache
def turned_face_jpeg(side: str, degrees: float = 35.0) -> bytes:
    """The astronaut's face with her head turned to her own ``side`` ("left" or "right"), as the
    camera sees it (not mirrored): the answer to a ``turn_left`` or ``turn_right`` challenge.

    Rendered from the face mesh of the frontal photo (see `testkit.synth`).
    """
    from testkit.synth import ASTRONAUT, turned_frame

    if side not in ("left", "right"):
        raise ValueError(f"side must be left or right, not {side!r}")
    yaw = degrees if side == "right" else -degrees  # yaw > 0: to her own right
    return encode(turned_frame(ASTRONAUT, yaw, share=0.5))
