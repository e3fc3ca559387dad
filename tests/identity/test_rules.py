"""The pure parts: thresholds, the identity policy, sealing templates, the enrolment rules."""

from __future__ import annotations

import os
import random
import uuid
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from identity import (
    HINT_MISMATCH,
    MODEL_VERSION,
    BadTemplate,
    Description,
    IdentityOutcome,
    compare,
)
from identity.crypto import TemplateCipher, key_file_for, load_or_create_key_file
from identity.policy import IdentityMode, IdentityPolicy
from server.facekey import face_cipher
from server.settings import Settings

RNG = np.random.default_rng(7)


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def _at(template: np.ndarray, d: float) -> Description:
    """A descriptor exactly ``d`` away from ``template``."""
    direction = _unit(RNG.normal(size=128))
    return Description((template + d * direction).astype("<f4").tobytes(), 120, 140.0)


TEMPLATE = _unit(RNG.normal(size=128)) * 0.5


@pytest.mark.parametrize(
    ("d", "outcome"),
    [
        (0.2, IdentityOutcome.MATCH),
        (0.49, IdentityOutcome.MATCH),
        (0.55, IdentityOutcome.INCONCLUSIVE),
        (0.61, IdentityOutcome.MISMATCH),
        (0.9, IdentityOutcome.MISMATCH),
    ],
)
def test_distance_decides_between_two_thresholds(d: float, outcome: IdentityOutcome) -> None:
    result = compare(TEMPLATE, MODEL_VERSION, _at(TEMPLATE, d))
    assert result.outcome is outcome
    assert result.distance == pytest.approx(d, abs=1e-4)
    assert result.model_version == MODEL_VERSION
    if outcome is IdentityOutcome.MISMATCH:
        assert result.hint == HINT_MISMATCH
    if outcome is IdentityOutcome.INCONCLUSIVE:
        assert result.hint  # the student is asked for another frame


@pytest.mark.parametrize(("why", "word"), [("too_small", "closer"), ("too_dark", "dark")])
def test_a_face_too_small_or_dark_is_inconclusive_with_its_hint(why: str, word: str) -> None:
    result = compare(TEMPLATE, MODEL_VERSION, Description(None, 20, 140.0, why))
    assert result.outcome is IdentityOutcome.INCONCLUSIVE
    assert result.distance is None
    assert result.hint is not None and word in result.hint


def test_a_template_of_another_model_is_never_compared() -> None:
    result = compare(TEMPLATE, "some-other-model", _at(TEMPLATE, 0.1))
    assert result.outcome is IdentityOutcome.INCONCLUSIVE
    assert result.distance is None


def test_sampled_policy_checks_the_first_prompt_and_about_a_third_of_the_others() -> None:
    policy = IdentityPolicy(IdentityMode.SAMPLED, 0.34)
    rng = random.Random(1)
    assert all(policy.should_check(first_of_lesson=True, rng=rng) for _ in range(50))
    later = [policy.should_check(first_of_lesson=False, rng=rng) for _ in range(5000)]
    assert 0.30 < sum(later) / len(later) < 0.38
    off, every = IdentityPolicy(IdentityMode.OFF), IdentityPolicy(IdentityMode.EVERY)
    assert not off.should_check(first_of_lesson=True, rng=rng)
    assert every.should_check(first_of_lesson=False, rng=rng)


def test_a_policy_stored_before_identity_existed_means_off() -> None:
    assert IdentityPolicy.from_stored({"deadline_s": 15}).mode is IdentityMode.OFF
    stored = IdentityPolicy.from_stored({"identity": "every", "identity_probability": 0.5})
    assert stored == IdentityPolicy(IdentityMode.EVERY, 0.5)


def test_a_sealed_template_opens_only_for_its_student_and_with_its_key() -> None:
    cipher = TemplateCipher(os.urandom(32))
    student = uuid.uuid4()
    sealed = cipher.seal_template(TEMPLATE, student_id=student)
    assert TEMPLATE.astype("<f4").tobytes() not in sealed
    assert np.array_equal(cipher.open_template(sealed, student_id=student), TEMPLATE)
    with pytest.raises(BadTemplate):
        cipher.open_template(sealed, student_id=uuid.uuid4())  # copied to another row
    with pytest.raises(BadTemplate):
        TemplateCipher(os.urandom(32)).open_template(sealed, student_id=student)
    picture = cipher.seal(b"jpeg", student_id=student, purpose="picture")
    with pytest.raises(BadTemplate):
        cipher.open_template(picture, student_id=student)  # a picture is not a template


