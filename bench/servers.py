"""Server processes for the benchmarks, what they cost (from /proc), and their PostgreSQL and Redis.

A benchmark starts the real server as a subprocess, exactly as shipped (``trust-lesson serve``)
or through uvicorn's own command line with other flags (``--ws wsproto``,
``--ws-per-message-deflate false``, ``--loop asyncio``...) against ``bench.asgi:app``, with
``TL_*`` settings in its environment. Its CPU time and RSS come from ``/proc/<pid>``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.settings import Settings
from testkit.ports import free_port
from testkit.processes import ROOT

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Variant:
    """How a server process is started: the code is always the same, the flags differ.

    ``uvicorn_args=None`` is ``trust-lesson serve`` as shipped (uvloop, httptools, uvicorn's
    websockets-sansio protocol made leaner, no per-message deflate, no WebSocket-level pings;
    INFO logs: `server.serving.uvicorn_config`). A tuple runs ``python -m uvicorn --factory
    bench.asgi:app`` with uvicorn's defaults and those extra flags instead.
    """

    name: str = "shipped"
    uvicorn_args: tuple[str, ...] | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        parts = ["trust-lesson serve" if self.uvicorn_args is None else "uvicorn"]
        parts += self.uvicorn_args or ()
        parts += [f"{k}={v}" for k, v in sorted(self.env.items())]
        return " ".join(parts)


def parse_variant(spec: str) -> Variant:
    """``name=...;uvicorn=--ws wsproto --loop asyncio;TL_VISION_WORKERS=3`` (parts optional).

    ``uvicorn=`` with nothing after it runs uvicorn directly with its defaults.
    """
    name, uvicorn_args, env = "", None, {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        key, _, value = part.partition("=")
        if key == "name":
            name = value
        elif key == "uvicorn":
            uvicorn_args = tuple(value.split())
        elif key.startswith(("TL_", "TL_BENCH_")):
            env[key] = value
        else:
            raise ValueError(f"variant part {part!r}: expected name=, uvicorn= or TL_*=")
    variant = Variant("", uvicorn_args, env)
    return Variant(name or variant.describe(), uvicorn_args, env)


class ServerProcess:
    """One server process on a free port; ``stop()`` ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, variant: Variant, env: Mapping[str, str], log_path: Path) -> None:
        """``env`` is the whole environment of the process (see `server_env`)."""
        self.variant = variant
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        if variant.uvicorn_args is None:
            # As shipped: the default log level (info), to the log file.
            argv = ["-m", "server.cli", "serve", "--port", str(self.port)]
        else:
            argv = ["-m", "uvicorn", "--factory", "bench.asgi:app", "--port", str(self.port)]
            # The server's own message limit, as `trust-lesson serve` sets it.
            argv += ["--ws-max-size", str(Settings().max_socket_message_bytes)]
            argv += ["--log-level", "warning", "--no-access-log", *variant.uvicorn_args]
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=ROOT,
            env={**env, **variant.env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"the server exited ({code}):\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the server did not become healthy:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


# Settings the benchmark decides itself; other TL_* variables (TL_VISION_WORKERS...) pass through.
_OWN_SETTINGS = ("TL_DATABASE_URL", "TL_MESSAGE_QUEUE_URL", "TL_SECRET_KEY", "TL_ENV")
_OWN_SETTINGS += ("TL_ADMIN_EMAIL", "TL_ADMIN_PASSWORD", "TL_FACE_KEY")


def server_env(**settings: str | None) -> dict[str, str]:
    """This process's environment less the settings the benchmark owns, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in _OWN_SETTINGS}
    env.update({k: v for k, v in settings.items() if v is not None})
    return env


def cpu_seconds(pid: int, *, main_thread: bool = False) -> float:
    """User + system CPU time of a process, all its threads (or its main thread), so far; 0 for
    a process that has ended (a worker replaced during the window)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat" if main_thread else f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs (a server's vision and identity workers)."""
    found: list[int] = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return found
    for child in children:
        found += [child, *descendants(child)]
    return found


class Usage:
    """CPU % (100 = one core) and RSS of a group of processes and the processes they started
    (a server's worker processes), over a window.

    ``loop_percent`` is the busiest main thread's share among the group's own processes: in the
    server, the event loop (vision, identity and aiosqlite work on other threads or processes),
    which can use at most one core.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.roots = list(pids)
        self.pids = [*self.roots, *(c for pid in self.roots for c in descendants(pid))]
        self._start_cpu = 0.0
        self._start_loop: list[float] = []
        self._start = 0.0
        self.cpu_percent = 0.0
        self.loop_percent = 0.0
        self.rss_peak = 0
        self.rss_end = 0

    def total_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def _loops(self) -> list[float]:
        return [cpu_seconds(pid, main_thread=True) for pid in self.roots]

    def rss(self) -> int:
        return sum(rss_bytes(pid) for pid in self.pids)

    def start(self) -> None:
        self._start, self._start_cpu = time.monotonic(), self.total_cpu()
        self._start_loop = self._loops()
        self.rss_peak = self.rss()

    def sample(self) -> None:
        self.rss_peak = max(self.rss_peak, self.rss())

    def stop(self) -> None:
        elapsed = time.monotonic() - self._start
        self.cpu_percent = (self.total_cpu() - self._start_cpu) / max(elapsed, 1e-9) * 100
        loops = [b - a for a, b in zip(self._start_loop, self._loops(), strict=True)]
        self.loop_percent = max(loops, default=0.0) / max(elapsed, 1e-9) * 100
        self.rss_end = self.rss()
        self.rss_peak = max(self.rss_peak, self.rss_end)


# -- PostgreSQL and Redis for the cluster scenario ------------------------------------------


@contextlib.contextmanager
def temporary_postgres(workdir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free port; yields its asyncpg URL."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("no PostgreSQL here (initdb, pg_ctl): set TL_DATABASE_URL instead")
    data = workdir / "pgdata"
    data.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(workdir, "postgres")
        shutil.chown(data, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "bench", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    # PostgreSQL's own defaults otherwise (fsync and synchronous commits on).
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c max_connections=300"
    log = str(workdir / "pg.log")
    start = [*run_as, pg_ctl, "-D", str(data), "-l", log, "-o", options, "-w", "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "bench", "-d", "postgres"]
        subprocess.run(
            [*psql, "-q", "-c", "CREATE DATABASE bench"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+asyncpg://bench@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
        )


@contextlib.contextmanager
def temporary_redis() -> Iterator[str]:
    """A throwaway redis-server on a free port, nothing saved; yields its URL."""
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("no redis-server here: set TL_MESSAGE_QUEUE_URL instead")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


LAG_METRIC = "trust_lesson_event_loop_lag_seconds_bucket"


def loop_lag_buckets(url: str) -> dict[float, float]:
    """The server's event-loop lag histogram (``/metrics``): cumulative count per bucket bound
    in seconds. The server samples the lag with a timer due every 50 ms."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        if line.startswith(LAG_METRIC + "{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float(bound)] = float(line.rsplit(" ", 1)[1])
    return buckets


def lag_quantile_ms(
    before: Mapping[float, float], after: Mapping[float, float], q: float = 0.99
) -> float:
    """The ``q`` quantile of the lag samples taken between two readings, as the upper bound of
    the bucket it falls in (ms; inf past the last bound, nan when there were no samples)."""
    deltas = sorted((bound, after[bound] - before.get(bound, 0.0)) for bound in after)
    total = deltas[-1][1] if deltas else 0.0
    if total <= 0:
        return float("nan")
    for bound, count in deltas:
        if count >= q * total:
            return bound * 1000
    return float("inf")
