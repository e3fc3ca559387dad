"""A course's attendance policy, already validated (the HTTP schema validates what is stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class Policy:
    """A course's attendance policy (docs/api.md, "The attendance policy"), already validated."""

    interval_min_s: float = 60.0
    interval_max_s: float = 180.0
    first_prompt_min_s: float = 5.0
    first_prompt_max_s: float = 20.0
    deadline_s: float = 15.0
    max_frames: int = 3
    challenge_probability: float = 0.2
    present_ratio: float = 0.8
    present_connected_ratio: float = 0.85
    partial_ratio: float = 0.5
    evidence: str = "none"
    retention_days: int = 30
    contest_days: int = 7

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any]) -> Policy:
        """A policy from a course's stored (already validated) values; unknown keys ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})
