"""What the server imports, measured: everything the locks leave out (requirements/
overrides.txt, and what only those packages needed) stays unimported while the server loads
every module, starts its vision models and judges a real frame. If a MediaPipe upgrade starts
to import one of them, this fails before any install does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from testkit.frames import face_jpeg
from testkit.timing import timeout

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, json, pkgutil, sys
for package in ("server", "realtime", "vision", "storage", "web_client"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if not info.name.startswith("storage.migrations"):  # Alembic runs those itself
            importlib.import_module(info.name)
from server.app import create_app
from vision import FaceDetector, ImageLimits, judge_frame
from vision.verdict import Challenge
create_app()
with FaceDetector(0.5) as detector:
    detector.warm_up()
    verdict = judge_frame(open(sys.argv[1], "rb").read(), Challenge.NONE, detector, ImageLimits())
print(json.dumps({"outcome": verdict.outcome.value, "modules": sorted(sys.modules)}))
"""


def left_out() -> set[str]:
    """The packages the runtime lock keeps only under a marker that is never true."""
    text = (ROOT / "requirements" / "runtime.txt").read_text()
    names = re.findall(r"^([A-Za-z0-9._-]+)==\S+ ;[^\n]*sys_platform == 'never'", text, re.M)
    return {name.lower().replace("-", "_") for name in names}


def test_the_left_out_packages_are_named() -> None:
    # What the overrides name, and what only they pulled in.
    assert {"jax", "jaxlib", "sentencepiece", "scipy", "ml_dtypes", "opt_einsum"} <= left_out()


def test_the_server_imports_none_of_the_left_out_packages(tmp_path: Path) -> None:
    frame = tmp_path / "face.jpg"
    frame.write_bytes(face_jpeg())
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(frame)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=timeout(180),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outcome"] == "present"  # the probe really ran the vision path
    imported = {name.split(".")[0] for name in result["modules"]}
    assert "mediapipe" in imported
    assert not imported & left_out(), sorted(imported & left_out())
