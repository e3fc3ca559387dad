"""The faces `bench/identity_eval.py` measures on: photos shipped inside Python packages.

- scikit-image's astronaut (Eileen Collins; NASA, public domain) and matplotlib's Grace Hopper
  (US Navy, public domain): installed with the project's development dependencies.
- The test photos inside the source distribution of face_recognition 1.3.0 on PyPI: three
  different photographs of Barack Obama, two of them cropped so part of the face is cut off
  (occlusion), and one of Joe Biden. The package does not state where they come from; official
  portraits of US presidents are works of the US government. They are fetched with pip
  (`pip download --no-deps --no-binary :all:`, never installed) into bench/.cache/, read only by
  this benchmark, and never committed. Without them, the benchmark runs on the first two alone.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from testkit import synth

CACHE = Path(__file__).resolve().parent / ".cache"
SDIST = "face_recognition==1.3.0"
_MEMBERS = {
    "obama": ("obama.jpg", "obama2.jpg", "obama3.jpg"),
    "obama (partly cut off)": ("obama_partial_face.jpg", "obama_partial_face2.jpg"),
    "biden": ("biden.jpg",),
}


@dataclass(frozen=True)
class Photo:
    person: str
    name: str
    rgb: synth.RGB
    occluded: bool = False


@cache
def photos(fetch: bool = True) -> tuple[Photo, ...]:
    found = [
        Photo("astronaut", "astronaut", synth.ASTRONAUT.rgb),
        Photo("hopper", "hopper", synth.HOPPER.rgb),
    ]
    archive = _sdist() if fetch else None
    if archive is None:
        print("(without the face_recognition sdist: two people only)", file=sys.stderr)
        return tuple(found)
    with tarfile.open(archive) as tar:
        for group, names in _MEMBERS.items():
            for name in names:
                member = tar.extractfile(f"face_recognition-1.3.0/tests/test_images/{name}")
                assert member is not None
                rgb = np.asarray(Image.open(BytesIO(member.read())).convert("RGB"))
                person = group.split(" ")[0]
                found.append(Photo(person, name, _fit(rgb), occluded=group != person))
    return tuple(found)


def _fit(rgb: synth.RGB, longest: int = 1000) -> synth.RGB:
    image = Image.fromarray(rgb)
    image.thumbnail((longest, longest))
    return np.asarray(image)


def _sdist() -> Path | None:
    existing = sorted(CACHE.glob("face_recognition-1.3.0.tar.gz"))
    if existing:
        return existing[0]
    CACHE.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--quiet",
            "-d",
            str(CACHE),
            SDIST,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        print(f"pip download {SDIST} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return next(iter(CACHE.glob("face_recognition-1.3.0.tar.gz")), None)
