"""How well `vision` judges frames: a labelled set built at run time, judged end to end.

Every frame is made from photos that ship inside installed packages (see testkit/synth.py):
two real portraits (scikit-image's astronaut, matplotlib's Grace Hopper) in a 640x480 webcam
frame, at many sizes and positions, damaged in the usual ways, composited with other people's
faces, and with the head turned (rendered from the face mesh); and scenes without a person.
Each frame is encoded as a browser would send it (JPEG, quality 85, unless the damage is the
JPEG quality itself) and goes through `judge_frame`, the server's own path.

It prints the confusion matrix per outcome, the rate of each set, the targets of issue 5, the
recall of a second face by its size, and the head-pose error against the rendered angle.

    .venv/bin/python -m bench.vision_eval               # everything (about a minute)
    .venv/bin/python -m bench.vision_eval --compare     # also: what the side scan and the
                                                        # contrast normalisation each buy
    .venv/bin/python -m bench.vision_eval --quick       # a tenth of it, for a smoke test
    .venv/bin/python -m bench.vision_eval --sheets /tmp/eval   # contact sheets of the misses
"""

from __future__ import annotations

import argparse
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from testkit import synth
from testkit.synth import ASTRONAUT, HOPPER, Portrait
from vision import Challenge, FaceDetector, ImageLimits, Outcome, Verdict, judge_frame

RGB = synth.RGB
ANY = "any"  # the angle sits on a threshold: either answer is right, the frame is not scored


@dataclass
class Item:
    group: str
    name: str
    rgb: RGB
    expected: frozenset[str]
    """Outcomes counted right; ``{"not present"}`` for scenes without a face."""
    challenge: Challenge = Challenge.NONE
    quality: int = 85
    yaw: float | None = None
    """Rendered head turn (relative to the portrait's own pose), for the pose error table."""
    pitch: float | None = None
    second_share: float | None = None
    wrong_way: bool | None = None


def _want(*outcomes: Outcome | str) -> frozenset[str]:
    return frozenset(str(o) for o in outcomes)


PRESENT = _want(Outcome.PRESENT)
MULTIPLE = _want(Outcome.MULTIPLE_FACES)
NOT_PRESENT = _want("not present")


# -- the labelled set ----------------------------------------------------------------------


def frontal(rng: np.random.Generator, step: int) -> Iterator[Item]:
    """Clearly visible frontal faces at normal to dim light: the false-flag target's set."""
    n = 0
    for p in (ASTRONAUT, HOPPER):
        for share in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0):
            for backdrop in ("wall", "brick", "kitchen"):
                n += 1
                if n % step:
                    continue
                at = (0.5 + rng.uniform(-0.12, 0.12), 0.5 + rng.uniform(-0.06, 0.06))
                frame = synth.portrait_frame(p, share, at=at, backdrop=backdrop)
                yield Item("frontal", f"{p.name} {share:.0%} {backdrop}", frame, PRESENT)
                yield Item(
                    "frontal", f"{p.name} {share:.0%} {backdrop} mirrored", frame[:, ::-1], PRESENT
                )
        base = synth.portrait_frame(p, 0.5)
        damage: list[tuple[str, Callable[[RGB], RGB], int]] = [
            *(
                (f"rotated {a:+d}", lambda f, a=a: synth.rotate(f, a), 85)
                for a in (-20, -10, 10, 20)
            ),
            *(
                (f"light x{g}", lambda f, g=g: synth.adjust_light(f, g), 85)
                for g in (0.35, 0.5, 0.7, 1.3)
            ),
            ("dim and noisy", lambda f: synth.noise(synth.adjust_light(f, 0.4), 5), 85),
            ("dim, low contrast", lambda f: synth.adjust_light(f, 0.5, 0.6), 85),
            *((f"blur {s}px", lambda f, s=s: synth.blur(f, s), 85) for s in (1, 2)),
            ("motion blur 9px", lambda f: synth.motion_blur(f, 9), 85),
            *((f"jpeg q{q}", lambda f: f, q) for q in (30, 50, 70, 90)),
            *((f"noise {s}", lambda f, s=s: synth.noise(f, s, seed=s), 85) for s in (5, 10)),
        ]
        for i, (name, fn, quality) in enumerate(damage):
            if i % step:
                continue
            for mirrored in (False, True):
                frame = fn(base[:, ::-1] if mirrored else base)
                label = f"{p.name} {name}{' mirrored' if mirrored else ''}"
                yield Item("frontal", label, frame, PRESENT, quality=quality)


