"""The load scenarios. Each builds a school, starts the server(s), drives the clients and prints
a table; `bench.loadgen` is their command line.

A *phase* is one lesson (or several) from connect to end: tutors connect first, then every
student; after a warm-up the window opens, and every capture first sent inside it counts.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from bench import bare
from bench.classes import (
    FACE_KEY,
    SECRET_KEY,
    Admin,
    Member,
    School,
    migrate,
    policy,
    seed_school,
)
from bench.clients import Clients, Connected
from bench.servers import (
    ROOT,
    ServerProcess,
    Usage,
    Variant,
    lag_quantile_ms,
    loop_lag_buckets,
    server_env,
)
from bench.stats import Window, mib, quantile, spread, table, window
from bench.workers import Behaviour, Report, Seat


@dataclass(frozen=True, slots=True)
class Options:
    """What every scenario takes from the command line."""

    variant: Variant = field(default_factory=Variant)
    student_procs: int = 2
    frame: str = "640"  # "640", "320" or "mixed"
    client_deflate: bool = True
    retry_delay_s: float = 1.5
    database_url: str | None = None
    message_queue_url: str | None = None
    vision_workers: int = 2
    templates: bool = False
    """Every student has an approved face template of the face in the frames."""
    settle_s: float | None = None
    """After a window, how long the clients keep listening before their reports are read: a
    tutor update that arrives within it counts (late), one that does not is lost. None: 2 s,
    or half the window when that is shorter."""


def make_frames(spec: str) -> tuple[bytes, ...]:
    """Real face JPEGs (scikit-image's astronaut) at 640x480 or 320x240, four framings each."""
    from testkit.frames import encode, face_rgb

    widths = {"640": (640,), "320": (320,), "mixed": (640, 320)}[spec]
    return tuple(
        encode(face_rgb(width, face_share=share))
        for width in widths
        for share in (0.45, 0.5, 0.55, 0.6)
    )


def describe_machine(opts: Options) -> str:
    commit = _git("rev-parse", "--short", "HEAD")
    changed = _git("status", "--porcelain", "--untracked-files=no")
    dirty = " + uncommitted changes" if changed else ""
    load = "/".join(f"{v:.2f}" for v in os.getloadavg())
    frames = make_frames(opts.frame)
    sizes = sorted({len(f) // 1024 for f in frames})
    return "\n".join(
        [
            f"date {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}{dirty}",
            f"machine: {os.cpu_count()} cores, "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
            f"Python {platform.python_version()}, load average {load}",
            f"server: {opts.variant.describe()}"
            + "".join(f" {k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("TL_")),
            f"clients: {opts.student_procs} student processes + 1 tutor process, "
            f"lean Socket.IO client (bench/sio.py), permessage-deflate "
            f"{'offered' if opts.client_deflate else 'off'}, frames {opts.frame} "
            f"({min(sizes)}-{max(sizes)} KB JPEG)",
        ]
    )


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return result.stdout.strip()


class Bench:
    """A fresh database with a school in it, the server process(es) and the client workers."""

    def __init__(self, opts: Options, students: int, *, servers: int = 1) -> None:
        self.opts = opts
        self._stack = contextlib.ExitStack()
        self.tmp = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="tl-bench-")))
        database_url = opts.database_url or f"sqlite+aiosqlite:///{self.tmp}/bench.db"
        self.env = server_env(
            TL_ENV="development",
            TL_SECRET_KEY=SECRET_KEY,
            TL_DATABASE_URL=database_url,
            TL_MESSAGE_QUEUE_URL=opts.message_queue_url,
            TL_FACE_KEY=FACE_KEY,
        )
        self.servers: list[ServerProcess] = []
        self.clients: Clients | None = None
        embedded = database_url.startswith("sqlite")
        try:
            if not embedded:  # a shared database is migrated on purpose, before any server
                migrate(self.env)
            for i in range(servers):
                server = ServerProcess(opts.variant, self.env, self.tmp / f"server{i}.log")
                self.servers.append(server)
            for server in self.servers:
                server.wait_healthy()
            # (SQLite: the server has made the schema by now.)
            face = make_frames(opts.frame)[0] if opts.templates else None
            self.school: School = seed_school(database_url, students, face)
            self.admin = Admin(self.servers[0].url, self.school)
            self._stack.callback(self.admin.close)
            self.clients = Clients(
                opts.student_procs,
                Behaviour(
                    frames=make_frames(opts.frame),
                    compression=opts.client_deflate,
                    retry_delay_s=opts.retry_delay_s,
                ),
            )
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.clients is not None:
            self.clients.shutdown()
            self.clients = None
        for server in self.servers:
            server.stop()
        self.servers = []
        self._stack.close()

    @property
    def workers(self) -> Clients:
        assert self.clients is not None
        return self.clients

    def server_usage(self) -> Usage:
        return Usage([s.pid for s in self.servers])

    def client_usage(self) -> Usage:
        return Usage(self.workers.pids)

    def seats(self, lesson_id: str, students: Sequence[Member]) -> tuple[Seat, list[Seat]]:
        """The lesson's tutor on the first server; students spread over every server."""
        tutor = self.school.tutor
        tutor_seat = Seat(self.servers[0].url, "/tutor", tutor.id, tutor.token, lesson_id)
        n = len(self.servers)
        student_seats = [
            Seat(self.servers[i % n].url, "/student", m.id, m.token, lesson_id)
            for i, m in enumerate(students)
        ]
        return tutor_seat, student_seats

    def hold(self, seconds: float, *usages: Usage) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(0.5, left))
            for usage in usages:
                usage.sample()

    def check_alive(self) -> None:
        for server in self.servers:
            if server.proc.poll() is not None:
                raise RuntimeError(f"a server process died:\n{server.log_tail()}")


