"""How well identity tells people apart: false-match and false-non-match rates, with pair counts.

Every face comes from photos shipped inside packages (bench/identity_faces.py): the astronaut,
Grace Hopper, three different photographs of Barack Obama (plus two cut-off ones, for
occlusion) and one of Joe Biden. Each photo is placed in a 640x480 webcam frame and damaged as
a webcam does: light from 25 to 100 %, JPEG quality 20 to 90, mirrored, the face down to 8 % of
the frame height, rolled by 15 degrees either way, the head turned 30 degrees (rendered from
the face mesh, for the two photos it can be rendered from). Each frame goes the server's way:
JPEG bytes, MediaPipe's box, the dlib descriptor (`identity.model`), `identity.compare`.

Pairs. A template is enrolled from each whole photo (a clear frame, as an admin's photo would
be). Same person: a template against every frame of that person, from the same photo (edits of
one photograph) or from another photograph. Different people: a template against every frame
of everyone else, and every frame against every frame of everyone else.

    .venv/bin/python -m bench.identity_eval           # everything (a minute or two)
    .venv/bin/python -m bench.identity_eval --quick   # one draw per condition, for a smoke test
    .venv/bin/python -m bench.identity_eval --no-fetch  # the two photos installed with the project

No demographically labelled set is available here: four people, all adults, three of them white
and one Black, two women and two men. The rates below say how the thresholds behave on webcam
damage, not how they behave across ages, skin tones or sexes; see the README, "Identity and
biometric data".
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.identity_faces import Photo, photos
from identity import (
    DEFAULT_THRESHOLDS,
    MODEL_VERSION,
    Description,
    IdentityOutcome,
    compare,
    distance,
)
from identity._blas import limit_blas_threads
from identity.model import FaceDescriber
from testkit import synth
from vision import FaceDetector
from vision.images import ImageLimits, read_image

ROOT = Path(__file__).resolve().parent.parent

RGB = synth.RGB
Damage = Callable[[RGB, np.random.Generator], RGB]
CLEAR = "clear frontal"


@dataclass(frozen=True)
class Condition:
    name: str
    share: float = 0.45
    quality: int = 85
    damage: Damage | None = None
    turn: float | None = None


def _light(gain: float) -> Damage:
    # A dim webcam raises its gain: the picture gets darker and noisier.
    return lambda rgb, rng: synth.noise(
        synth.adjust_light(rgb, gain), 6 * (1 - gain), int(rng.integers(1 << 30))
    )


CONDITIONS = (
    Condition(CLEAR),
    Condition("light 50 %", damage=_light(0.5)),
    Condition("light 25 %", damage=_light(0.25)),
    Condition("JPEG q90", quality=90),
    Condition("JPEG q50", quality=50),
    Condition("JPEG q20", quality=20),
    Condition("mirrored", damage=lambda rgb, rng: np.ascontiguousarray(rgb[:, ::-1])),
    Condition("face 20 %", share=0.20),
    Condition("face 12 %", share=0.12),
    Condition("face 8 %", share=0.08),
    Condition("rolled ±15°", damage=lambda rgb, rng: synth.rotate(rgb, rng.choice([-15, 15]))),
    Condition("turned ±30°", turn=30.0),
)


@dataclass(frozen=True)
class Sample:
    person: str
    photo: str
    condition: str
    vector: np.ndarray | None
    why: str | None
    """Why there is no vector: no face found, or the worker's too_small / too_dark."""
    face_pixels: int = 0
    brightness: float = 0.0


class Pipeline:
    def __init__(self) -> None:
        self.detector = FaceDetector(0.5)
        limit_blas_threads(1)  # as in an identity worker
        self.describer = FaceDescriber()
        self.limits = ImageLimits()
        self.times: list[float] = []

    def run(self, rgb: RGB, quality: int) -> tuple[np.ndarray | None, str | None, int, float]:
        data = synth.encode_jpeg(rgb, quality)
        image = read_image(data, self.limits)
        found = self.detector.find(image.rgb)
        if not found.faces:
            return None, "no face found", 0, 0.0
        started = time.process_time()
        description = self.describer.describe(image.rgb, found.faces[0].box)
        self.times.append(time.process_time() - started)
        px, light = description.face_pixels, description.brightness
        if description.vector is None:
            return None, description.unusable, px, light
        return description.array(), None, px, light


