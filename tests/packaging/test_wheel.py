"""The wheel works on its own: built from the project's files, installed (not editable) into a
fresh virtual environment outside the source tree, it migrates and serves the pages, the static
files, the Socket.IO client, the API docs and health.

The fresh environment takes the project's dependencies from the running one (a path in a .pth
file, which adds the directory and nothing else: the editable install's import hook there is
not run), so the test costs seconds, not a full install; what it imports from the project comes
from the wheel alone, and the test checks that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
import venv
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.ports import free_port
from testkit.timing import timeout

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "web_client" / "node_modules" / "socket.io-client" / "dist"
# What a wheel is built from: the project's files (the packages pyproject.toml ships), not the
# tests or the benchmarks.
_SHIPPED = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
SOURCES = ["pyproject.toml", "README.md", *(p.rstrip("*") for p in _SHIPPED["find"]["include"])]


def _copy_sources(dest: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    # Of npm's packages, only the built client is shipped.
    shutil.copytree(VENDOR, dest / "web_client" / "node_modules" / "socket.io-client" / "dist")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed; yields its bin directory."""
    if not (VENDOR / "socket.io.esm.min.js").is_file():
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("socket.io-client is not installed (make test runs npm ci)")
        pytest.skip("socket.io-client is not installed (run `npm ci` in web_client/)")
    base = tmp_path_factory.mktemp("wheel")
    src, wheels, env = base / "src", base / "dist", base / "venv"
    src.mkdir()
    _copy_sources(src)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)],
        check=True,
        cwd=src,
        timeout=timeout(300),
    )
    (wheel,) = wheels.glob("trust_lesson-*.whl")
    venv.EnvBuilder(with_pip=False).create(env)
    python = env / "bin" / "python"
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        check=True,
        cwd=base,
        timeout=timeout(300),
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    yield env / "bin"
    shutil.rmtree(base, ignore_errors=True)


def _env(tmp: Path) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TL_")}
    environ.pop("PYTHONPATH", None)
    return environ | {
        "TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'wheel.db'}",
        "TL_VISION_WORKERS": "1",
    }


def test_the_installed_wheel_migrates_and_serves(installed: Path, tmp_path: Path) -> None:
    env = _env(tmp_path)
    where = subprocess.run(
        [str(installed / "python"), "-c", "import server, web_client; print(server.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(installed.parent) in where, where  # the wheel's copy, not the clone's

    migrated = subprocess.run(
        [str(installed / "trust-lesson"), "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=timeout(120),
    )
    assert migrated.returncode == 0, migrated.stderr
    assert "schema is up to date" in migrated.stdout

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(installed / "trust-lesson"), "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout(90)
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                health = httpx.get(f"{url}/api/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert health.status_code == 200, health.text
        assert health.json()["database"] == "ok"

        login = httpx.get(f"{url}/", timeout=5)
        assert login.status_code == 200
        assert "<html" in login.text.lower()
        script = httpx.get(f"{url}/static/js/login.js", timeout=5)
        assert script.status_code == 200
        assert "import" in script.text
        client = httpx.get(f"{url}/static/vendor/socket.io.esm.min.js", timeout=5)
        assert client.status_code == 200
        assert len(client.content) > 10_000
        docs = httpx.get(f"{url}/api/docs", timeout=5)
        assert docs.status_code == 200
        assert httpx.get(f"{url}/api/docs/apidocs.js", timeout=5).status_code == 200
        assert httpx.get(f"{url}/api/openapi.json", timeout=5).json()["openapi"].startswith("3.")
        # An Engine.IO handshake: the Socket.IO server answers from the installed package.
        handshake = httpx.get(f"{url}/socket.io/?EIO=4&transport=polling", timeout=5)
        assert handshake.status_code == 200
        assert '"sid"' in handshake.text
    finally:
        proc.terminate()
        proc.wait(timeout=timeout(30))


def test_the_wheel_lists_its_page_files(installed: Path) -> None:
    (record,) = installed.parent.glob("lib/python*/site-packages/trust_lesson-*.dist-info/RECORD")
    files = {line.split(",")[0] for line in record.read_text().splitlines()}
    for path in (
        "web_client/pages/student.html",
        "web_client/static/css/app.css",
        "web_client/node_modules/socket.io-client/dist/socket.io.esm.min.js",
        "server/apidocs/index.html",
        "storage/migrations/env.py",
        "storage/migrations/script.py.mako",
    ):
        assert path in files
    assert any(f.startswith("storage/migrations/versions/") for f in files)
    assert not [f for f in files if f.startswith(("tests/", "bench/"))]