@dataclass(slots=True)
class Phase:
    tutors: Connected
    students: Connected
    window: Window
    server: Usage
    clients: Usage
    reports: list[Report]
    loop_lag_p99_ms: float = float("nan")
    """The worst server's event-loop lag p99 over the window (a bucket bound of its metrics)."""


def run_phase(
    bench: Bench,
    lessons: Sequence[tuple[str, Sequence[Member]]],
    *,
    warmup_s: float,
    measure_s: float,
    end: bool = True,
    group: Callable[[str], str] | None = None,
) -> Phase:
    """Connect the lessons' tutors and students, measure one window, end the lessons."""
    clients = bench.workers
    server, client = bench.server_usage(), bench.client_usage()
    tutor_seats, student_seats = [], []
    for lesson_id, members in lessons:
        tutor_seat, seats = bench.seats(lesson_id, members)
        tutor_seats.append(tutor_seat)
        student_seats.extend(seats)
    clients.reset()
    tutors, students = clients.connect(tutor_seats, student_seats)
    bench.hold(warmup_s)
    lag_before = [loop_lag_buckets(s.url) for s in bench.servers]
    server.start()
    client.start()
    start = time.monotonic()
    bench.hold(measure_s, server, client)
    end_at = time.monotonic()
    server.stop()
    client.stop()
    lag_after = [loop_lag_buckets(s.url) for s in bench.servers]
    lag = max(lag_quantile_ms(a, b) for a, b in zip(lag_before, lag_after, strict=True))
    # Answers to captures sent in the window, and their tutor updates, that come late.
    settle_s = bench.opts.settle_s
    bench.hold(min(2.0, measure_s / 2) if settle_s is None else settle_s)
    reports = clients.collect()
    bench.check_alive()
    if end:
        for lesson_id, _ in lessons:
            bench.admin.end_lesson(lesson_id)
        clients.close()
    result = window(reports, start, end_at, group)
    return Phase(tutors, students, result, server, client, reports, lag)


def cpu_ms_per_frame(phase: Phase) -> float:
    fps = phase.window.verified_per_s
    return phase.server.cpu_percent * 10 / fps if fps else float("nan")


# -- capacity -----------------------------------------------------------------------------


