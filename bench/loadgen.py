"""Load generator for Trust Lesson Live: simulated students and tutors against real servers.

Each scenario starts the server as a subprocess on a fresh database, builds a school, connects
students over WebSocket-only Socket.IO from several client processes, answers every prompt with
a real face JPEG, watches with tutors, and prints a table:

    python -m bench.loadgen capacity   # raise the prompt rate until p99 capture->tutor > 250 ms
    python -m bench.loadgen idle       # 10,000 idle students: RSS per connected student
    python -m bench.loadgen fanout     # 1,000 students in one lesson, one tutor
    python -m bench.loadgen cluster    # two processes + PostgreSQL + Redis, 10,000 students
    python -m bench.loadgen steady     # the same on one process (SQLite), or any mix
    python -m bench.loadgen tuning     # server flags and client choices, side by side

Server flags without code changes: ``--variant "uvicorn=--ws wsproto --loop asyncio"`` runs
``python -m uvicorn --factory bench.asgi:app`` with those flags; ``--variant
"TL_VISION_WORKERS=3"`` sets a setting (see bench/servers.py).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import sys

from bench import scenarios, tuning
from bench.servers import parse_variant


def _help(text: str | None) -> str:
    """A docstring as argparse help, which formats it with %."""
    return (text or "").replace("%", "%%")


def _pair(text: str) -> tuple[float, float]:
    low, _, high = text.partition(",")
    return float(low), float(high or low)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loadgen", description=__doc__.split("\n\n")[0]
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--variant", default="", help='server start-up, e.g. "uvicorn=--ws wsproto;TL_X=1"'
    )
    common.add_argument("--client-procs", type=int, default=2, help="student client processes")
    common.add_argument("--frame", choices=["640", "320", "mixed"], default="640")
    common.add_argument(
        "--no-client-deflate",
        action="store_true",
        help="do not offer permessage-deflate (browsers always offer it)",
    )
    common.add_argument(
        "--retry-delay", type=float, default=1.5, help="seconds before a frame is sent again"
    )
    common.add_argument(
        "--settle-seconds",
        type=float,
        default=None,
        help="after each window, how long late answers and tutor updates still count "
        "(default 2, or half the window)",
    )
    common.add_argument(
        "--templates",
        action="store_true",
        help="every student has an approved face template, so identity is compared at the "
        "course policy (default: sampled)",
    )
    sub = parser.add_subparsers(dest="scenario", required=True)

    cap = sub.add_parser("capacity", parents=[common], help=_help(scenarios.capacity.__doc__))
    cap.add_argument("--students", type=int, default=500)
    cap.add_argument("--step-seconds", type=float, default=20)
    cap.add_argument("--start-rate", type=float, default=20, help="prompts/s of the first step")
    cap.add_argument("--growth", type=float, default=1.3)
    cap.add_argument("--refine", type=int, default=2, help="bisection steps after the first miss")
    cap.add_argument("--max-steps", type=int, default=16)
    cap.add_argument("--limit-ms", type=float, default=250)
    cap.add_argument("--bare-seconds", type=float, default=10)

    idle = sub.add_parser("idle", parents=[common], help=_help(scenarios.idle.__doc__))
    idle.add_argument("--students", type=int, default=10_000)
    idle.add_argument("--hold-seconds", type=float, default=60)

    fan = sub.add_parser("fanout", parents=[common], help=_help(scenarios.fanout.__doc__))
    fan.add_argument("--students", type=int, default=1000)
    fan.add_argument("--measure-seconds", type=float, default=60)
    fan.add_argument("--interval", type=_pair, default=(30.0, 90.0), help="seconds: MIN,MAX")
    fan.add_argument("--bursts", type=int, default=3)
    fan.add_argument("--warmup-seconds", type=float, default=5)

    for name in ("steady", "cluster"):
        run = sub.add_parser(name, parents=[common], help=_help(scenarios.steady.__doc__))
        run.add_argument("--students", type=int, default=10_000)
        run.add_argument("--class-size", type=int, default=500)
        run.add_argument("--servers", type=int, default=2 if name == "cluster" else 1)
        run.add_argument("--interval", type=_pair, default=(30.0, 90.0), help="seconds: MIN,MAX")
        run.add_argument("--warmup-seconds", type=float, default=10)
        run.add_argument("--measure-seconds", type=float, default=120)
        run.add_argument("--limit-ms", type=float, default=250)
        run.add_argument(
            "--database-url",
            help="an empty database (default: SQLite, or a fresh PostgreSQL for cluster)",
        )
        run.add_argument("--message-queue-url", help="redis://... (cluster: a fresh redis-server)")

    tune = sub.add_parser("tuning", parents=[common], help=_help(tuning.compare.__doc__))
    tune.add_argument("--students", type=int, default=300, help="saturating clients")
    tune.add_argument("--measure-seconds", type=float, default=15)
    tune.add_argument("--idle-students", type=int, default=2000)
    tune.add_argument("--repeat", type=int, default=1, help="rounds over every variant")
    tune.add_argument(
        "--only", action="append", default=[], help="variant names to run (default: all)"
    )

    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    # 10,000 sockets: the servers started from here inherit the raised limit.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    variant = parse_variant(args.variant) if args.variant else scenarios.Options().variant
    workers = int(variant.env.get("TL_VISION_WORKERS", os.environ.get("TL_VISION_WORKERS", 2)))
    opts = scenarios.Options(
        variant=variant,
        student_procs=args.client_procs,
        frame=args.frame,
        client_deflate=not args.no_client_deflate,
        retry_delay_s=args.retry_delay,
        vision_workers=workers,
        settle_s=args.settle_seconds,
        templates=args.templates,
    )
    if args.scenario == "capacity":
        scenarios.capacity(
            opts,
            students=args.students,
            step_s=args.step_seconds,
            start_rate=args.start_rate,
            growth=args.growth,
            refine=args.refine,
            max_steps=args.max_steps,
            limit_ms=args.limit_ms,
            bare_s=args.bare_seconds,
        )
    elif args.scenario == "idle":
        scenarios.idle(opts, students=args.students, hold_s=args.hold_seconds)
    elif args.scenario == "fanout":
        scenarios.fanout(
            opts,
            students=args.students,
            measure_s=args.measure_seconds,
            interval_s=args.interval,
            bursts=args.bursts,
            warmup_s=args.warmup_seconds,
        )
    elif args.scenario in ("steady", "cluster"):
        opts = scenarios.replace(
            opts, database_url=args.database_url, message_queue_url=args.message_queue_url
        )
        kwargs = dict(
            students=args.students,
            class_size=args.class_size,
            servers=args.servers,
            interval_s=args.interval,
            warmup_s=args.warmup_seconds,
            measure_s=args.measure_seconds,
            limit_ms=args.limit_ms,
            title=args.scenario,
        )
        if args.scenario == "cluster":
            with scenarios.cluster_services(opts) as cluster_opts:
                scenarios.steady(cluster_opts, **kwargs)  # type: ignore[arg-type]
        else:
            scenarios.steady(opts, **kwargs)  # type: ignore[arg-type]
    else:
        tuning.compare(
            opts,
            students=args.students,
            measure_s=args.measure_seconds,
            idle_students=args.idle_students,
            repeat=args.repeat,
            only=args.only,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
