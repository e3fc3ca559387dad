"""No silent default signing key: the review forged an admin token for a server started as the
Procfile started it, with the key printed in the source."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest

from server.security import AUDIENCE, ISSUER
from server.token_secret import UnsafeKey, key_path, token_secret, weakness
from testkit.api import Api
from testkit.timing import timeout
from tests.security.serving import serving

ROOT = Path(__file__).resolve().parents[2]
OLD_DEFAULT = "development-only-secret-never-use-in-production"
STRONG = "Zq3vV0m2r8kX1pN6tY4cW9bE7hJ5sL0aF2dG8uR3iO6yT1eQ"


def cli(
    args: list[str], tmp_path: Path, wait: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``trust-lesson`` as a person runs it; a server that starts instead of refusing is
    stopped at ``wait`` seconds and counts as not refused."""
    environ = (
        {k: v for k, v in os.environ.items() if not k.startswith("TL_")}
        | {"TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"}
        | env
    )
    try:
        return subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            capture_output=True,
            text=True,
            env=environ,
            cwd=tmp_path,
            timeout=timeout(wait),
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"trust-lesson {' '.join(args)} started serving instead of refusing")


def forged_admin(key: str, user_id: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "role": "admin",
        "ver": 0,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, key, algorithm="HS256")


async def test_with_no_key_set_the_server_makes_one_beside_the_database_and_keeps_it(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, secret_key=None) as running:
        api = Api(running.url)
        try:
            admin = await api.admin_token()
            me = await api.call("GET", "/api/me", admin)
            # The key once printed in the source signs nothing here.
            forged = forged_admin(OLD_DEFAULT, me["id"])
            r = await api.http.get("/api/me", headers={"authorization": f"Bearer {forged}"})
            assert r.status_code == 401
        finally:
            await api.close()
    key_file = key_path(tmp_path / "security.db")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert weakness(key_file.read_text().strip()) is None
    # After a restart the same key signs: the signed-in stay signed in.
    with serving(tmp_path, secret_key=None) as running:
        api = Api(running.url)
        try:
            assert (await api.call("GET", "/api/me", admin))["id"] == me["id"]
        finally:
            await api.close()


def test_a_key_file_others_may_read_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "school.db"
    url = f"sqlite+aiosqlite:///{database}"
    first = token_secret(None, url)
    key_path(database).chmod(0o644)
    with pytest.raises(UnsafeKey, match="chmod 600"):
        token_secret(None, url)
    key_path(database).chmod(0o600)
    assert token_secret(None, url) == first


def test_a_shared_database_has_no_default_key() -> None:
    with pytest.raises(UnsafeKey, match="TL_SECRET_KEY"):
        token_secret(None, "postgresql+asyncpg://trust@db.internal/trust")
    assert token_secret(STRONG, "postgresql+asyncpg://trust@db.internal/trust") == STRONG


@pytest.mark.parametrize(
    "key",
    [OLD_DEFAULT, "a" * 32, "ab" * 40, "correct horse battery staple"],
    ids=["the-old-default", "32-times-a", "a-pattern", "a-phrase"],
)
def test_a_known_or_weak_key_is_refused_on_a_public_address_in_any_env(
    tmp_path: Path, key: str
) -> None:
    for env in ("development", "production"):
        result = cli(
            ["serve", "--host", "0.0.0.0", "--port", "0"], tmp_path, TL_SECRET_KEY=key, TL_ENV=env
        )
        assert result.returncode == 2, result.stderr
        assert "TL_SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_key_even_on_loopback(tmp_path: Path) -> None:
    result = cli(["migrate"], tmp_path, TL_SECRET_KEY="a" * 32, TL_ENV="production")
    assert result.returncode == 2
    assert "TL_SECRET_KEY" in result.stderr and "randomness" in result.stderr


def test_the_procfile_serves_with_production_settings(tmp_path: Path) -> None:
    line = (ROOT / "Procfile").read_text().strip()
    assert line.startswith("web:")
    # Production refuses to start without the keys it requires (here the face key): proof the
    # settings are production's, without leaving a server running.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TL_")} | {
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PORT": "0",
        "TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'web.db'}",
    }
    try:
        done = subprocess.run(
            ["sh", "-c", line.removeprefix("web:").strip()],
            env=environ,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout(60),
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the Procfile's command served with development settings")
    assert done.returncode == 2, done.stderr
    assert "must be set in production" in done.stderr


def test_the_demo_refuses_a_database_with_users_of_its_own(tmp_path: Path) -> None:
    # A school's database: its admin is made at the first start.
    with serving(tmp_path, secret_key=STRONG, admin_email="head@school.example"):
        pass
    school = {"TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'security.db'}"}

    refused = cli(["demo"], tmp_path, **school)
    assert refused.returncode == 2
    assert "refusing to seed the demo" in refused.stderr
    skipped = cli(["demo", "--if-empty"], tmp_path, **school)
    assert skipped.returncode == 0
    assert "demo.test" not in skipped.stdout
    # ...while an empty database (cli.db) still gets the demo.
    fresh = cli(["demo"], tmp_path)
    assert fresh.returncode == 0, fresh.stderr
    assert "admin@demo.test" in fresh.stdout