def capacity(
    opts: Options,
    *,
    students: int = 500,
    step_s: float = 20,
    start_rate: float = 20,
    growth: float = 1.3,
    refine: int = 2,
    max_steps: int = 16,
    limit_ms: float = 250,
    bare_s: float = 10,
) -> None:
    """Raise the prompt rate until p99 capture -> tutor passes ``limit_ms`` (or errors pass 1 %)."""
    print(describe_machine(opts))
    rows = []
    best: tuple[float, Phase] | None = None
    with Bench(opts, students) as bench:
        members = bench.school.students
        course = bench.admin.course(members, policy((2, 2), (0, 2)))
        passed, failed = 0.0, float("inf")
        rate = start_rate
        for _ in range(max_steps):
            # Two seconds between prompts per student while there are students to spare.
            n = max(2, min(students, round(2 * rate)))
            interval = n / rate
            if interval < 1:
                print(f"(stopped at {rate:.0f}/s: --students {students} cannot offer more)")
                break
            lo, hi = max(1.0, 0.75 * interval), max(1.0, 1.25 * interval)
            bench.admin.set_policy(course, policy((lo, hi), (0, interval)))
            lesson = bench.admin.live_lesson(course)
            phase = run_phase(
                bench, [(lesson, members[:n])], warmup_s=interval + 1, measure_s=step_s
            )
            w = phase.window
            p99 = quantile(w.tutor_ms, 0.99)
            ok = bool(w.tutor_ms) and p99 <= limit_ms and w.error_ratio <= 0.01
            rows.append(
                [
                    f"{rate:.0f}",
                    n,
                    f"{w.prompts / w.seconds:.1f}",
                    f"{w.verified_per_s:.1f}",
                    spread(w.ack_ms),
                    spread(w.tutor_ms),
                    f"{phase.server.cpu_percent:.0f}",
                    f"{phase.server.loop_percent:.0f}",
                    f"{phase.loop_lag_p99_ms:.0f}",
                    f"{cpu_ms_per_frame(phase):.1f}",
                    mib(phase.server.rss_peak),
                    f"{phase.clients.cpu_percent:.0f}",
                    f"{quantile(w.client_lag_ms, 0.99):.0f}",
                    "yes" if ok else "NO",
                    w.error_text(),
                ]
            )
            print(f"  step {rate:.0f}/s: {w.verified_per_s:.1f} verified/s, p99 {p99:.0f} ms")
            if ok:
                passed = max(passed, rate)
                if best is None or w.verified_per_s > best[0]:
                    best = (w.verified_per_s, phase)
            else:
                failed = min(failed, rate)
            if failed == float("inf"):
                rate *= growth
            elif passed == 0:
                rate /= 2  # even the first step was too much: come down
                if rate < 1:
                    break
            elif refine > 0:
                refine -= 1
                rate = (passed + failed) / 2
            else:
                break
    frames = make_frames(opts.frame)
    workers = opts.vision_workers
    bare_runs = {t: bare.frames_per_second(frames, threads=t, seconds=bare_s) for t in {1, workers}}
    judge = bare.frames_per_second(frames, threads=workers, seconds=bare_s, kind="judge")
    judge_procs = bare.frames_per_second_in_processes(frames, processes=workers, seconds=bare_s)
    print()
    print(
        table(
            [
                "offered/s",
                "students",
                "prompts/s",
                "verified/s",
                "capture->ack ms p50/95/99/max",
                "capture->tutor ms p50/95/99/max",
                "srv CPU%",
                "loop CPU%",
                "loop lag p99 ms",
                "CPU ms/frame",
                "srv RSS",
                "cli CPU%",
                "cli lag p99",
                "p99<=limit",
                "errors",
            ],
            rows,
        )
    )
    print()
    print(
        "bare decode+detect, same frames, same machine, nothing else running in its process: "
        + ", ".join(
            f"{t} thread{'s' * (t > 1)} {run.per_s:.0f}/s ({run.cpu_ms:.1f} CPU ms/frame)"
            for t, run in sorted(bare_runs.items())
        )
        + f"; vision.judge_frame on {workers} threads {judge.per_s:.0f}/s "
        f"({judge.cpu_ms:.1f} CPU ms/frame), in {workers} processes {judge_procs.per_s:.0f}/s "
        f"({judge_procs.cpu_ms:.1f} CPU ms/frame)"
    )
    if best is None:
        print(f"capacity: no step held p99 capture->tutor <= {limit_ms:.0f} ms")
        return
    fps, phase = best
    yardstick = bare_runs[workers]
    print(
        f"capacity: {fps:.0f} verified frames/s sustained (p99 capture->tutor "
        f"{quantile(phase.window.tutor_ms, 0.99):.0f} ms) = {fps / yardstick.per_s:.2f} x bare "
        f"decode+detect on {workers} threads ({yardstick.per_s:.0f}/s); CPU per verified frame "
        f"{cpu_ms_per_frame(phase):.1f} ms in the server vs {yardstick.cpu_ms:.1f} ms bare "
        f"(efficiency {yardstick.cpu_ms / cpu_ms_per_frame(phase):.2f}); "
        f"server CPU {phase.server.cpu_percent:.0f} % (event loop {phase.server.loop_percent:.0f} "
        f"%), clients CPU {phase.clients.cpu_percent:.0f} % (200 % = both cores)"
    )
    own = max(judge.per_s, judge_procs.per_s)
    print(
        f"end to end: {fps / own:.2f} x the project's own judge_frame on the same cores "
        f"({own:.0f}/s, the faster of threads and processes); event-loop lag p99 at that step "
        f"<= {phase.loop_lag_p99_ms:.0f} ms"
    )