def test_the_development_key_is_made_once_beside_the_database_for_its_owner_only(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'school.db'}")
    first = face_cipher(settings)
    key_file = key_file_for(tmp_path / "school.db")
    assert key_file.stat().st_mode & 0o777 == 0o600
    sealed = first.seal(b"x", student_id=uuid.UUID(int=1), purpose="template")
    # A restart reads the same key back.
    again = face_cipher(settings)
    assert again.open(sealed, student_id=uuid.UUID(int=1), purpose="template") == b"x"
    key_file.chmod(0o644)
    with pytest.raises(PermissionError, match="owner only"):
        load_or_create_key_file(key_file)


def test_production_refuses_to_start_without_a_face_key() -> None:
    strong = {
        "env": "production",
        "secret_key": "Zq3vV0m2r8kX1pN6tY4cW9bE7hJ5sL0aF2dG8uR3iO6yT1eQ",
        "signing_key": "A" * 43,
    }
    with pytest.raises(ValidationError, match="TL_FACE_KEY must be set"):
        Settings(**strong)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="TL_FACE_KEY must be base64"):
        Settings(**strong, face_key="not a key")  # type: ignore[arg-type]
    key = "A" * 43 + "="
    assert Settings(**strong, face_key=key).face_key == key  # type: ignore[arg-type]


def test_a_small_or_dim_face_may_match_but_is_never_called_a_mismatch() -> None:
    far = _at(TEMPLATE, 0.9)
    small = Description(far.vector, 40, 140.0)
    result = compare(TEMPLATE, MODEL_VERSION, small)
    assert result.outcome is IdentityOutcome.INCONCLUSIVE
    assert result.hint is not None and "closer" in result.hint
    dim = compare(TEMPLATE, MODEL_VERSION, Description(far.vector, 200, 35.0))
    assert dim.outcome is IdentityOutcome.INCONCLUSIVE
    assert dim.hint is not None and "light" in dim.hint
    near = _at(TEMPLATE, 0.3)
    assert compare(TEMPLATE, MODEL_VERSION, Description(near.vector, 40, 140.0)).outcome is (
        IdentityOutcome.MATCH
    )


def test_a_compared_frame_resolves_its_prompt_or_asks_for_another() -> None:
    from identity import IdentityResult
    from identity.flow import DIFFERENT_PERSON, IdentityStatus, frame_decision

    def result(outcome: IdentityOutcome) -> IdentityResult:
        return IdentityResult(outcome, 0.55, MODEL_VERSION, "hold still")

    match = frame_decision(result(IdentityOutcome.MATCH), another_frame_possible=True)
    assert (match.outcome, match.identity) == ("present", IdentityStatus.MATCHED)
    mismatch = frame_decision(result(IdentityOutcome.MISMATCH), another_frame_possible=True)
    assert mismatch.outcome == DIFFERENT_PERSON and mismatch.hint == HINT_MISMATCH
    unsure = frame_decision(result(IdentityOutcome.INCONCLUSIVE), another_frame_possible=True)
    assert unsure.outcome is None and unsure.hint == "hold still"
    last = frame_decision(result(IdentityOutcome.INCONCLUSIVE), another_frame_possible=False)
    assert (last.outcome, last.identity) == ("present", IdentityStatus.INCONCLUSIVE)


def test_the_report_counts_compared_prompts_and_flags_a_mismatch_for_review() -> None:
    from identity.flow import IdentityTally

    tally = IdentityTally()
    for seen in ("matched", "matched", "inconclusive", "not_enrolled", None, "mismatch"):
        tally.add(seen)
    assert tally.as_dict() == {"checked": 4, "matched": 2, "mismatched": 1, "inconclusive": 1}
    assert tally.needs_review
