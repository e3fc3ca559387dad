"""One thread for numpy's BLAS in an identity worker.

Each worker is a process of its own, one per core: OpenBLAS's default of a thread per core made
every product wait for the other core, which the other worker (or the server) holds, and spin
while it waits (on two busy cores, a descriptor's CPU cost rose by an eighth, and its slowest
tenth by four times). numpy has no setting for it once imported, and the worker imports numpy
before its initializer runs; so the limit is set through OpenBLAS's own entry point, found in the
library that numpy's wheel ships. Elsewhere (another BLAS) nothing is changed.
"""

from __future__ import annotations

import ctypes
import importlib.util
from pathlib import Path

__all__ = ["limit_blas_threads"]

_SETTERS = ("openblas_set_num_threads64_", "scipy_openblas_set_num_threads64_")
_GETTERS = ("openblas_get_num_threads64_", "scipy_openblas_get_num_threads64_")


def limit_blas_threads(threads: int = 1) -> int | None:
    """Set numpy's OpenBLAS to ``threads`` threads; its thread count afterwards, or None when
    numpy's BLAS is not an OpenBLAS found beside it."""
    for library in _numpy_openblas():
        try:
            lib = ctypes.CDLL(str(library))
        except OSError:
            continue
        for setter, getter in zip(_SETTERS, _GETTERS, strict=True):
            if hasattr(lib, setter) and hasattr(lib, getter):
                getattr(lib, setter)(ctypes.c_int(threads))
                return int(getattr(lib, getter)())
    return None


def _numpy_openblas() -> list[Path]:
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None:
        return []
    package = Path(spec.origin).parent
    places = (
        package.parent / "numpy.libs",
        package / ".dylibs",
        package.parent / "scipy_openblas64",
    )
    return sorted(p for place in places if place.is_dir() for p in place.rglob("*openblas*"))