# -- idle ---------------------------------------------------------------------------------


NEVER = (86_400.0, 86_400.0)


def idle(opts: Options, *, students: int = 10_000, hold_s: float = 60) -> None:
    """Hold ``students`` connected students with heartbeats and no prompts; RSS per student."""
    print(describe_machine(opts))
    with Bench(opts, students) as bench:
        members = bench.school.students
        course = bench.admin.course(members, policy(NEVER, NEVER))
        lesson = bench.admin.live_lesson(course)
        tutor_seat, seats = bench.seats(lesson, members)
        clients = bench.workers
        clients.reset()
        server, client = bench.server_usage(), bench.client_usage()
        clients.connect([tutor_seat], [])  # loads the lesson: its roster is not per connection
        bench.hold(min(3, hold_s))
        base, client_base = server.rss(), client.rss()
        _, connected = clients.connect([], seats, tick=server.sample)
        after_connect = server.rss()
        server.start()
        client.start()
        bench.hold(hold_s, server, client)
        server.stop()
        client.stop()
        reports = clients.collect()
        bench.check_alive()
        still = sum(r.connected for r in reports) - 1  # less the tutor
        dropped = sum(r.errors["dropped"] for r in reports)
        per_student = (server.rss_end - base) / max(1, connected.connected)
        client_per = (client.rss_end - client_base) / max(1, connected.connected)
        print()
        print(
            table(
                [
                    "students",
                    "connected",
                    "connect/s",
                    "connect ms p50/95/99/max",
                    "srv RSS before",
                    "after connect",
                    f"after {hold_s:.0f} s",
                    "RSS/student",
                    "srv CPU% idle",
                    "cli RSS/student",
                    "still connected",
                    "errors",
                ],
                [
                    [
                        students,
                        connected.connected,
                        f"{connected.rate:.0f}",
                        spread([s * 1000 for s in connected.seconds]),
                        mib(base),
                        mib(after_connect),
                        mib(server.rss_end),
                        f"{per_student / 1024:.1f} KB",
                        f"{server.cpu_percent:.1f}",
                        f"{client_per / 1024:.1f} KB",
                        still,
                        _errors(connected.errors, {"dropped": dropped}),
                    ]
                ],
            )
        )
        print()
        print(
            f"idle: {connected.connected} students held by one server process: "
            f"{per_student / 1024:.1f} KB RSS each, {server.cpu_percent:.1f} % CPU for heartbeats; "
            f"connected at {connected.rate:.0f}/s"
        )
        # The server disconnects every student when the lesson ends: how long that takes.
        started = time.monotonic()
        bench.admin.end_lesson(lesson)
        print(
            f"ending the lesson (the server tells and disconnects {still} students) took "
            f"{time.monotonic() - started:.1f} s"
        )
        clients.close()