def _portrait(photo: Photo, detector: FaceDetector) -> tuple[tuple[float, float], float]:
    h, w = photo.rgb.shape[:2]
    face = detector.find(photo.rgb).faces[0]
    x, y, bw, bh = face.box
    return ((x + bw / 2) * w, (y + bh / 2) * h), bh * h


def frames_of(
    photo: Photo, condition: Condition, rng: np.random.Generator, pipe: Pipeline
) -> RGB | None:
    at = (float(rng.uniform(0.42, 0.58)), float(rng.uniform(0.4, 0.5)))
    backdrop = str(rng.choice(["wall", "brick", "kitchen"]))
    if condition.turn is not None:
        portrait = {"astronaut": synth.ASTRONAUT, "hopper": synth.HOPPER}.get(photo.name)
        if portrait is None:
            return None  # the turn is rendered from a mesh fitted to these two photos only
        yaw = condition.turn * float(rng.choice([-1, 1]))
        rgb = synth.turned_frame(portrait, yaw, share=condition.share, at=at, backdrop=backdrop)
    else:
        face = _portrait(photo, pipe.detector)
        rgb = synth.portrait_frame(photo.rgb, condition.share, at=at, backdrop=backdrop, face=face)
    return condition.damage(rgb, rng) if condition.damage else rgb


def collect(draws: int, fetch: bool) -> tuple[list[Sample], list[Sample], Pipeline]:
    pipe = Pipeline()
    rng = np.random.default_rng(11)
    templates: list[Sample] = []
    probes: list[Sample] = []
    for photo in photos(fetch):
        if not photo.occluded:
            face = _portrait(photo, pipe.detector)
            rgb = synth.portrait_frame(photo.rgb, 0.45, face=face)
            vector, why, px, light = pipe.run(rgb, 90)
            templates.append(Sample(photo.person, photo.name, "template", vector, why, px, light))
        conditions = (Condition("occluded"),) if photo.occluded else CONDITIONS
        for condition in conditions:
            for _ in range(draws):
                rgb = frames_of(photo, condition, rng, pipe)
                if rgb is None:
                    continue
                vector, why, px, light = pipe.run(rgb, condition.quality)
                probes.append(
                    Sample(photo.person, photo.name, condition.name, vector, why, px, light)
                )
    return templates, probes, pipe


@dataclass
class Tally:
    pairs: int = 0
    matched: int = 0
    inconclusive: int = 0
    mismatched: int = 0
    undescribed: int = 0
    distances: list[float] | None = None

    def add(self, template: np.ndarray, probe: Sample) -> float | None:
        """Count one pair as the server decides it (`identity.compare`); returns the distance."""
        self.pairs += 1
        self.distances = self.distances or []
        if probe.vector is None:
            self.undescribed += 1
            return None
        seen = Description(
            probe.vector.astype("<f4").tobytes(), probe.face_pixels, probe.brightness
        )
        result = compare(template, MODEL_VERSION, seen)
        assert result.distance is not None
        self.distances.append(result.distance)
        if result.outcome is IdentityOutcome.MATCH:
            self.matched += 1
        elif result.outcome is IdentityOutcome.MISMATCH:
            self.mismatched += 1
        else:
            self.inconclusive += 1
        return result.distance


def _pct(n: int, of: int) -> str:
    return f"{100 * n / of:.1f} %" if of else "-"


