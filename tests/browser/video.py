"""Fake camera feeds for Chromium: Y4M files made at run time from real photos.

Chromium plays a Y4M file as its camera with ``--use-file-for-fake-video-capture=<file>``
(looping it), so a test can put a real face, or no face, in front of the student page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import skimage.data
from numpy.typing import NDArray
from PIL import Image

from testkit.frames import face_rgb

WIDTH, HEIGHT = 640, 480
FPS = 10
RGB = NDArray[np.uint8]


def _yuv420(rgb: RGB) -> bytes:
    """Full-range BT.601 (JPEG) Y, U and V planes, chroma averaged over 2x2 blocks."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b

    def sub(plane: NDArray[np.float32]) -> NDArray[np.float32]:
        h, w = plane.shape
        return np.asarray(plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)), np.float32)

    planes = (y, sub(u), sub(v))
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def write_y4m(path: Path, rgb: RGB, frames: int = 5) -> Path:
    """A still picture as a ``frames``-long 640x480 Y4M clip (Chromium loops it)."""
    if rgb.shape != (HEIGHT, WIDTH, 3):
        rgb = np.asarray(Image.fromarray(rgb).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS))
    frame = b"FRAME\n" + _yuv420(rgb)
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


def face_video(path: Path) -> Path:
    """One face (skimage's astronaut), about half the frame height."""
    return write_y4m(path, face_rgb(WIDTH, HEIGHT))


def no_face_video(path: Path) -> Path:
    """A cup of coffee on a table: a real photo with no face in it."""
    return write_y4m(path, np.asarray(skimage.data.coffee()))
