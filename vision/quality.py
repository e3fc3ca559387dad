"""How well a frame shows a face: its light and sharpness, and a contrast-normalised copy.

Measured on the face when there is one (a bright window behind a dark face is a dark face; a
blurred background, as video calls make on purpose, is not a blurred face), else on the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.images import RGBArray

__all__ = ["FACE_SIDE", "FRAME_SIDE", "Box", "measure", "normalise_contrast"]

Box = tuple[float, float, float, float]
"""(x, y, width, height), relative to the frame."""

FACE_SIDE = 64
"""A face is scaled, down or up, to this many pixels on its longer side before measuring, so
its sharpness compares across frame sizes and distances from the camera (and the measure stays
cheap: it runs on every frame)..."""
FRAME_SIDE = 320
"""...and a frame without a face to this many: fine enough to tell a head moving in the dark
from a still, empty room."""

_MIN_REGION_PX = 8

_CLAHE_CLIP = 2.5
_CLAHE_TILES = (8, 8)


def measure(rgb: RGBArray, box: Box | None = None) -> tuple[float, float]:
    """Return (brightness, sharpness) of the face ``box``, or of the whole frame.

    Brightness is the mean luma, 0 to 255. Sharpness is the variance of the Laplacian of the grey
    region scaled to `FACE_SIDE` (or `FRAME_SIDE`). A sharp, well-lit face measures in the
    thousands, and the same face smeared by a moving head or out of focus a few hundred; a frame
    without a face, a few hundred when still and under 20 when smeared.
    """
    region = rgb if box is None else _crop(rgb, box)
    h, w = region.shape[:2]
    scale = (FACE_SIDE if region is not rgb else FRAME_SIDE) / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Bilinear: area averaging would cost three times as much.
    small = cv2.resize(region, size, interpolation=cv2.INTER_LINEAR)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    laplacian = cv2.Laplacian(grey, cv2.CV_16S)
    _, deviation = cv2.meanStdDev(laplacian)
    return float(cv2.mean(grey)[0]), float(deviation[0, 0]) ** 2


def normalise_contrast(rgb: RGBArray) -> RGBArray:
    """A copy with the light stretched and local contrast evened out, for a second look.

    The luma is stretched so its 1st and 99th percentiles span 0 to 255 (a dim frame uses a sliver
    of the range), then equalised in 8x8 tiles with a clip limit (CLAHE), which lifts a face lit
    from behind without turning sensor noise into texture. Colour is kept.
    """
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    luma = ycc[:, :, 0]
    low, high = np.percentile(luma[::4, ::4], (1, 99))
    if high - low >= 8:  # a flat frame (a covered lens) has no light to stretch
        gain = 255.0 / (high - low)
        luma = cv2.convertScaleAbs(luma, alpha=gain, beta=-low * gain)
    clahe = cv2.createCLAHE(clipLimit=_CLAHE_CLIP, tileGridSize=_CLAHE_TILES)
    ycc[:, :, 0] = clahe.apply(np.ascontiguousarray(luma))
    return np.ascontiguousarray(cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB))


def _crop(rgb: RGBArray, box: Box) -> RGBArray:
    h, w = rgb.shape[:2]
    x0 = min(max(round(box[0] * w), 0), w - 1)
    y0 = min(max(round(box[1] * h), 0), h - 1)
    x1 = max(min(round((box[0] + box[2]) * w), w), x0 + 1)
    y1 = max(min(round((box[1] + box[3]) * h), h), y0 + 1)
    if x1 - x0 < _MIN_REGION_PX or y1 - y0 < _MIN_REGION_PX:
        return rgb
    return rgb[y0:y1, x0:x1]
