from __future__ import annotations

import hashlib
import tracemalloc

import numpy as np
import pytest

from testkit import synth
from testkit.frames import (
    blank_jpeg,
    cat_jpeg,
    coffee_jpeg,
    dark_face_jpeg,
    encode,
    face_jpeg,
    face_rgb,
    png_bomb,
    tiny_png,
    truncated_jpeg,
    turned_face_jpeg,
    two_faces_jpeg,
)
from vision import (
    DETECTOR_VERSION,
    Challenge,
    ImageLimits,
    Outcome,
    Thresholds,
    Verdict,
    judge_frame,
)
from vision.detector import Detection, FaceDetector
from vision.images import RGBArray

LIMITS = ImageLimits()


def judge(data: bytes, detector: FaceDetector, challenge: Challenge = Challenge.NONE) -> Verdict:
    return judge_frame(data, challenge, detector, LIMITS)


@pytest.mark.parametrize("width", [320, 640, 1280])
def test_a_student_facing_the_camera_is_present(detector: FaceDetector, width: int) -> None:
    verdict = judge(face_jpeg(width), detector)

    assert verdict.outcome is Outcome.PRESENT
    assert verdict.passed
    assert verdict.face_count == 1
    assert verdict.score is not None and verdict.score > 0.5
    assert verdict.hint is None
    assert (verdict.width, verdict.height) == (width, width * 3 // 4)
    assert verdict.detector_version == DETECTOR_VERSION


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_frames_are_judged_too(detector: FaceDetector, fmt: str) -> None:
    assert judge(encode(face_rgb(640), fmt), detector).outcome is Outcome.PRESENT


def test_a_student_facing_the_camera_has_a_small_head_pose(detector: FaceDetector) -> None:
    verdict = judge(face_jpeg(), detector)

    assert verdict.yaw is not None and abs(verdict.yaw) < 10
    assert verdict.pitch is not None and abs(verdict.pitch) < 20
    assert not verdict.wrong_way


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_turn_challenge_passes_when_the_head_turns_the_asked_way(
    detector: FaceDetector, side: str
) -> None:
    challenge = Challenge.TURN_LEFT if side == "left" else Challenge.TURN_RIGHT

    verdict = judge(turned_face_jpeg(side), detector, challenge)

    assert verdict.outcome is Outcome.PRESENT
    assert verdict.passed
    assert verdict.yaw is not None and (verdict.yaw < -25 if side == "left" else verdict.yaw > 25)
    assert "mesh_pose" in verdict.passes  # a challenge is always measured with the mesh


@pytest.mark.parametrize("challenge", [Challenge.TURN_LEFT, Challenge.TURN_RIGHT])
def test_a_face_that_does_not_turn_fails_the_challenge(
    detector: FaceDetector, challenge: Challenge
) -> None:
    verdict = judge(face_jpeg(), detector, challenge)

    assert verdict.outcome is Outcome.CHALLENGE_FAILED
    assert not verdict.passed
    assert verdict.hint == f"turn your head to your {challenge.value.removeprefix('turn_')}"
    assert not verdict.wrong_way


def test_a_turn_the_other_way_fails_and_says_so(detector: FaceDetector) -> None:
    verdict = judge(turned_face_jpeg("right"), detector, Challenge.TURN_LEFT)

    assert verdict.outcome is Outcome.CHALLENGE_FAILED
    assert verdict.wrong_way
    assert verdict.hint == "the other way — turn your head to your left"


def test_a_mirrored_frame_answers_the_opposite_challenge(detector: FaceDetector) -> None:
    """Left means the student's own left, in the picture as the camera takes it. A page that
    sent its mirrored selfie preview would turn every answer round."""
    as_taken = synth.turned_frame(synth.ASTRONAUT, -35, share=0.5)  # turned to her own left
    as_previewed = np.ascontiguousarray(as_taken[:, ::-1])

    assert judge(encode(as_taken), detector, Challenge.TURN_LEFT).outcome is Outcome.PRESENT
    mirrored = judge(encode(as_previewed), detector, Challenge.TURN_LEFT)
    assert mirrored.outcome is Outcome.CHALLENGE_FAILED
    assert mirrored.wrong_way


@pytest.mark.parametrize("degrees", [35, 50])
@pytest.mark.parametrize("challenge", [Challenge.TURN_LEFT, Challenge.TURN_RIGHT])
def test_a_printed_photo_tilted_towards_the_asked_side_does_not_pass(
    detector: FaceDetector, degrees: int, challenge: Challenge
) -> None:
    sign = -1 if challenge is Challenge.TURN_LEFT else 1
    photo = synth.tilted_photo(synth.portrait_frame(synth.HOPPER, 0.5), sign * degrees)

    assert judge(encode(photo), detector, challenge).outcome is Outcome.CHALLENGE_FAILED


@pytest.mark.parametrize(
    ("yaw", "pitch"), [(-50, 0), (50, 0), (0, -45), (0, 45)], ids=["left", "right", "down", "up"]
)
def test_a_head_turned_or_tilted_well_away_is_looking_away(
    detector: FaceDetector, yaw: int, pitch: int
) -> None:
    frame = synth.turned_frame(synth.HOPPER, yaw, pitch)

    verdict = judge(encode(frame), detector)

    assert verdict.outcome is Outcome.LOOKING_AWAY
    assert verdict.hint == "look at the screen"
    assert not verdict.passed


def test_a_real_turned_head_is_looking_away(detector: FaceDetector) -> None:
    import cv2
    import skimage.data

    cam = np.repeat(np.asarray(skimage.data.camera())[:, :, None], 3, axis=2)
    verdict = judge(encode(cv2.resize(cam[32:480, :], (640, 480))), detector)

    assert verdict.outcome is Outcome.LOOKING_AWAY


def test_reading_the_edge_of_the_screen_is_not_looking_away(detector: FaceDetector) -> None:
    verdict = judge(encode(synth.turned_frame(synth.ASTRONAUT, 25)), detector)

    assert verdict.outcome is Outcome.PRESENT


def test_looking_away_thresholds_come_from_the_caller(detector: FaceDetector) -> None:
    frame = encode(synth.turned_frame(synth.ASTRONAUT, 25))
    strict = Thresholds(looking_away_yaw=15)

    verdict = judge_frame(frame, Challenge.NONE, detector, LIMITS, strict)

    assert verdict.outcome is Outcome.LOOKING_AWAY


def test_two_people_in_view(detector: FaceDetector) -> None:
    verdict = judge(two_faces_jpeg(), detector)

    assert verdict.outcome is Outcome.MULTIPLE_FACES
    assert verdict.face_count == 2
    assert verdict.hint == "only you should be in view"
    assert not verdict.passed


@pytest.mark.parametrize("share", [0.1, 0.15])
def test_someone_small_in_the_background_is_in_view(detector: FaceDetector, share: float) -> None:
    student = synth.portrait_frame(synth.HOPPER, 0.55, at=(0.55, 0.5))
    frame = synth.paste_face(student, synth.ASTRONAUT, share, (0.12, 0.35))

    verdict = judge(encode(frame), detector)

    assert verdict.outcome is Outcome.MULTIPLE_FACES
    assert verdict.face_count == 2


def test_three_people_in_view(detector: FaceDetector) -> None:
    student = synth.portrait_frame(synth.ASTRONAUT, 0.45, at=(0.5, 0.5))
    frame = synth.paste_face(
        synth.paste_face(student, synth.HOPPER, 0.12, (0.12, 0.3)), synth.HOPPER, 0.25, (0.87, 0.45)
    )

    verdict = judge(encode(frame), detector)

    assert verdict.outcome is Outcome.MULTIPLE_FACES
    assert verdict.face_count == 3


def test_a_student_far_from_the_camera_is_present_and_asked_to_move_closer(
    detector: FaceDetector,
) -> None:
    verdict = judge(encode(synth.portrait_frame(synth.ASTRONAUT, 0.1)), detector)

    assert verdict.outcome is Outcome.PRESENT
    assert verdict.hint == "move closer"


def test_an_empty_frame_has_no_face(detector: FaceDetector) -> None:
    verdict = judge(blank_jpeg(), detector)

    assert verdict.outcome is Outcome.NO_FACE
    assert verdict.face_count == 0
    assert verdict.score is None
    assert verdict.hint == "no face found — look at the camera"


@pytest.mark.parametrize("data", [coffee_jpeg(), cat_jpeg()], ids=["coffee", "cat"])
def test_things_that_are_not_a_person_do_not_pass(detector: FaceDetector, data: bytes) -> None:
    assert judge(data, detector).outcome is not Outcome.PRESENT


def test_a_dark_frame_measures_darker(detector: FaceDetector) -> None:
    dark, lit = judge(dark_face_jpeg(), detector), judge(face_jpeg(), detector)

    assert dark.brightness is not None and lit.brightness is not None
    assert dark.brightness < 50 < lit.brightness


def test_a_dim_face_is_present_and_asked_to_face_a_light(detector: FaceDetector) -> None:
    verdict = judge(dark_face_jpeg(), detector)

    assert verdict.outcome is Outcome.PRESENT
    assert verdict.hint == "too dark — face a light"


def test_a_face_in_near_darkness_is_found_and_told_so(detector: FaceDetector) -> None:
    frame = synth.adjust_light(synth.portrait_frame(synth.ASTRONAUT, 0.5), 0.03)

    verdict = judge(encode(frame), detector)

    assert verdict.outcome is Outcome.PRESENT
    assert "contrast" in verdict.passes
    assert verdict.hint == "too dark — face a light"


def test_a_dark_frame_without_a_face_says_too_dark(detector: FaceDetector) -> None:
    verdict = judge(encode(np.full((480, 640, 3), 12, dtype=np.uint8)), detector)

    assert verdict.outcome is Outcome.NO_FACE
    assert verdict.hint == "too dark — face a light"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("random bytes", np.random.default_rng(1).bytes(10_000)),
        ("empty", b""),
        ("truncated jpeg", truncated_jpeg()),
        ("gif", encode(face_rgb(320), "GIF")),
        ("bmp", encode(face_rgb(320), "BMP")),
        ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="40"/></svg>'),
        ("png bomb", png_bomb()),
    ],
)
def test_unreadable_bytes_are_a_bad_image_not_an_error(
    detector: FaceDetector, name: str, data: bytes
) -> None:
    verdict = judge(data, detector)

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.face_count == 0
    assert verdict.hint is not None and verdict.hint.startswith("the image could not be read")
    assert verdict.sha256 == hashlib.sha256(data).hexdigest()