def _errors(*counters: dict[str, int]) -> str:
    merged: dict[str, int] = {}
    for counter in counters:
        for k, v in counter.items():
            if v:
                merged[k] = merged.get(k, 0) + v
    return ", ".join(f"{k} {v}" for k, v in merged.items()) or "none"


# -- fan-out ------------------------------------------------------------------------------


def fanout(
    opts: Options,
    *,
    students: int = 1000,
    measure_s: float = 60,
    interval_s: tuple[float, float] = (30, 90),
    bursts: int = 3,
    warmup_s: float = 5,
) -> None:
    """One lesson, ``students`` students, one tutor: steady prompts, then "check everyone"."""
    print(describe_machine(opts))
    with Bench(opts, students) as bench:
        members = bench.school.students
        first = (0.0, interval_s[1] - interval_s[0])
        course = bench.admin.course(members, policy(interval_s, first))
        lesson = bench.admin.live_lesson(course)
        steady = run_phase(bench, [(lesson, members)], warmup_s=warmup_s, measure_s=measure_s)
        bench.admin.set_policy(course, policy(NEVER, NEVER))
        lesson = bench.admin.live_lesson(course)
        burst_rows = _bursts(bench, lesson, members, bursts)
    w = steady.window
    print()
    print(f"steady: one prompt per student every {interval_s[0]:.0f}-{interval_s[1]:.0f} s")
    print(
        table(
            [
                "students",
                "prompts/s",
                "capture->ack ms p50/95/99/max",
                "capture->tutor ms p50/95/99/max",
                "tutor updates/s",
                "srv CPU%",
                "loop CPU%",
                "cli lag p99",
                "errors",
            ],
            [
                [
                    students,
                    f"{w.prompts / w.seconds:.1f}",
                    spread(w.ack_ms),
                    spread(w.tutor_ms),
                    f"{sum(r.updates for r in steady.reports) / measure_s:.0f}",
                    f"{steady.server.cpu_percent:.0f}",
                    f"{steady.server.loop_percent:.0f}",
                    f"{quantile(w.client_lag_ms, 0.99):.0f}",
                    _errors(steady.students.errors, w.errors),
                ]
            ],
        )
    )
    print()
    print('bursts: the tutor sends check_now {} ("check everyone"); every student answers at once')
    print(
        table(
            [
                "burst",
                "issued",
                "check_now ack ms",
                "all open at tutor ms",
                "all resolved at tutor ms",
                "capture->tutor ms p50/95/99/max",
                "verified",
                "errors",
            ],
            burst_rows,
        )
    )
    print()
    print(
        f"fan-out: {students} students, one tutor: tutor update p50 "
        f"{quantile(w.tutor_ms, 0.5):.0f} ms, p99 {quantile(w.tutor_ms, 0.99):.0f} ms (steady)"
    )


def _bursts(
    bench: Bench, lesson: str, members: Sequence[Member], bursts: int
) -> list[list[object]]:
    clients = bench.workers
    tutor_seat, seats = bench.seats(lesson, members)
    clients.reset()
    clients.connect([tutor_seat], seats)
    bench.hold(1)
    rows: list[list[object]] = []
    for number in range(1, bursts + 1):
        ((sent, acked, issued),) = clients.check_now(lesson)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            bench.hold(0.25)
            tutor = clients.collect()[-1]
            done = sum(1 for (_, _, n) in tutor.resolved_seen if n == number)
            if done >= issued:
                break
        reports = clients.collect()
        w = window(reports, sent, time.monotonic())
        tutor = reports[-1]
        opened = [t for (_, _, n), t in tutor.opened_seen.items() if n == number]
        resolved = [t for (_, _, n), t in tutor.resolved_seen.items() if n == number]
        rows.append(
            [
                number,
                issued,
                f"{(acked - sent) * 1000:.0f}",
                f"{(max(opened) - sent) * 1000:.0f}" if opened else "-",
                f"{(max(resolved) - sent) * 1000:.0f} ({len(resolved)})" if resolved else "-",
                spread(w.tutor_ms),
                w.outcomes["present"],
                w.error_text(),
            ]
        )
        clients.reset()
    bench.admin.end_lesson(lesson)
    clients.close()
    return rows


