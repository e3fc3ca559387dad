"""A plain start says one line per part when it is ready, and nothing an operator cannot act
on; MediaPipe's native messages are sifted, and a message that means something still shows."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from tests.ops.processes import serving
from vision.native_log import sifted_native_output

NOISE = (
    "alembic.runtime.plugins",
    "setup plugin",
    "Context impl",
    "XNNPACK",
    "absl::InitializeLog",
    "inference_feedback_manager",
    "Feedback manager",
    "Waiting for application startup",
    "Started server process",
)


def test_a_plain_start_prints_one_line_per_part(tmp_path: Path) -> None:
    with serving(tmp_path) as (url, log):
        pass
    text = log.read_text()
    lines = text.splitlines()
    start = lines[: next(i for i, line in enumerate(lines) if "ready: open" in line)]
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in:\n{text}"
    assert re.search(
        r"INFO server\.app database: sqlite\+aiosqlite:///.*ops\.db ready, schema \w+", text
    )
    assert "(migrated from empty)" in text  # a new embedded database is created on start
    assert re.search(r"INFO vision\.pool vision: 1 workers ready in \d+ ms", text)
    assert "message queue: none" in text
    assert f"ready: open {url}/" in text
    # A first start makes the keys the embedded default keeps beside its database, and says
    # where (they must be backed up with it): one line for each.
    made = [line for line in start if " key " in line and ("made" in line or "created" in line)]
    assert len(made) == 3, text
    # Database, vision, message queue: nothing else before the address.
    assert len(start) - len(made) == 3, text

    # A second start finds the keys: one line per part, nothing more.
    with serving(tmp_path) as (url, log):
        pass
    lines = log.read_text().splitlines()
    again = lines[: next(i for i, line in enumerate(lines) if "ready: open" in line)]
    assert len(again) == 3, "\n".join(lines)


def test_native_noise_is_dropped_and_other_native_lines_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="vision.mediapipe")
    with sifted_native_output():
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
        os.write(2, b"W0000 00:00:1.2 7 inference_feedback_manager.cc:114] Feedback manager ")
        os.write(2, b"requires a model with a single signature inference.\n")
        os.write(2, b"E0000 00:00:1.3 7 calculator_graph.cc:887] model file not found\n")
    warnings = [r.getMessage() for r in caplog.records if r.name == "vision.mediapipe"]
    assert warnings == ["E0000 00:00:1.3 7 calculator_graph.cc:887] model file not found"]
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == "vision.mediapipe")


def test_standard_error_is_given_back_after_sifting(capfd: pytest.CaptureFixture[str]) -> None:
    with sifted_native_output(), sifted_native_output():  # nested, as two pools at once
        os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"
