from __future__ import annotations

import pytest

from vision.detector import Face
from vision.pose import HeadPose
from vision.rules import Decision, Thresholds, decide
from vision.verdict import Challenge, Outcome

LIT, SHARP = 140.0, 300.0
FACING = HeadPose(yaw=0.0, pitch=-5.0, roll=0.0)


def face(height: float = 0.5, score: float = 0.9) -> Face:
    return Face(score=score, box=(0.3, 0.2, height * 0.75, height))


def pose(yaw: float = 0.0, pitch: float = 0.0) -> HeadPose:
    return HeadPose(yaw=yaw, pitch=pitch, roll=0.0)


def judge(
    *,
    faces: list[Face] | None = None,
    head: HeadPose | None = FACING,
    challenge: Challenge = Challenge.NONE,
    brightness: float = LIT,
    sharpness: float = SHARP,
    frame_height: int = 480,
    thresholds: Thresholds | None = None,
) -> Decision:
    return decide(
        [face()] if faces is None else faces,
        brightness,
        sharpness,
        challenge,
        640,
        frame_height,
        head,
        thresholds or Thresholds(),
    )


def test_one_face_looking_at_the_screen_is_present_without_a_hint() -> None:
    assert judge() == Decision(Outcome.PRESENT, None)


def test_two_faces_mean_someone_else_is_in_view() -> None:
    assert judge(faces=[face(), face(0.1)]) == Decision(
        Outcome.MULTIPLE_FACES, "only you should be in view"
    )


def test_someone_else_in_view_outweighs_everything_else() -> None:
    decision = judge(faces=[face(), face(0.1)], head=pose(yaw=60), challenge=Challenge.TURN_LEFT)

    assert decision.outcome is Outcome.MULTIPLE_FACES


@pytest.mark.parametrize(
    ("box_height", "frame_height"),
    [(0.08, 480), (0.2, 120)],  # small share of the frame; too few pixels
)
def test_a_small_face_still_passes_but_asks_to_move_closer(
    box_height: float, frame_height: int
) -> None:
    decision = judge(faces=[face(box_height)], frame_height=frame_height)

    assert decision == Decision(Outcome.PRESENT, "move closer")


def test_a_dim_face_passes_and_asks_for_light() -> None:
    assert judge(brightness=30.0) == Decision(Outcome.PRESENT, "too dark — face a light")


@pytest.mark.parametrize(
    ("brightness", "sharpness", "hint"),
    [
        (20.0, SHARP, "too dark — face a light"),
        (240.0, SHARP, "too bright — move out of direct light"),
        (LIT, 8.0, "hold still"),
        (LIT, SHARP, "no face found — look at the camera"),
        (LIT, 0.0, "no face found — look at the camera"),  # a flat frame is not motion blur
        (20.0, 8.0, "too dark — face a light"),  # light first: darkness also blurs
    ],
)
def test_no_face_hint_names_the_likely_cause(
    brightness: float, sharpness: float, hint: str
) -> None:
    assert judge(faces=[], brightness=brightness, sharpness=sharpness) == Decision(
        Outcome.NO_FACE, hint
    )


@pytest.mark.parametrize(
    "head",
    [pose(yaw=45), pose(yaw=-45), pose(pitch=-40), pose(pitch=40), pose(yaw=30, pitch=38)],
)
def test_a_head_turned_or_tilted_well_off_the_screen_is_looking_away(head: HeadPose) -> None:
    assert judge(head=head) == Decision(Outcome.LOOKING_AWAY, "look at the screen")


@pytest.mark.parametrize(
    "head", [pose(yaw=30), pose(yaw=-38), pose(pitch=-30), pose(pitch=25), pose(yaw=25, pitch=-25)]
)
def test_reading_the_edge_of_the_screen_or_notes_on_the_desk_is_not_looking_away(
    head: HeadPose,
) -> None:
    assert judge(head=head).outcome is Outcome.PRESENT