def test_a_decompression_bomb_is_judged_without_being_decoded(detector: FaceDetector) -> None:
    tracemalloc.start()
    try:
        verdict = judge(png_bomb(), detector)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert peak < 1_000_000  # 30000x30000 RGB would be 2.7 GB


def test_a_frame_too_small_for_a_face(detector: FaceDetector) -> None:
    verdict = judge(tiny_png(), detector)

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.hint == "the image is too small"


def test_oversized_bytes_are_refused(detector: FaceDetector) -> None:
    data = face_jpeg()

    verdict = judge_frame(data, Challenge.NONE, detector, ImageLimits(max_bytes=10_000))

    assert verdict.outcome is Outcome.BAD_IMAGE
    assert verdict.hint == "the image could not be read — the file is too large"


def test_sha256_is_of_the_bytes_as_sent(detector: FaceDetector) -> None:
    data = face_jpeg()

    assert judge(data, detector).sha256 == hashlib.sha256(data).hexdigest()


class _BrokenDetector(FaceDetector):
    def find(self, rgb: RGBArray) -> Detection:
        raise RuntimeError("graph crashed")


def test_a_detector_failure_is_raised_not_passed_off_as_a_bad_image() -> None:
    """The frame was read: a detector that fails is the server's fault, and the caller (the
    hub) asks for another frame without using up an attempt."""
    with _BrokenDetector() as broken, pytest.raises(RuntimeError, match="graph crashed"):
        judge(face_jpeg(), broken)
