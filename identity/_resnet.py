"""dlib's face descriptor network (``dlib_face_recognition_resnet_model_v1.dat``) run with numpy.

The same weights, read from the same file, give the same 128 numbers as dlib's own forward pass
(within float rounding, some 1e-6 apart), but the convolutions become matrix products in numpy's
BLAS: dlib's binary wheel is built without one, and its own products cost four to five times
as much CPU. dlib still finds the landmarks and cuts the 150 px chip (`identity.model`).

The network, input first: a 7x7 stride-2 convolution to 32 channels, a 3x3 stride-2 max pool,
then residual blocks of two 3x3 convolutions (3 at 32 channels, 4 at 64, 3 at 128, 3 at 256 and
one more at 256), the first block of each width but the first halving the size (stride 2, its
shortcut a 2x2 average pool), a mean over what is left and a 256x128 matrix. Each convolution is
followed by a per-channel affine (a batch norm frozen at training), folded into it here.

The file is dlib's serialisation: integers as a length byte (high bit: negative) and that many
little-endian bytes, strings as such an integer and their bytes, tensors as version 2, four
dimensions and the floats as little-endian float32. Only the layers that hold numbers are read;
the order of the blocks is the network above, and the shapes read are checked against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["CHIP_SIZE", "FaceNet"]

CHIP_SIZE = 150
_WIDTHS = (32,) * 3 + (64,) * 4 + (128,) * 3 + (256,) * 3 + (256,)
"""Channels of each residual block, input first."""
_HALVES = {3, 7, 10, 13}
"""The blocks that halve the size (the first of each new width, and the last block)."""
_LAYER = re.compile(rb"\x01\x05con_4|\x01\x07affine_|\x01\x04fc_2|\x01\x15input_rgb_image_sized")

Array = NDArray[np.float32]


@dataclass(frozen=True)
class _Conv:
    weights: Array
    """(rows * columns * channels in, channels out): channels last, as the image is held."""
    bias: Array
    size: int
    stride: int
    padding: int


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def integer(self) -> int:
        head = self.data[self.at]
        length = head & 0x0F
        value = int.from_bytes(self.data[self.at + 1 : self.at + 1 + length], "little")
        self.at += 1 + length
        return -value if head & 0x80 else value

    def real(self) -> float:
        """dlib's portable float: a mantissa and a power of two."""
        mantissa, exponent = self.integer(), self.integer()
        return float(mantissa) * 2.0**exponent

    def tensor(self) -> Array:
        if (version := self.integer()) != 2:
            raise ValueError(f"tensor version {version} at byte {self.at}, expected 2")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.at)
        self.at += 4 * count
        return values.astype(np.float32).reshape(shape)


