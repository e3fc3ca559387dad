"""What the hub reports as it works; the server counts these for its metrics."""

from __future__ import annotations

from typing import Protocol


class HubEvents(Protocol):
    def prompt_issued(self) -> None: ...

    def prompt_postponed(self) -> None: ...

    def frame_judged(self, outcome: str, seconds: float) -> None: ...


class NoEvents:
    """Reports nothing (a hub without metrics, and the unit tests)."""

    def prompt_issued(self) -> None:
        pass

    def prompt_postponed(self) -> None:
        pass

    def frame_judged(self, outcome: str, seconds: float) -> None:
        pass
