"""Frames of real people for the identity tests, made at run time from photos shipped in
installed packages (see tests/vision/synth.py): the astronaut (Eileen Collins) and Grace Hopper,
two different women; the usual webcam damage; a rendered head turn."""

from __future__ import annotations

from functools import cache

import numpy as np

from testkit import synth
from testkit.frames import encode

RGB = synth.RGB


@cache
def astronaut(share: float = 0.45, light: float = 1.0, at_x: float = 0.5) -> bytes:
    frame = synth.portrait_frame(synth.ASTRONAUT, share, at=(at_x, 0.45))
    if light != 1.0:
        frame = synth.adjust_light(frame, light)
    return encode(frame)


@cache
def hopper(share: float = 0.45) -> bytes:
    return encode(synth.portrait_frame(synth.HOPPER, share))


@cache
def astronaut_turned(side: str = "left", degrees: float = 30.0) -> bytes:
    # The student's own left is a negative yaw (vision.pose).
    yaw = -degrees if side == "left" else degrees
    return encode(synth.turned_frame(synth.ASTRONAUT, yaw))


@cache
def both() -> bytes:
    """The astronaut with Grace Hopper beside her: two faces."""
    frame = synth.portrait_frame(synth.ASTRONAUT, 0.35, at=(0.3, 0.45))
    return encode(synth.paste_face(frame, synth.HOPPER, 0.3, (0.75, 0.45)))


@cache
def blurred() -> bytes:
    return encode(synth.blur(synth.portrait_frame(synth.ASTRONAUT, 0.45), 5))


@cache
def empty_room() -> bytes:
    return encode(synth.background("kitchen"))


def rgb(data: bytes) -> RGB:
    import cv2

    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    assert decoded is not None
    return np.asarray(decoded)
