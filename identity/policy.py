"""A course's identity policy: which prompts compare the face with the enrolled template. Pure.

``off``: none. ``every``: every prompt. ``sampled`` (the default for new courses): the first
prompt of each lesson always, each later one with ``identity_probability`` (0.34: about one
prompt in three, so a stand-in cannot count on a check being presence only, while each student's
frames are described about a third as often as they are judged).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_PROBABILITY", "IdentityMode", "IdentityPolicy"]

DEFAULT_PROBABILITY = 0.34


class IdentityMode(enum.StrEnum):
    OFF = "off"
    SAMPLED = "sampled"
    EVERY = "every"


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    mode: IdentityMode = IdentityMode.OFF
    probability: float = DEFAULT_PROBABILITY

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> IdentityPolicy:
        """From a course's stored policy. A policy stored before identity existed has no
        ``identity`` key and means ``off``: its students never consented to a comparison."""
        mode = IdentityMode(stored.get("identity", IdentityMode.OFF))
        return cls(mode, float(stored.get("identity_probability", DEFAULT_PROBABILITY)))

    def should_check(self, *, first_of_lesson: bool, rng: random.Random) -> bool:
        """Whether this prompt compares identity; decided when the prompt is issued."""
        if self.mode is IdentityMode.OFF:
            return False
        if self.mode is IdentityMode.EVERY or first_of_lesson:
            return True
        return rng.random() < self.probability