def small(rng: np.random.Generator, step: int) -> Iterator[Item]:
    """A student far from the camera: face 8 to 30 % of the frame height."""
    for p in (ASTRONAUT, HOPPER):
        for i, share in enumerate((0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3)):
            if i % step:
                continue
            at = (0.5 + rng.uniform(-0.25, 0.25), 0.45 + rng.uniform(-0.1, 0.1))
            frame = synth.portrait_frame(p, share, at=at, backdrop="wall")
            yield Item("small face", f"{p.name} {share:.0%}", frame, PRESENT)


def hard(rng: np.random.Generator, step: int) -> Iterator[Item]:
    """Past "normal to dim": where hints matter and contrast normalisation earns its keep."""
    for p in (ASTRONAUT, HOPPER):
        base = synth.portrait_frame(p, 0.5)
        damage: list[tuple[str, Callable[[RGB], RGB], int]] = [
            *(
                (f"light x{g} + noise", lambda f, g=g: synth.noise(synth.adjust_light(f, g), 3), 85)
                for g in (0.08, 0.12, 0.18, 0.25)
            ),
            *(
                (f"contrast x{c}", lambda f, c=c: synth.adjust_light(f, 1.0, c), 85)
                for c in (0.12, 0.2, 0.3)
            ),
            *(
                (f"dark, contrast x{c}", lambda f, c=c: synth.adjust_light(f, 0.3, c), 85)
                for c in (0.2, 0.35)
            ),
            *(
                (f"backlit x{g}", lambda f, g=g: _backlit(f, g), 85)
                for g in (0.25, 0.12, 0.06, 0.03)
            ),
            ("overexposed x2.2", lambda f: synth.adjust_light(f, 2.2), 85),
            *((f"blur {s}px", lambda f, s=s: synth.blur(f, s), 85) for s in (4, 6, 8)),
            *(
                (f"motion blur {n}px", lambda f, n=n: synth.motion_blur(f, n), 85)
                for n in (15, 25, 40)
            ),
            *((f"noise {s}", lambda f, s=s: synth.noise(f, s, seed=s), 85) for s in (20, 30)),
            ("jpeg q10", lambda f: f, 10),
            *((f"rotated {a:+d}", lambda f, a=a: synth.rotate(f, a), 85) for a in (-30, 30)),
        ]
        for i, (name, fn, quality) in enumerate(damage):
            if i % step:
                continue
            yield Item("hard", f"{p.name} {name}", fn(base), PRESENT, quality=quality)