def test_looking_away_thresholds_are_settings() -> None:
    strict = Thresholds(looking_away_yaw=20, looking_away_pitch=15)

    assert judge(head=pose(yaw=25), thresholds=strict).outcome is Outcome.LOOKING_AWAY
    assert judge(head=pose(pitch=-18), thresholds=strict).outcome is Outcome.LOOKING_AWAY
    assert judge(head=pose(yaw=18, pitch=-12), thresholds=strict).outcome is Outcome.PRESENT


def test_without_a_pose_a_plain_prompt_is_not_failed_for_it() -> None:
    assert judge(head=None).outcome is Outcome.PRESENT


# -- turn challenges: yaw > 0 is a turn to the student's own right ---------------------------


@pytest.mark.parametrize(
    ("challenge", "yaw"),
    [(Challenge.TURN_LEFT, -30), (Challenge.TURN_LEFT, -60), (Challenge.TURN_RIGHT, 30)],
)
def test_a_challenge_passes_when_the_head_is_turned_the_asked_way(
    challenge: Challenge, yaw: float
) -> None:
    # Well past the plain looking-away limit too: the student did what was asked.
    assert judge(head=pose(yaw=yaw), challenge=challenge) == Decision(Outcome.PRESENT, None)


@pytest.mark.parametrize(
    ("challenge", "yaw", "hint"),
    [
        (Challenge.TURN_LEFT, 0, "turn your head to your left"),
        (Challenge.TURN_RIGHT, -5, "turn your head to your right"),
        (Challenge.TURN_LEFT, -15, "turn your head further to your left"),
        (Challenge.TURN_RIGHT, 15, "turn your head further to your right"),
    ],
)
def test_a_challenge_fails_when_the_head_is_not_turned_far_enough(
    challenge: Challenge, yaw: float, hint: str
) -> None:
    assert judge(head=pose(yaw=yaw), challenge=challenge) == Decision(
        Outcome.CHALLENGE_FAILED, hint
    )


@pytest.mark.parametrize(
    ("challenge", "yaw", "side"),
    [(Challenge.TURN_LEFT, 35, "left"), (Challenge.TURN_RIGHT, -35, "right")],
)
def test_a_turn_the_other_way_fails_and_is_marked_as_a_wrong_way_answer(
    challenge: Challenge, yaw: float, side: str
) -> None:
    assert judge(head=pose(yaw=yaw), challenge=challenge) == Decision(
        Outcome.CHALLENGE_FAILED, f"the other way — turn your head to your {side}", wrong_way=True
    )


def test_the_mirror_convention_a_mirrored_frame_turns_the_other_way() -> None:
    """Left is the student's own left. A frame mirrored like a selfie preview shows a turn to
    the student's left as a turn to their right, so it answers the opposite challenge."""
    turned_left = pose(yaw=-35)
    mirrored = pose(yaw=35)  # the same head, in a mirrored picture

    assert judge(head=turned_left, challenge=Challenge.TURN_LEFT).outcome is Outcome.PRESENT
    assert judge(head=mirrored, challenge=Challenge.TURN_LEFT).wrong_way


def test_a_challenge_cannot_be_met_without_a_pose() -> None:
    decision = judge(head=None, challenge=Challenge.TURN_RIGHT)

    assert decision == Decision(
        Outcome.CHALLENGE_FAILED, "move closer, then turn your head to your right"
    )


def test_a_challenge_met_while_looking_at_the_floor_is_looking_away() -> None:
    decision = judge(head=pose(yaw=-35, pitch=-50), challenge=Challenge.TURN_LEFT)

    assert decision.outcome is Outcome.LOOKING_AWAY


def test_the_challenge_threshold_is_a_setting() -> None:
    lenient = Thresholds(challenge_yaw=10)

    assert judge(head=pose(yaw=12), challenge=Challenge.TURN_RIGHT, thresholds=lenient).outcome is (
        Outcome.PRESENT
    )


@pytest.mark.parametrize(
    "kwargs",
    [{"looking_away_yaw": 0}, {"looking_away_pitch": 90}, {"challenge_yaw": -5}],
)
def test_nonsense_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Thresholds(**kwargs)
