"""Client addresses behind a proxy: X-Forwarded-For is believed only from TL_TRUSTED_PROXIES.

Trusting too little: behind a proxy on another host every client is the proxy, and one
person's failed sign-ins lock out everyone. Trusting too much (``*``): any client names its own
address in the header and escapes the per-address limit. Both directions, on a real server.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from testkit.timing import timeout
from tests.security.serving import Running, serving

PER_ADDRESS = 3
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


@pytest.fixture(scope="module")
def behind_a_remote_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    # The proxy is 10.1.2.3: the test client (127.0.0.1) is not it.
    with serving(
        tmp_path_factory.mktemp("remote-proxy"),
        trusted_proxies="10.1.2.3",
        login_max_failures_per_address=PER_ADDRESS,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def behind_a_local_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(
        tmp_path_factory.mktemp("local-proxy"),
        trusted_proxies="127.0.0.0/8, ::1",
        login_max_failures_per_address=PER_ADDRESS,
    ) as running:
        yield running


def bad_sign_ins(url: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=url, timeout=timeout(30)) as http:
        return [
            http.post(
                "/api/auth/login",
                json={"email": f"nobody-{i}@test.example", "password": "wrong"},
                headers={"x-forwarded-for": address},
            ).status_code
            for i, address in enumerate(forwarded_for)
        ]


def test_a_client_that_is_not_a_trusted_proxy_cannot_pick_its_address(
    behind_a_remote_proxy: Running,
) -> None:
    invented = [next(_addresses) for _ in range(PER_ADDRESS + 2)]
    answers = bad_sign_ins(behind_a_remote_proxy.url, invented)
    # All from 127.0.0.1, whatever the header says: the limit for one address applies.
    assert answers == [401] * PER_ADDRESS + [429, 429]


def test_a_trusted_proxy_gives_each_client_its_own_budget(behind_a_local_proxy: Running) -> None:
    clients = [next(_addresses) for _ in range(PER_ADDRESS + 2)]
    # One bad sign-in from each of several clients behind the proxy: nobody is limited...
    assert bad_sign_ins(behind_a_local_proxy.url, clients) == [401] * len(clients)
    # ...and one client's failures limit that client only.
    noisy = next(_addresses)
    assert bad_sign_ins(behind_a_local_proxy.url, [noisy] * (PER_ADDRESS + 1))[-1] == 429
    assert bad_sign_ins(behind_a_local_proxy.url, [next(_addresses)]) == [401]


def test_a_malformed_proxy_list_is_named_at_start(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TL_")} | {
        "TL_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        "TL_TRUSTED_PROXIES": "10.0.0.1, proxy.internal",
    }
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "migrate"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=False,
    )
    assert done.returncode == 2
    assert "TL_TRUSTED_PROXIES" in done.stderr and "proxy.internal" in done.stderr