def _backlit(rgb: RGB, face_gain: float = 0.25) -> RGB:
    """A window behind the student: the room bright, the face in shadow."""
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(
        mask, (w // 2, round(h * 0.5)), (round(h * 0.3), round(h * 0.42)), 0, 0, 360, 1.0, -1
    )
    mask = cv2.GaussianBlur(mask, (0, 0), h * 0.04)[:, :, None]
    lit = np.minimum(rgb.astype(np.float32) * 1.4 + 60, 255)
    out = lit * (1 - mask) + rgb.astype(np.float32) * face_gain * mask
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def second_faces(rng: np.random.Generator, step: int) -> Iterator[Item]:
    """Someone else in view: a second face (and sometimes a third) beside or behind the student."""
    others = {ASTRONAUT: HOPPER, HOPPER: ASTRONAUT}
    lfw = synth.lfw_faces()
    n = 0
    for p in (ASTRONAUT, HOPPER):
        for share, cx in ((0.35, 0.5), (0.45, 0.58), (0.55, 0.42), (0.65, 0.5)):
            for backdrop in ("wall", "brick"):
                base = synth.portrait_frame(p, share, at=(cx, 0.5), backdrop=backdrop)
                half = share * 480 / 640 / 2  # the face box is about square in pixels
                for s2 in (0.06, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3):
                    for k in range(4):
                        n += 1
                        if n % step:
                            continue
                        spot = _beside(rng, cx, half, s2, left=k % 2 == 0)
                        if spot is None:
                            continue
                        who: Portrait = others[p] if k < 2 else p
                        if k < 2:
                            frame = synth.paste_face(base, who, s2, spot)
                        else:  # the student's own face as the other person: a twin, mirrored
                            mirror_x = who.rgb.shape[1] - 1 - who.centre[0]
                            frame = synth.paste_face(
                                base,
                                who.rgb[:, ::-1].copy(),
                                s2,
                                spot,
                                face=((mirror_x, who.centre[1]), who.side),
                            )
                        where = f"({spot[0]:.2f}, {spot[1]:.2f})"
                        name = f"{p.name} {share:.0%} + {who.name} {s2:.0%} at {where} {backdrop}"
                        yield Item("second face", name, frame, MULTIPLE, second_share=s2)
                        tile = lfw[int(rng.integers(len(lfw)))]
                        yield Item(
                            "second face (LFW 25 px)",
                            f"{p.name} {share:.0%} + LFW {s2:.0%}",
                            synth.paste_face(base, tile, s2, spot),
                            MULTIPLE,
                            second_share=s2,
                        )
                # three people: two others of different sizes, one each side
                for s2, s3 in ((0.1, 0.2), (0.15, 0.3), (0.12, 0.12)):
                    n += 1
                    if n % step:
                        continue
                    a = _beside(rng, cx, half, s2, left=True)
                    b = _beside(rng, cx, half, s3, left=False)
                    if a is None or b is None:
                        continue
                    frame = synth.paste_face(
                        synth.paste_face(base, others[p], s2, a), others[p], s3, b
                    )
                    yield Item(
                        "three faces",
                        f"{p.name} {share:.0%} + {s2:.0%} + {s3:.0%}",
                        frame,
                        MULTIPLE,
                        second_share=min(s2, s3),
                    )


def _beside(
    rng: np.random.Generator, cx: float, half: float, s2: float, *, left: bool
) -> tuple[float, float] | None:
    """A spot for a face of share ``s2`` that does not cover the student's face."""
    half2 = s2 * 480 / 640 / 2 * 1.2
    lo, hi = (half2, cx - half - half2 - 0.02) if left else (cx + half + half2 + 0.02, 1 - half2)
    if hi < lo:
        return None
    return float(rng.uniform(lo, hi)), float(rng.uniform(0.2, 0.7))


def no_faces(rng: np.random.Generator, step: int) -> Iterator[Item]:
    for i, (name, img) in enumerate(synth.non_faces().items()):
        frame = cv2.resize(img, (640, 480), interpolation=cv2.INTER_AREA)
        variants = [
            ("", frame),
            (" rotated", synth.rotate(frame, 15)),
            (" dark", synth.adjust_light(frame, 0.3)),
            (" mirrored", frame[:, ::-1]),
        ]
        for j, (how, f) in enumerate(variants):
            if (i + j) % step:
                continue
            yield Item("no face", name + how, f, NOT_PRESENT)
    for name, f in (
        ("grey", np.full((480, 640, 3), 128, np.uint8)),
        ("black (covered lens)", np.full((480, 640, 3), 3, np.uint8)),
        ("noise", rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)),
        ("empty room", synth.background("kitchen")),
        ("brick wall", synth.background("brick")),
    ):
        yield Item("no face", name, f, NOT_PRESENT)


def head_turns(step: int) -> Iterator[Item]:
    """Rendered head turns: plain prompts (looking away?) and turn challenges (which way?)."""
    n = 0
    for p in (ASTRONAUT, HOPPER):
        for pitch in (-40, -30, -15, 0, 15, 30, 40):
            for yaw in range(-50, 51, 5):
                n += 1
                if n % step:
                    continue
                if abs(pitch) >= 30 and yaw % 10:
                    continue
                frame = synth.turned_frame(p, yaw, pitch, share=0.45)
                yield Item(
                    "head turn",
                    f"{p.name} yaw {yaw:+d} pitch {pitch:+d}",
                    frame,
                    _pose_expectation(yaw, pitch),
                    yaw=yaw,
                    pitch=pitch,
                )
                if abs(pitch) > 15:
                    continue
                for challenge in (Challenge.TURN_LEFT, Challenge.TURN_RIGHT):
                    for mirrored in (False, True):
                        seen_yaw = -yaw if mirrored else yaw  # a mirror swaps left and right
                        want, wrong = _challenge_expectation(challenge, seen_yaw, pitch)
                        name = f"{p.name} yaw {yaw:+d} pitch {pitch:+d} asked {challenge.value}"
                        yield Item(
                            "challenge (mirrored)" if mirrored else "challenge",
                            name + (" mirrored" if mirrored else ""),
                            frame[:, ::-1] if mirrored else frame,
                            want,
                            challenge=challenge,
                            yaw=seen_yaw,
                            pitch=pitch,
                            wrong_way=wrong,
                        )