def _read(path: Path) -> tuple[Array, list[_Conv], Array]:
    """The input's channel means, the convolutions (affines folded in) and the last matrix."""
    reader = _Reader(path.read_bytes())
    means: Array | None = None
    convs: list[_Conv] = []
    pending: tuple[Array, Array, int, int, int] | None = None
    matrix: Array | None = None
    while (found := _LAYER.search(reader.data, reader.at)) is not None:
        reader.at = found.end()
        kind = found.group()[2:]
        if kind == b"input_rgb_image_sized":
            means = np.array([reader.real() for _ in range(3)], dtype=np.float32)
        elif kind == b"con_4":
            params = reader.tensor().ravel()
            filters, rows, columns = reader.integer(), reader.integer(), reader.integer()
            stride_y, stride_x = reader.integer(), reader.integer()
            padding_y, padding_x = reader.integer(), reader.integer()
            if rows != columns or stride_y != stride_x or padding_y != padding_x:
                raise ValueError(f"unexpected convolution {rows}x{columns} at byte {reader.at}")
            weights = params[: params.size - filters].reshape(filters, -1, rows, columns)
            pending = (weights, params[params.size - filters :], rows, stride_y, padding_y)
        elif kind == b"affine_":
            if pending is None:
                raise ValueError(f"an affine layer without its convolution at byte {reader.at}")
            gamma_beta = reader.tensor().ravel()
            gamma, beta = np.split(gamma_beta, 2)
            weights, bias, size, stride, padding = pending
            folded = (weights * gamma[:, None, None, None]).transpose(2, 3, 1, 0)
            convs.append(
                _Conv(
                    np.ascontiguousarray(folded.reshape(-1, weights.shape[0])),
                    (bias * gamma + beta).astype(np.float32),
                    size,
                    stride,
                    padding,
                )
            )
            pending = None
        else:
            reader.integer(), reader.integer()  # outputs and inputs, in the tensor's shape too
            matrix = reader.tensor().reshape(-1, 128)
            break
    expected = [(3, 32)] + [(w_in, w) for w_in, w in zip((32, *_WIDTHS[:-1]), _WIDTHS, strict=True)]
    shapes = [
        (c.weights.shape[0] // c.size**2, c.weights.shape[1]) for c in convs[:1] + convs[1::2]
    ]
    if means is None or matrix is None or shapes != expected or len(convs) != 29:
        raise ValueError(f"{path.name} is not dlib's face descriptor network")
    return means, convs, matrix


class FaceNet:
    """The descriptor of a 150x150 RGB face chip, as dlib's ``compute_face_descriptor``."""

    def __init__(self, path: Path) -> None:
        self._means, self._convs, self._matrix = _read(path)

    def describe(self, chip: NDArray[np.uint8]) -> NDArray[np.float32]:
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"a face chip is {CHIP_SIZE}x{CHIP_SIZE}x3, not {chip.shape}")
        x = (chip.astype(np.float32) - self._means) * np.float32(1 / 256)
        x = _relu(_convolve(x, self._convs[0]))
        x = _max_pool_3x3_stride_2(x)
        for block in range(len(_WIDTHS)):
            first, second = self._convs[1 + 2 * block : 3 + 2 * block]
            out = _convolve(_relu(_convolve(x, first)), second)
            shortcut = _average_pool_2x2_stride_2(x) if block in _HALVES else x
            x = _relu(_add_padded(out, shortcut))
        pooled: Array = x.mean(axis=(0, 1), dtype=np.float32)
        return pooled @ self._matrix


def _convolve(x: Array, conv: _Conv) -> Array:
    """Channels-last convolution as one matrix product over the image's patches."""
    if conv.padding:
        p = conv.padding
        x = np.pad(x, ((p, p), (p, p), (0, 0)))
    rows, columns, channels = x.shape
    k, s = conv.size, conv.stride
    out_rows, out_columns = (rows - k) // s + 1, (columns - k) // s + 1
    sr, sc, sk = x.strides
    patches = np.lib.stride_tricks.as_strided(
        x, (out_rows, out_columns, k, k, channels), (sr * s, sc * s, sr, sc, sk), writeable=False
    ).reshape(out_rows * out_columns, k * k * channels)
    out = patches @ conv.weights
    out += conv.bias
    return out.reshape(out_rows, out_columns, -1)


def _relu(x: Array) -> Array:
    return np.maximum(x, 0, out=x)


def _max_pool_3x3_stride_2(x: Array) -> Array:
    n = (x.shape[0] - 3) // 2 + 1
    m = (x.shape[1] - 3) // 2 + 1
    out = x[0 : 2 * n : 2, 0 : 2 * m : 2].copy()
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, x[dy : dy + 2 * n : 2, dx : dx + 2 * m : 2], out=out)
    return out


def _average_pool_2x2_stride_2(x: Array) -> Array:
    n, m = x.shape[0] // 2, x.shape[1] // 2
    t = x[: 2 * n, : 2 * m]
    out: Array = t[0::2, 0::2] + t[1::2, 0::2]
    out += t[0::2, 1::2]
    out += t[1::2, 1::2]
    out *= np.float32(0.25)
    return out


def _add_padded(a: Array, b: Array) -> Array:
    """a + b where their shapes differ: the missing rows, columns and channels count as zero
    (dlib's residual sum; the halving blocks' two paths differ by one row and column at 8 px)."""
    if a.shape == b.shape:
        a += b
        return a
    out = np.zeros(
        tuple(max(p, q) for p, q in zip(a.shape, b.shape, strict=True)), dtype=np.float32
    )
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out
