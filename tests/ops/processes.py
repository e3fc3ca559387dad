"""`trust-lesson` as an operator runs it: the installed command in its own process, from a
working directory of its own, with only the TL_ variables the test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from testkit.ports import free_port
from testkit.timing import timeout


def environ(tmp: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TL_")}
    return (
        base
        | {"TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'ops.db'}", "TL_IDENTITY_WORKERS": "0"}
        | env
    )


def run(args: list[str], tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        capture_output=True,
        text=True,
        env=environ(tmp, **env),
        cwd=tmp,
        timeout=timeout(180),
        check=False,
    )


@contextmanager
def serving(tmp: Path, *args: str, **env: str) -> Iterator[tuple[str, Path]]:
    """`trust-lesson serve` until the block ends; yields its URL and its output file (stdout
    and stderr together, as a terminal shows them)."""
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args],
            env=environ(tmp, **{"TL_VISION_WORKERS": "1", **env}),
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout(90)
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        proc.wait(timeout=timeout(30))