def _pose_expectation(yaw: int, pitch: int) -> frozenset[str]:
    if abs(yaw) <= 30 and abs(pitch) <= 15:
        return PRESENT
    if abs(yaw) >= 50 or abs(pitch) >= 45:
        return _want(Outcome.LOOKING_AWAY)
    return _want(ANY)


def _challenge_expectation(
    challenge: Challenge, yaw: int, pitch: int
) -> tuple[frozenset[str], bool | None]:
    # The student's own left is a negative yaw.
    turned = -yaw if challenge is Challenge.TURN_LEFT else yaw
    if turned >= 35:
        return PRESENT, None
    if turned <= 10:  # facing the camera (what a still photo shows), or turned the other way
        return _want(Outcome.CHALLENGE_FAILED), turned <= -35 or None
    return _want(ANY), None


def photo_attacks(step: int) -> Iterator[Item]:
    """A printed photo (or a phone) tilted away from the camera to fake the asked turn."""
    for p in (ASTRONAUT, HOPPER):
        frame = synth.portrait_frame(p, 0.5)
        for i, angle in enumerate((-50, -35, 35, 50)):
            if i % step:
                continue
            tilted = synth.tilted_photo(frame, angle)
            # Tilting the photo's right edge away mimics a turn to the person's own right.
            asked = Challenge.TURN_RIGHT if angle > 0 else Challenge.TURN_LEFT
            yield Item(
                "photo attack",
                f"{p.name} photo tilted {angle:+d} asked {asked.value}",
                tilted,
                _want(Outcome.CHALLENGE_FAILED, Outcome.NO_FACE),
                challenge=asked,
            )


def real_turn() -> Iterator[Item]:
    """The one real, not rendered, head turned well away in the packages: the cameraman."""
    import skimage.data

    cam = np.repeat(np.asarray(skimage.data.camera())[:, :, None], 3, axis=2)
    frame = cv2.resize(cam[32:480, :], (640, 480), interpolation=cv2.INTER_LINEAR)
    yield Item(
        "real head turn",
        "cameraman, head turned to his camera",
        frame,
        _want(Outcome.LOOKING_AWAY, Outcome.NO_FACE),
    )


def build(step: int, seed: int = 5) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = [
        *frontal(rng, step),
        *small(rng, step),
        *hard(rng, step),
        *second_faces(rng, step),
        *no_faces(rng, step),
        *head_turns(step),
        *photo_attacks(step),
        *real_turn(),
    ]
    return items


# -- judging and reporting -----------------------------------------------------------------


@dataclass
class Result:
    item: Item
    verdict: Verdict

    @property
    def got(self) -> str:
        return str(self.verdict.outcome)

    @property
    def right(self) -> bool:
        want = self.item.expected
        if ANY in want:
            return True
        if want == NOT_PRESENT:
            return self.verdict.outcome is not Outcome.PRESENT
        if self.item.wrong_way and not self.verdict.wrong_way:
            return False
        return self.got in want

    @property
    def scored(self) -> bool:
        return ANY not in self.item.expected


def judge_all(items: list[Item], detector: FaceDetector) -> tuple[list[Result], list[float]]:
    limits = ImageLimits()
    results, times = [], []
    for item in items:
        data = synth.encode_jpeg(item.rgb, item.quality)
        started = time.perf_counter()
        verdict = judge_frame(data, item.challenge, detector, limits)
        times.append(time.perf_counter() - started)
        results.append(Result(item, verdict))
    return results, times


def report(results: list[Result], times: list[float]) -> dict[str, float]:
    outcomes = [str(o) for o in Outcome]
    print(
        f"\n{len(results)} frames judged, median {np.median(times) * 1000:.1f} ms, "
        f"p99 {np.percentile(times, 99) * 1000:.1f} ms per frame (decode + judge)\n"
    )

    print("Confusion matrix (rows: expected, columns: judged; frames on a threshold left out)")
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        if not r.scored:
            continue
        want = r.item.expected
        label = "no face (scene)" if want == NOT_PRESENT else "/".join(sorted(want))
        rows[label][r.got] += 1
    short = {o: o.replace("_", " ")[:12] for o in outcomes}
    print(f"{'expected':32s}" + "".join(f"{short[o]:>13s}" for o in outcomes))
    for label in sorted(rows):
        print(f"{label:32s}" + "".join(f"{rows[label][o]:13d}" for o in outcomes))

    print("\nPer set (right / scored)")
    by_group: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_group[r.item.group].append(r)
    for group, rs in by_group.items():
        scored = [r for r in rs if r.scored]
        right = sum(r.right for r in scored)
        got = Counter(r.got for r in scored)
        print(
            f"  {group:28s} {right:4d} / {len(scored):<4d} "
            f"{right / max(1, len(scored)):6.1%}   {dict(got)}"
        )

    print("\nIssue 5 targets")
    frontal = [r for r in results if r.item.group == "frontal"]
    false_no_face = sum(r.verdict.outcome is Outcome.NO_FACE for r in frontal) / max(
        1, len(frontal)
    )
    second = [
        r
        for r in results
        if r.item.group in ("second face", "three faces") and (r.item.second_share or 0) >= 0.1
    ]
    recall = sum(r.verdict.outcome is Outcome.MULTIPLE_FACES for r in second) / max(1, len(second))
    scenes = [r for r in results if r.item.group == "no face"]
    present_on_scenes = sum(r.verdict.outcome is Outcome.PRESENT for r in scenes)
    should_pass = [
        r for r in results if r.scored and r.item.expected == PRESENT and r.item.group != "hard"
    ]
    false_flags = sum(r.verdict.outcome is not Outcome.PRESENT for r in should_pass) / max(
        1, len(should_pass)
    )

    def target(label: str, value: str, note: str) -> None:
        print(f"  {label:48s} {value:>6s}  ({note})")

    target(
        "false no_face on clearly visible frontal faces",
        f"{false_no_face:.1%}",
        f"n={len(frontal)}; target <= 1 %",
    )
    target(
        "multiple_faces recall, second face >= 10 %",
        f"{recall:.1%}",
        f"n={len(second)}; target >= 95 %",
    )
    target("present on frames without a face", str(present_on_scenes), f"n={len(scenes)}; target 0")
    target(
        "false flags on frames that should pass",
        f"{false_flags:.1%}",
        f"n={len(should_pass)}: frontal, small, head turns and challenges met",
    )

    print("\nSecond face found, by its height (share of the frame height)")
    for group in ("second face", "second face (LFW 25 px)"):
        by_share: dict[float, list[bool]] = defaultdict(list)
        for r in results:
            if r.item.group == group and r.item.second_share is not None:
                by_share[r.item.second_share].append(r.verdict.outcome is Outcome.MULTIPLE_FACES)
        line = "  ".join(f"{s:.0%}: {sum(v) / len(v):4.0%}" for s, v in sorted(by_share.items()))
        print(f"  {group:26s} {line}")

    print("\nHead pose against the rendered turn (plain prompts; the portraits' own pose is not 0)")
    errors: dict[str, dict[int, list[float]]] = {
        "yaw": defaultdict(list),
        "pitch": defaultdict(list),
    }
    for r in results:
        it, v = r.item, r.verdict
        if (
            it.group != "head turn"
            or v.yaw is None
            or v.pitch is None
            or it.yaw is None
            or it.pitch is None
        ):
            continue
        if abs(it.pitch) <= 30:
            errors["yaw"][abs(round(it.yaw))].append(v.yaw - it.yaw)
        if abs(it.yaw) <= 30:
            errors["pitch"][abs(round(it.pitch))].append(v.pitch - it.pitch)
    for what, table in errors.items():
        everything = [e for es in table.values() for e in es]
        if not everything:
            continue
        line = "  ".join(
            f"{k}°: {np.sqrt(np.mean(np.square(es))):4.1f}"
            for k, es in sorted(table.items())
            if k % 10 == 0
        )
        print(
            f"  {what:5s} RMS error {np.sqrt(np.mean(np.square(everything))):4.1f}°, "
            "95th percentile "
            f"{np.percentile(np.abs(everything), 95):4.1f}°  |  RMS by |angle|: {line}"
        )
    print("\nTurn challenges: the estimated yaw towards the asked side (the student's own)")
    facing, attacks, made = [], [], []
    for r in results:
        it, v = r.item, r.verdict
        if it.challenge is Challenge.NONE or v.yaw is None:
            continue
        toward = -v.yaw if it.challenge is Challenge.TURN_LEFT else v.yaw
        if it.group == "photo attack":
            attacks.append(toward)
        elif it.group.startswith("challenge") and it.yaw is not None and abs(it.yaw) <= 5:
            facing.append(toward)
        elif it.group.startswith("challenge") and it.yaw is not None and abs(it.yaw) >= 30:
            made.append(abs(v.yaw))
    if facing:
        print(
            f"  facing the camera (|rendered yaw| <= 5):   at most {max(facing):5.1f}°"
            f"  (n={len(facing)})"
        )
    if attacks:
        print(
            f"  a flat photo tilted 35-50° the asked way: at most {max(attacks):5.1f}°"
            f"  (n={len(attacks)})"
        )
    if made:
        print(
            f"  a turn of 30° or more, either way:        at least {min(made):5.1f}°"
            f"  (n={len(made)})"
        )
    return {
        "false_no_face": false_no_face,
        "recall": recall,
        "present_on_scenes": present_on_scenes,
        "false_flags": false_flags,
    }