# -- steady load on one or more processes (cluster) ---------------------------------------


def steady(
    opts: Options,
    *,
    students: int = 10_000,
    class_size: int = 500,
    servers: int = 1,
    interval_s: tuple[float, float] = (30, 90),
    warmup_s: float = 10,
    measure_s: float = 120,
    limit_ms: float = 250,
    title: str = "steady",
) -> None:
    """Many lessons at a realistic prompt rate, students spread over ``servers`` processes."""
    print(describe_machine(opts))
    if servers > 1:
        print(f"database {opts.database_url}, message queue {opts.message_queue_url}")
    with Bench(opts, students, servers=servers) as bench:
        members = bench.school.students
        classes = [members[i : i + class_size] for i in range(0, len(members), class_size)]
        first = (0.0, interval_s[1] - interval_s[0])
        lessons = []
        for group in classes:
            course = bench.admin.course(group, policy(interval_s, first))
            lessons.append((bench.admin.live_lesson(course), group))
        # Students alternate between the servers; every tutor is on the first one.
        where = {m.id: i % servers for _, g in lessons for i, m in enumerate(g)}

        def group(student_id: str) -> str:
            return "same process" if where[student_id] == 0 else "across processes"

        phase = run_phase(bench, lessons, warmup_s=warmup_s, measure_s=measure_s, group=group)
        per_server = [s.pid for s in bench.servers]
    w = phase.window
    print()
    print(
        table(
            [
                "students",
                "lessons",
                "servers",
                "connect/s",
                "prompts/s",
                "verified/s",
                "capture->ack ms p50/95/99/max",
                "capture->tutor ms p50/95/99/max",
                "srv CPU%",
                "loop CPU%",
                "loop lag p99 ms",
                "srv RSS",
                "cli CPU%",
                "cli lag p99",
                "errors",
            ],
            [
                [
                    phase.students.connected,
                    len(lessons),
                    len(per_server),
                    f"{phase.students.rate:.0f}",
                    f"{w.prompts / w.seconds:.1f}",
                    f"{w.verified_per_s:.1f}",
                    spread(w.ack_ms),
                    spread(w.tutor_ms),
                    f"{phase.server.cpu_percent:.0f}",
                    f"{phase.server.loop_percent:.0f}",
                    f"{phase.loop_lag_p99_ms:.0f}",
                    mib(phase.server.rss_peak),
                    f"{phase.clients.cpu_percent:.0f}",
                    f"{quantile(w.client_lag_ms, 0.99):.0f}",
                    _errors(phase.students.errors, w.errors),
                ]
            ],
        )
    )
    p99 = quantile(w.tutor_ms, 0.99)
    verdict = "within" if p99 <= limit_ms and w.error_ratio <= 0.01 else "NOT within"
    if servers > 1:
        print()
        for name, values in sorted(w.tutor_ms_by.items()):
            print(f"capture->tutor, student and tutor {name}: {spread(values)} ms")
    print()
    print(
        f"{title}: {phase.students.connected} students on {len(per_server)} process(es), "
        f"p99 capture->tutor {p99:.0f} ms: {verdict} {limit_ms:.0f} ms"
    )


def with_variant(opts: Options, variant: Variant) -> Options:
    return replace(opts, variant=variant)


@contextlib.contextmanager
def cluster_services(opts: Options) -> Iterator[Options]:
    """PostgreSQL and Redis: the given URLs, or throwaway local ones."""
    from bench.servers import temporary_postgres, temporary_redis

    with contextlib.ExitStack() as stack:
        database_url = opts.database_url or os.environ.get("TL_DATABASE_URL")
        queue_url = opts.message_queue_url or os.environ.get("TL_MESSAGE_QUEUE_URL")
        if not database_url:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tl-pg-")))
            database_url = stack.enter_context(temporary_postgres(tmp))
        if not queue_url:
            queue_url = stack.enter_context(temporary_redis())
        yield replace(opts, database_url=database_url, message_queue_url=queue_url)
