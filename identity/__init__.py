"""Identity: is the person in front of the camera the enrolled student?

A face descriptor (dlib's ResNet, 128 numbers) is computed in worker processes
(`IdentityPool.describe`) from the face box MediaPipe found, and compared with the student's
enrolled template (`compare`): matched, mismatch or inconclusive. Templates are kept encrypted
(`TemplateCipher`). A package of its own, beside `vision`, because its workers must import neither
MediaPipe nor the server: `identity.model` and `identity._worker` need only dlib, NumPy and OpenCV.
"""

from identity.compare import (
    DEFAULT_THRESHOLDS,
    HINT_MISMATCH,
    IdentityOutcome,
    IdentityResult,
    IdentityThresholds,
    compare,
    distance,
)
from identity.description import MODEL_VERSION, Box, Description
from identity.errors import (
    BadTemplate,
    IdentityClosed,
    IdentityError,
    IdentitySaturated,
    IdentityUnavailable,
)
from identity.pool import IdentityPool

__all__ = [
    "DEFAULT_THRESHOLDS",
    "HINT_MISMATCH",
    "MODEL_VERSION",
    "BadTemplate",
    "Box",
    "Description",
    "IdentityClosed",
    "IdentityError",
    "IdentityOutcome",
    "IdentityPool",
    "IdentityResult",
    "IdentitySaturated",
    "IdentityThresholds",
    "IdentityUnavailable",
    "compare",
    "distance",
]