def misses(results: list[Result], sheets: Path | None, per_set: int = 6) -> None:
    wrong = [r for r in results if r.scored and not r.right]
    print(f"\nMisjudged frames: {len(wrong)} (at most {per_set} shown per set)")
    shown: Counter[str] = Counter()
    for r in wrong:
        shown[r.item.group] += 1
        if shown[r.item.group] > per_set:
            continue
        v = r.verdict
        pose = (
            f" yaw {v.yaw:+.0f} pitch {v.pitch:+.0f}"
            if v.yaw is not None and v.pitch is not None
            else ""
        )
        print(
            f"  [{r.item.group}] {r.item.name}: wanted {'/'.join(sorted(r.item.expected))}, "
            f"got {r.got} ({v.face_count} faces{pose}; {'+'.join(v.passes)})"
        )
    if sheets is not None and wrong:
        sheets.mkdir(parents=True, exist_ok=True)
        synth.save_sheet([r.item.rgb for r in wrong], sheets / "misses.png")
        print(f"  contact sheet: {sheets / 'misses.png'}")


def compare(items: list[Item]) -> None:
    """What each extra pass buys, on the sets it is for."""
    variants = [
        ("short-range only (no scan, no contrast)", dict(scan=False, normalise=False)),
        ("+ side scan", dict(scan=True, normalise=False)),
        ("+ contrast normalisation", dict(scan=False, normalise=True)),
        ("both (the default)", dict(scan=True, normalise=True)),
    ]
    groups = ("frontal", "small face", "hard", "second face", "three faces", "no face")
    print("\nWhat each pass buys (right / scored per set; median and p99 ms per frame)")
    print(
        f"  {'variant':42s}"
        + "".join(f"{g[:12]:>14s}" for g in groups)
        + f"{'median':>9s}{'p99':>8s}"
    )
    subset = [it for it in items if it.group in groups]
    for label, options in variants:
        with FaceDetector(**options) as detector:  # type: ignore[arg-type]
            results, times = judge_all(subset, detector)
        cells = []
        for g in groups:
            rs = [r for r in results if r.item.group == g and r.scored]
            cells.append(f"{sum(r.right for r in rs):>7d} / {len(rs):<4d}")
        print(
            f"  {label:42s}"
            + "".join(f"{c:>14s}" for c in cells)
            + f"{np.median(times) * 1000:9.1f}{np.percentile(times, 99) * 1000:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the frames")
    parser.add_argument("--compare", action="store_true", help="also judge with passes turned off")
    parser.add_argument(
        "--sheets", type=Path, help="write contact sheets of the misjudged frames here"
    )
    args = parser.parse_args()

    started = time.perf_counter()
    items = build(step=10 if args.quick else 1)
    print(f"built {len(items)} labelled frames in {time.perf_counter() - started:.0f} s")
    counts = Counter(it.group for it in items)
    print("  " + ", ".join(f"{g}: {n}" for g, n in counts.items()))
    with FaceDetector() as detector:
        detector.warm_up()
        results, times = judge_all(items, detector)
    report(results, times)
    misses(results, args.sheets)
    if args.compare:
        compare(items)


if __name__ == "__main__":
    main()
