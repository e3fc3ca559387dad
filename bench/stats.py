"""From the workers' raw records to the figures in the tables."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bench.workers import Report

PASSED = "present"


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in [0, 1]) of unsorted values; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def spread(values_ms: Sequence[float]) -> str:
    """``p50/p95/p99/max`` in ms, for a table cell."""
    if not values_ms:
        return "-"
    picks = (quantile(values_ms, q) for q in (0.5, 0.95, 0.99, 1.0))
    return "/".join(f"{v:.0f}" if v >= 10 else f"{v:.1f}" for v in picks)


@dataclass(slots=True)
class Window:
    """What the students and tutors saw in one measurement window."""

    seconds: float
    prompts: int = 0  # prompts first answered in the window
    frames: int = 0  # frames sent in the window
    verified: int = 0  # frames acked `present` in the window
    ack_ms: list[float] = field(default_factory=list)  # capture -> ack, every frame
    tutor_ms: list[float] = field(default_factory=list)  # first capture -> tutor sees it resolved
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    client_lag_ms: list[float] = field(default_factory=list)
    tutor_ms_by: dict[str, list[float]] = field(default_factory=dict)  # tutor_ms, split by group

    @property
    def verified_per_s(self) -> float:
        return self.verified / self.seconds

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_ratio(self) -> float:
        return self.error_count / max(1, self.frames + self.prompts)

    def error_text(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.errors.most_common()) or "none"


def window(
    reports: Iterable[Report],
    start: float,
    end: float,
    group: Callable[[str], str] | None = None,
) -> Window:
    """The figures for captures sent in [start, end); ``group(student_id)`` splits tutor_ms."""
    reports = list(reports)
    seen: dict[tuple[str, str, int], float] = {}
    states: dict[tuple[str, str, int], set[str]] = {}
    latest: dict[tuple[str, str], int] = {}  # the highest count of checks a tutor saw
    for report in reports:
        seen.update(report.resolved_seen)
        for key, found in report.states_seen.items():
            states.setdefault(key, set()).update(found)
            latest[key[:2]] = max(latest.get(key[:2], 0), key[2])
    result = Window(seconds=end - start)
    watching = bool(seen) or any(r.rosters for r in reports)
    for report in reports:
        for kind, count in report.errors.items():
            result.errors[kind] += count
        for sent, acked, outcome in report.frames:
            if start <= sent < end:
                result.frames += 1
                result.ack_ms.append((acked - sent) * 1000)
                result.outcomes[outcome] += 1
                if outcome != PASSED:
                    result.errors[f"frame:{outcome}"] += 1
            if start <= acked < end and outcome == PASSED:
                result.verified += 1
        for log in report.prompts:
            if log.first_send is None or not start <= log.first_send < end:
                continue
            result.prompts += 1
            if log.final_ack is None and log.status is None:
                result.errors["prompt_unresolved"] += 1
                continue
            tutor_at = seen.get((log.lesson_id, log.student_id, log.number))
            if tutor_at is not None:
                ms = (tutor_at - log.first_send) * 1000
                result.tutor_ms.append(ms)
                if group is not None:
                    result.tutor_ms_by.setdefault(group(log.student_id), []).append(ms)
            elif watching:
                # What the tutor saw of that check instead: a later state of the student (whose
                # counts hold this check's result, though its own update never came), only
                # "checking" (the result never arrived), or nothing at all.
                found = states.get((log.lesson_id, log.student_id, log.number))
                if latest.get((log.lesson_id, log.student_id), 0) > log.number:
                    seen_instead = "later state seen"
                else:
                    seen_instead = "/".join(sorted(found)) if found else "nothing"
                result.errors[f"no_tutor_update({seen_instead})"] += 1
        result.client_lag_ms.extend(lag * 1000 for when, lag in report.lag if start <= when < end)
    return result


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain text table, columns as wide as their widest cell."""
    cells = [list(map(str, headers))] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(pairs))
        for pairs in (zip(row, widths, strict=True) for row in cells)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def mib(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:.0f} MiB"
