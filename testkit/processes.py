"""``trust-lesson serve`` in its own process, as in production: for the scale-out and restart
tests, and for measures that need the server's own event loop (uvloop) to themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from testkit.ports import free_port
from testkit.server import ADMIN_EMAIL, ADMIN_PASSWORD, SECRET_KEY
from testkit.timing import timeout

ROOT = Path(__file__).resolve().parent.parent
SERVE = ("-m", "server.cli", "serve")


def admin_env(database_url: str) -> dict[str, str]:
    """The settings of a server process on ``database_url``, with the tests' administrator."""
    return {
        "TL_DATABASE_URL": database_url,
        # Processes sharing a database share the secret that signs tokens.
        "TL_SECRET_KEY": SECRET_KEY,
        "TL_IDENTITY_WORKERS": "0",
        "TL_ADMIN_EMAIL": ADMIN_EMAIL,
        "TL_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


@dataclass
class ServerProcess:
    """A server process on a free port, ``env`` added to this process's environment; its
    output goes to ``log``. ``command`` is what follows ``python``; ``--port`` and ``args``
    come after it."""

    env: Mapping[str, str]
    log: Path
    command: Sequence[str] = SERVE
    args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        """Start it on a new free port and wait until it answers /api/health."""
        self.port = free_port()
        argv = [sys.executable, *self.command, "--port", str(self.port), *self.args]
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                argv,
                env={**os.environ, **self.env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout(90)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_tail()}")
            if healthy(self.url):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, within: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout(within))

    def stop(self) -> None:
        """SIGINT, as Ctrl-C; SIGKILL if it has not exited in 30 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout(30))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def run_module(module: str, *args: str, within: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m module args`` from the repository root, as its README command runs it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout(within),
        check=False,
    )


def module_output(module: str, *args: str, within: float = 180) -> str:
    """What ``python -m module args`` prints, once it has exited 0."""
    done = run_module(module, *args, within=within)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout
