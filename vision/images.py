"""Turn untrusted bytes into an RGB frame, refusing anything too big before decoding it.

Only JPEG, PNG and WebP are accepted, recognised by their content, never by a name or a MIME type.
The declared size is read from the file header by this module, before any decoder sees the data:
the decoders' own limits are far higher (OpenCV's is a gigapixel) or fire only after the file is
open. A JPEG is also refused when it holds more scans than a camera ever writes, since every scan
of a progressive JPEG is another pass over the whole picture (a small file can take seconds).

JPEG and WebP are decoded by OpenCV (libjpeg-turbo, libwebp): about twice as fast as through
Pillow, silent, and strict: a file cut short is refused, not returned half grey. PNG goes through
Pillow, because OpenCV's libpng writes its complaints about damaged files to stderr.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from vision.errors import BadImage

__all__ = ["DecodedImage", "ImageLimits", "RGBArray", "declared_size", "decode_image", "read_image"]

RGBArray = NDArray[np.uint8]
"""An (height, width, 3) uint8 array in RGB order."""

Format = Literal["JPEG", "PNG", "WEBP"]

# The detector looks at a 128x128 input; decoding a JPEG at a fraction of its size (libjpeg's
# DCT scaling) costs a fraction of the time (bench/RESULTS.md, figures behind the code).
_DRAFT_WIDTH = 640
_REDUCED = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)
# Frames are judged as the camera saw them: an EXIF rotation (never written by a browser's
# canvas) would also swap the declared width and height.
_CV_FLAGS = cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION

_UNREADABLE = "the image could not be read"


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 2_000_000
    # 4K UHD (3840x2160): pages send frames of at most 640 px wide, and each declared pixel
    # costs decoding time, however small the file (bench/RESULTS.md, figures behind the code).
    max_pixels: int = 3840 * 2160
    max_side: int = 8192
    min_side: int = 32
    """Smaller frames cannot hold a face worth judging."""
    max_jpeg_scans: int = 32
    """Baseline JPEGs have one scan (three if not interleaved), progressive ones about ten."""

    def __post_init__(self) -> None:
        if (
            min(self.max_bytes, self.max_pixels, self.max_side, self.min_side, self.max_jpeg_scans)
            < 1
        ):
            raise ValueError(f"image limits must be positive: {self}")
        if self.min_side > self.max_side:
            raise ValueError(f"min_side {self.min_side} is above max_side {self.max_side}")
        # Above Pillow's limit its own check would fire after ours passed, as a warning or error.
        pillow_limit = Image.MAX_IMAGE_PIXELS
        if pillow_limit is not None and self.max_pixels > pillow_limit:
            raise ValueError(f"max_pixels {self.max_pixels} is above Pillow's {pillow_limit}")


@dataclass(frozen=True, slots=True)
class DecodedImage:
    rgb: RGBArray
    width: int
    """Width as declared by the file; ``rgb`` may be smaller (reduced-size JPEG decoding)."""
    height: int
    format: Format


def decode_image(data: bytes, limits: ImageLimits) -> RGBArray:
    """Decode ``data`` to an RGB array, or raise `BadImage` saying why not."""
    return read_image(data, limits).rgb


def read_image(data: bytes, limits: ImageLimits) -> DecodedImage:
    """Like `decode_image`, and also report the format and the size the file declares."""
    if not data:
        raise BadImage("no bytes", hint=f"{_UNREADABLE} — nothing was sent")
    if len(data) > limits.max_bytes:
        raise BadImage(
            f"{len(data)} bytes is more than the limit of {limits.max_bytes}",
            hint=f"{_UNREADABLE} — the file is too large",
        )
    fmt, width, height = declared_size(data)
    _check_size(width, height, limits)
    if fmt == "JPEG":
        scans = data.count(b"\xff\xda")  # 0xFF in entropy-coded data is always followed by 0x00
        if scans > limits.max_jpeg_scans:
            raise BadImage(
                f"{scans} JPEG scans is more than the limit of {limits.max_jpeg_scans}",
                hint=f"{_UNREADABLE} — send a plain JPEG",
            )
    rgb = _decode_png(data, width, height, limits) if fmt == "PNG" else _decode_cv(data, fmt, width)
    return DecodedImage(rgb=rgb, width=width, height=height, format=fmt)


def _decode_cv(data: bytes, fmt: Format, width: int) -> RGBArray:
    flags = _CV_FLAGS
    if fmt == "JPEG":
        for factor, reduced in _REDUCED:
            if width // factor >= _DRAFT_WIDTH:
                flags |= reduced
                break
    try:
        rgb = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        raise _damaged(fmt, str(exc)) from exc
    if rgb is None or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise _damaged(fmt, "the decoder gave up")
    return np.ascontiguousarray(rgb)


def _decode_png(data: bytes, width: int, height: int, limits: ImageLimits) -> RGBArray:
    try:
        with Image.open(BytesIO(data), formats=["PNG"]) as img:
            # The header parse above and Pillow's should agree; if they do not, trust neither.
            if img.size != (width, height):
                _check_size(*img.size, limits)
            rgb = img.convert("RGB") if img.mode != "RGB" else img
            return np.asarray(rgb, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        # OSError covers Pillow's UnidentifiedImageError and "image file is truncated".
        raise _damaged("PNG", str(exc)) from exc


def _damaged(fmt: Format, reason: str) -> BadImage:
    return BadImage(
        f"cannot decode {fmt}: {reason}", hint=f"{_UNREADABLE} — the file is damaged or incomplete"
    )


def declared_size(data: bytes) -> tuple[Format, int, int]:
    """Return the format and the (width, height) written in the header, without decoding."""
    size: tuple[int, int] | None
    fmt: Format
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        fmt, size = "PNG", _png_size(data)
    elif data.startswith(b"\xff\xd8\xff"):
        fmt, size = "JPEG", _jpeg_size(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt, size = "WEBP", _webp_size(data)
    else:
        raise BadImage(
            "not a JPEG, PNG or WebP image", hint=f"{_UNREADABLE} — send a JPEG, PNG or WebP"
        )
    if size is None:
        raise BadImage(
            f"no image size in the {fmt} header", hint=f"{_UNREADABLE} — the file is damaged"
        )
    return fmt, size[0], size[1]


def _check_size(width: int, height: int, limits: ImageLimits) -> None:
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise BadImage(
            f"declared size {width}x{height} is over the limit "
            f"({limits.max_side} px a side, {limits.max_pixels} pixels)",
            hint=f"{_UNREADABLE} — the picture is too large",
        )
    if width < limits.min_side or height < limits.min_side:
        raise BadImage(
            f"size {width}x{height} is under {limits.min_side} px a side",
            hint="the image is too small",
        )


def _png_size(data: bytes) -> tuple[int, int] | None:
    # IHDR must be the first chunk, right after the 8-byte signature and its length field.
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


# Start-of-frame markers (baseline, progressive, lossless, arithmetic); C4, C8 and CC are not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SOS = 0xDA


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the marker segments up to the start of scan, as Pillow does. Pillow keeps the last
    # frame header it meets; taking the largest bounds whatever it will decode.
    width = height = 0
    i, end = 2, len(data)
    while i + 4 <= end:
        if data[i] != 0xFF:
            return None  # junk between segments: Pillow skips it, we refuse it
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length field
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return None
        if marker == _JPEG_SOS:
            break
        if marker in _JPEG_SOF:
            if i + 9 > end:
                return None
            height = max(height, int.from_bytes(data[i + 5 : i + 7], "big"))
            width = max(width, int.from_bytes(data[i + 7 : i + 9], "big"))
        i += 2 + length
    return (width, height) if width and height else None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    # The three kinds of first chunk, read as libwebp (and Pillow) read them.
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8X" and len(data) >= 30:
        return (
            int.from_bytes(data[24:27], "little") + 1,
            int.from_bytes(data[27:30], "little") + 1,
        )
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
