"""Resources a fault test starts for itself, so it can kill and restart them without touching
the machine's shared PostgreSQL and Redis: a private redis-server, a private PostgreSQL
cluster in a temporary directory, and server processes started together (optionally with a
clock set off by Debian's faketime).

Without a binary a test needs, it skips with the reason, except under CI (CI=true), where it
fails: .ci/run installs them.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import httpx
import pytest

from testkit.ports import free_port
from testkit.processes import ROOT
from testkit.timing import timeout


def need(what: str, found: object) -> None:
    if found:
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{what} is required under CI (.ci/run installs it)")
    pytest.skip(f"{what} is not installed here")


def _wait(check: object, what: str, within: float) -> None:
    deadline = time.monotonic() + timeout(within)
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {within} s")


# -- Redis ------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own on a free port; killed and started again on that port."""

    def __init__(self, workdir: Path) -> None:
        need("redis-server", shutil.which("redis-server"))
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        args += ["--enable-debug-command", "local"]  # DEBUG SLEEP: a Redis that answers late
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: self.cli("PING") == "PONG", "redis-server", 10)

    def kill(self) -> None:
        """As a crash: SIGKILL, no goodbye to its clients."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cli(self, *command: str) -> str:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), *command],
            capture_output=True,
            text=True,
            timeout=timeout(10),
        )
        return done.stdout.strip()

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


# -- PostgreSQL -------------------------------------------------------------------------------


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory, trust auth),
    which the test can restart for real. PostgreSQL refuses to run as root: as root, it runs
    as the `postgres` user."""

    def __init__(self) -> None:
        binaries = sorted(glob("/usr/lib/postgresql/*/bin"))
        need("PostgreSQL's initdb and pg_ctl", binaries)
        self.bin = Path(binaries[-1])
        self.port = free_port()
        # Its own directory under /tmp: the postgres user cannot reach into pytest's (0700).
        self.workdir = Path(tempfile.mkdtemp(prefix="tl-test-pg-"))
        self.data = self.workdir / "data"
        self.log = self.workdir / "postgres.log"
        self._user: list[str] = []
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                need("a `postgres` user to run PostgreSQL as (root cannot)", False)
            need("runuser", shutil.which("runuser"))
            self._user = ["runuser", "-u", "postgres", "--"]
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._user, *args],
            capture_output=True,
            text=True,
            timeout=timeout(120),
            cwd=self.workdir,
        )
        assert done.returncode == 0, done.stderr + done.stdout

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-N"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                  "-o", options, "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def __enter__(self) -> PrivatePostgres:
        self.init()
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(
            [*self._user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "stop"],
            capture_output=True,
            timeout=timeout(60),
            cwd=self.workdir,
        )  # fmt: skip
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- server processes -------------------------------------------------------------------------


@dataclass
class Server:
    """`trust-lesson serve` in its own process; launched and awaited separately, so several
    can start at the same moment. ``prefix`` runs it under another command (faketime)."""

    env: dict[str, str]
    log: Path
    prefix: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    *self.prefix,
                    sys.executable,
                    "-m",
                    "server.cli",
                    "serve",
                    "--port",
                    str(self.port),
                ],
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def ready(self, within: float = 90) -> Server:
        """Wait until it serves (its health answers at all: 200, or 503 naming a part)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout(within)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=2).status_code in (200, 503):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.url}/api/health", timeout=timeout(5))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout(30))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def servers(envs: list[dict[str, str]], tmp: Path, prefixes: list[list[str]] | None = None
            ) -> Iterator[list[Server]]:  # fmt: skip
    """Servers launched all at once, then awaited; stopped afterwards."""
    started = [
        Server(env, tmp / f"server-{i}.log", prefix=(prefixes or [[]] * len(envs))[i])
        for i, env in enumerate(envs)
    ]
    try:
        for server in started:
            server.launch()
        for server in started:
            server.ready()
        yield started
    finally:
        for server in started:
            server.stop()
