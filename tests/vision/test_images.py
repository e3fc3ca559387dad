from __future__ import annotations

import tracemalloc
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from testkit.frames import encode, face_jpeg, face_rgb, png_bomb, tiny_png, truncated_jpeg
from vision.errors import BadImage
from vision.images import ImageLimits, declared_size, decode_image, read_image

LIMITS = ImageLimits()


def _patched(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


def jpeg_bomb() -> bytes:
    data = face_jpeg()
    sof = data.index(b"\xff\xc0")
    return _patched(data, sof + 5, (30_000).to_bytes(2, "big") * 2)


def webp_bomb(kind: str) -> bytes:
    """A small real WebP whose first chunk is patched to declare the largest size it can."""
    if kind == "VP8 ":
        data = encode(face_rgb(64), "WEBP")
        return _patched(data, 26, b"\xff\x3f\xff\x3f")  # 16383 x 16383
    if kind == "VP8L":
        data = encode(face_rgb(64), "WEBP", lossless=True)
        return _patched(data, 21, ((16383 << 14) | 16383).to_bytes(4, "little"))
    data = encode(np.zeros((48, 64, 4), dtype=np.uint8), "WEBP")  # alpha: written as VP8X
    return _patched(data, 24, b"\xff\xff\xff" * 2)  # 2**24 x 2**24


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    rgb = face_rgb(320)

    decoded = read_image(encode(rgb, fmt), LIMITS)

    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (320, 240)
    assert decoded.rgb.shape == (240, 320, 3)
    assert decoded.rgb.dtype == np.uint8
    assert np.abs(decoded.rgb.astype(int) - rgb).mean() < 8  # lossy formats stay close


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "1", "I;16", "CMYK"])
def test_other_colour_modes_become_rgb(mode: str) -> None:
    img = Image.fromarray(face_rgb(64)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = BytesIO()
    img.save(out, fmt)

    rgb = decode_image(out.getvalue(), LIMITS)

    assert rgb.shape == (48, 64, 3)
    assert rgb.dtype == np.uint8


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("png", png_bomb()),
        ("jpeg", jpeg_bomb()),
        ("webp VP8", webp_bomb("VP8 ")),
        ("webp VP8L", webp_bomb("VP8L")),
        ("webp VP8X", webp_bomb("VP8X")),
    ],
)
def test_decompression_bombs_are_refused_before_decoding(name: str, data: bytes) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(BadImage, match=r"declared size \d+x\d+ is over the limit") as caught:
            decode_image(data, LIMITS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # Decoding 30000x30000 would need gigabytes: the refusal came before any allocation.
    assert peak < 1_000_000
    assert caught.value.hint == "the image could not be read — the picture is too large"


def test_png_bomb_names_its_dimensions() -> None:
    with pytest.raises(BadImage, match="30000x30000"):
        decode_image(png_bomb(), LIMITS)


def test_a_side_over_max_side_is_refused_even_with_few_pixels() -> None:
    with pytest.raises(BadImage, match="9000x40"):
        decode_image(png_bomb(9000, 40), LIMITS)


def test_oversized_input_is_refused_by_length() -> None:
    data = face_jpeg()

    with pytest.raises(BadImage, match=f"{len(data)} bytes"):
        decode_image(data, ImageLimits(max_bytes=len(data) - 1))


def test_a_frame_too_small_for_a_face_is_refused() -> None:
    with pytest.raises(BadImage, match="1x1") as caught:
        decode_image(tiny_png(), LIMITS)

    assert caught.value.hint == "the image is too small"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("random", np.random.default_rng(7).bytes(5000)),
        ("gif", encode(face_rgb(64), "GIF")),
        ("bmp", encode(face_rgb(64), "BMP")),
        ("tiff", encode(face_rgb(64), "TIFF")),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"/>'),
        ("truncated jpeg", truncated_jpeg()),
        ("jpeg headers only", face_jpeg()[:600]),
        ("jpeg magic only", b"\xff\xd8\xff"),
        ("png signature only", b"\x89PNG\r\n\x1a\n"),
        ("png without pixels", png_bomb(64, 64)),
        ("riff, not webp", b"RIFF\x10\x00\x00\x00WAVEfmt " + bytes(40)),
    ],
)
def test_unreadable_input_raises_bad_image(name: str, data: bytes) -> None:
    with pytest.raises(BadImage):
        decode_image(data, LIMITS)


def test_large_jpeg_is_decoded_at_reduced_size_but_reports_its_own() -> None:
    decoded = read_image(encode(face_rgb(1920)), LIMITS)

    assert (decoded.width, decoded.height) == (1920, 1440)
    assert decoded.rgb.shape == (720, 960, 3)


@pytest.mark.parametrize(
    "data",
    [
        encode(face_rgb(200, 120), "JPEG", progressive=True),
        encode(face_rgb(200, 120), "PNG"),
        encode(face_rgb(200, 120), "WEBP", lossless=True),
        encode(face_rgb(200, 120), "WEBP"),
    ],
)
def test_declared_size_agrees_with_pillow(data: bytes) -> None:
    fmt, width, height = declared_size(data)

    with Image.open(BytesIO(data)) as img:
        assert (fmt, width, height) == (img.format, *img.size)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_bytes": 0}, {"min_side": 100, "max_side": 50}, {"max_pixels": 10**9}],
)
def test_nonsense_limits_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ImageLimits(**kwargs)


def progressive_scan_bomb(scans: int = 200) -> bytes:
    """A small progressive JPEG whose last scan is repeated: each scan is one more pass over
    the whole picture for the decoder."""
    data = encode(face_rgb(320), "JPEG", progressive=True)
    last_scan = data.rindex(b"\xff\xda")
    return data[:last_scan] + data[last_scan:-2] * scans + b"\xff\xd9"


def test_a_jpeg_with_more_scans_than_a_camera_writes_is_refused_before_decoding() -> None:
    with pytest.raises(BadImage, match="JPEG scans") as caught:
        decode_image(progressive_scan_bomb(), LIMITS)

    assert caught.value.hint == "the image could not be read — send a plain JPEG"


def test_an_ordinary_progressive_jpeg_is_accepted() -> None:
    data = encode(face_rgb(320), "JPEG", progressive=True)

    assert decode_image(data, LIMITS).shape == (240, 320, 3)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("kept", [0.05, 0.3, 0.6, 0.9, 0.99])
def test_a_file_cut_short_anywhere_is_refused(fmt: str, kept: float) -> None:
    data = encode(face_rgb(320), fmt)

    with pytest.raises(BadImage) as caught:
        decode_image(data[: int(len(data) * kept)], LIMITS)

    assert caught.value.hint.startswith("the image could not be read")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_file_with_damaged_pixels_is_refused_or_decoded_never_raised_otherwise(fmt: str) -> None:
    data = bytearray(encode(face_rgb(320), fmt))
    rng = np.random.default_rng(3)
    for at in rng.integers(len(data) // 3, len(data) - 4, 40):
        data[at] ^= 0x5A

    try:
        rgb = decode_image(bytes(data), LIMITS)
    except BadImage:
        return
    assert rgb.shape == (240, 320, 3)  # some decoders repair what they can


def test_the_format_is_read_from_the_bytes_not_assumed() -> None:
    png_header_jpeg_body = b"\x89PNG\r\n\x1a\n" + face_jpeg()[2:]

    with pytest.raises(BadImage):
        decode_image(png_header_jpeg_body, LIMITS)