def report(templates: list[Sample], probes: list[Sample]) -> None:
    t = DEFAULT_THRESHOLDS
    same: dict[str, Tally] = defaultdict(Tally)
    other: dict[str, Tally] = defaultdict(Tally)
    for tpl in templates:
        assert tpl.vector is not None, f"no template from {tpl.photo}: {tpl.why}"
        for probe in probes:
            if probe.person == tpl.person:
                kind = "same photo" if probe.photo == tpl.photo else "other photograph"
                same[probe.condition].add(tpl.vector, probe)
                same[f"(all) {kind}"].add(tpl.vector, probe)
            else:
                other[probe.condition].add(tpl.vector, probe)
                other["(all) template vs frame"].add(tpl.vector, probe)
    described = [p for p in probes if p.vector is not None]
    for i, a in enumerate(described):
        for b in described[i + 1 :]:
            if a.person != b.person:
                # Either frame may be the enrolled one: the larger face stands for the template.
                tpl, probe = (a, b) if a.face_pixels >= b.face_pixels else (b, a)
                other["(all) frame vs frame"].add(tpl.vector, probe)  # type: ignore[arg-type]

    print(f"\nthresholds: match below {t.match_below}, mismatch above {t.mismatch_above}")
    people = sorted({p.person for p in probes})
    print(
        f"people: {len(people)} ({', '.join(people)}); templates: {len(templates)}; "
        f"frames: {len(probes)}, described: {len(described)}\n"
    )
    print("Same person (a template against a frame of the same person)")
    print(
        "| condition | pairs | matched | inconclusive | rejected (mismatch) | not described "
        "| max distance |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, tally in same.items():
        top = f"{max(tally.distances):.3f}" if tally.distances else "-"
        print(
            f"| {name} | {tally.pairs} | {_pct(tally.matched, tally.pairs)} | "
            f"{_pct(tally.inconclusive, tally.pairs)} | {_pct(tally.mismatched, tally.pairs)} | "
            f"{_pct(tally.undescribed, tally.pairs)} | {top} |"
        )
    print("\nDifferent people")
    print(
        "| condition | pairs | accepted (false match) | inconclusive | rejected | not described "
        "| min distance |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, tally in other.items():
        low = f"{min(tally.distances):.3f}" if tally.distances else "-"
        print(
            f"| {name} | {tally.pairs} | {_pct(tally.matched, tally.pairs)} | "
            f"{_pct(tally.inconclusive, tally.pairs)} | {_pct(tally.mismatched, tally.pairs)} | "
            f"{_pct(tally.undescribed, tally.pairs)} | {low} |"
        )
    _sweep(same, other)
    _worst(templates, probes, described)


def _worst(templates: list[Sample], probes: list[Sample], described: list[Sample]) -> None:
    t = DEFAULT_THRESHOLDS
    print(f"\nSame-person pairs over {t.mismatch_above} (a mismatch if the face is large enough):")
    for tpl in templates:
        for p in probes:
            if p.person == tpl.person and p.vector is not None:
                d = distance(tpl.vector, p.vector)  # type: ignore[arg-type]
                if d > t.mismatch_above:
                    print(
                        f"  {tpl.photo} vs {p.photo}, {p.condition}: {d:.3f} "
                        f"(face box {p.face_pixels} px, luma {p.brightness:.0f})"
                    )
    close = sorted(
        (distance(a.vector, b.vector), a, b)  # type: ignore[arg-type]
        for i, a in enumerate(described)
        for b in described[i + 1 :]
        if a.person != b.person
    )[:5]
    print("Closest different-person pairs (frame vs frame):")
    for d, a, b in close:
        print(
            f"  {d:.3f}: {a.photo} {a.condition} ({a.face_pixels} px) vs "
            f"{b.photo} {b.condition} ({b.face_pixels} px)"
        )


def _sweep(same: dict[str, Tally], other: dict[str, Tally]) -> None:
    impostor = np.array(
        (other["(all) template vs frame"].distances or [])
        + (other["(all) frame vs frame"].distances or [])
    )
    clear = np.array(same[CLEAR].distances or [])
    described = [
        d for k, v in same.items() if not k.startswith("(all)") for d in (v.distances or [])
    ]
    everything = np.array(described)
    print("\nThreshold sweep: false-match rate (different-person pairs under t), false-non-match")
    print("rate (same-person pairs over t) for clear frontal frames and for all described frames")
    print("| t | FMR | FNMR clear frontal | FNMR all conditions |")
    print("|---:|---:|---:|---:|")
    for t in np.arange(0.40, 0.76, 0.025):
        fmr = (impostor < t).sum()
        print(
            f"| {t:.3f} | {fmr}/{len(impostor)} = {100 * fmr / max(1, len(impostor)):.3f} % | "
            f"{(clear > t).sum()}/{len(clear)} = {100 * (clear > t).mean():.1f} % | "
            f"{(everything > t).sum()}/{len(everything)} = {100 * (everything > t).mean():.1f} % |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one draw per condition")
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="only the two photos installed with the project (no sdist)",
    )
    parser.add_argument("--draws", type=int, default=4, help="frames per photo and condition")
    args = parser.parse_args()
    started = time.perf_counter()
    templates, probes, pipe = collect(1 if args.quick else args.draws, not args.no_fetch)
    report(templates, probes)
    times = sorted(pipe.times)
    print(
        f"\n{len(times)} descriptors, CPU p50 {1000 * times[len(times) // 2]:.0f} ms; "
        f"whole run {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
