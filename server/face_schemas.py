"""The shapes of face enrolment answers: state and metadata, never the vector (docs/api.md,
"Identity")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from server.schemas import Out, _iso
from storage.models import FaceTemplate


def face_out(template: FaceTemplate | None) -> dict[str, Any]:
    """A template's state and metadata; never the vector, never the picture."""
    if template is None:
        return {"state": "not_enrolled"}
    return {
        "state": template.state.value,
        "quality": template.quality,
        "model": template.model,
        "source": template.source,
        "created_at": _iso(template.created_at),
        "consent_at": _iso(template.consent_at),
        "decided_at": _iso(template.decided_at),
        "reason": template.reason,
    }


# -- response shapes (documented in the OpenAPI document; tests check responses against them) --


class FaceOut(Out):
    state: Literal["not_enrolled", "pending", "approved", "rejected", "exempt"]
    quality: float | None = None
    model: str | None = None
    source: Literal["admin", "student"] | None = None
    created_at: datetime | None = None
    consent_at: datetime | None = None
    decided_at: datetime | None = None
    reason: str | None = None


class PendingFace(Out):
    student_id: uuid.UUID
    name: str
    email: str
    created_at: datetime
    quality: float | None


class PendingFacesOut(Out):
    items: list[PendingFace]
