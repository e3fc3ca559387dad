"""Evidence thumbnails: a small JPEG of a frame, kept only when a course asks for evidence."""

from __future__ import annotations

import cv2

from vision.errors import BadImage
from vision.images import ImageLimits, decode_image

THUMBNAIL_SIDE = 160
"""Neither side of a thumbnail exceeds this many pixels: enough to recognise a person, little
enough to be evidence rather than a photo collection."""
THUMBNAIL_QUALITY = 70


def make_thumbnail(data: bytes, limits: ImageLimits) -> bytes | None:
    """A JPEG of at most 160 by 160 px, or None when the frame cannot be decoded."""
    try:
        rgb = decode_image(data, limits)
    except BadImage:
        return None
    h, w = rgb.shape[:2]
    scale = min(1.0, THUMBNAIL_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    ok, encoded = cv2.imencode(
        ".jpg",
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, THUMBNAIL_QUALITY],
    )
    return encoded.tobytes() if ok else None
