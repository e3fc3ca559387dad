"""The descriptor computed with numpy is dlib's own: templates enrolled with dlib's forward pass
still compare, and the model version stays the same."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest

from identity._blas import limit_blas_threads
from identity._resnet import FaceNet
from identity.model import FaceDescriber, model_paths
from tests.identity import frames
from vision import Challenge, FaceDetector, ImageLimits, judge_frame


@pytest.fixture(scope="module")
def describer() -> FaceDescriber:
    return FaceDescriber()


@pytest.mark.parametrize(
    "data",
    [
        frames.astronaut(),
        frames.astronaut(share=0.2, light=0.5, at_x=0.35),
        frames.astronaut_turned("right"),
        frames.hopper(),
    ],
    ids=["astronaut", "small and dim", "turned", "hopper"],
)
def test_the_descriptor_is_the_one_dlib_computes(describer: FaceDescriber, data: bytes) -> None:
    verdict = judge_frame(data, Challenge.NONE, FaceDetector(0.5), ImageLimits())
    assert verdict.box is not None
    rgb = frames.rgb(data)
    ours = describer.describe(rgb, verdict.box).array()

    height, width = rgb.shape[:2]
    x, y, w, h = verdict.box
    box = dlib.rectangle(
        round(x * width), round(y * height), round((x + w) * width), round((y + h) * height)
    )
    paths = model_paths()
    shape = dlib.shape_predictor(str(paths["landmarks"]))(rgb, box)
    network = dlib.face_recognition_model_v1(str(paths["descriptor"]))
    theirs = np.asarray(network.compute_face_descriptor(rgb, shape))
    # Two people are some 0.6 apart; float rounding leaves the two passes about 1e-6 apart.
    assert float(np.linalg.norm(ours - theirs)) < 1e-4


def test_a_file_that_is_not_the_network_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.dat"
    other.write_bytes(model_paths()["landmarks"].read_bytes()[:100_000])
    with pytest.raises(ValueError, match="not dlib's face descriptor network"):
        FaceNet(other)


def test_numpy_blas_runs_on_one_thread_in_a_worker() -> None:
    threads = limit_blas_threads(1)
    if threads is None:
        pytest.skip("numpy's BLAS here is not an OpenBLAS shipped beside it")
    assert threads == 1
