"""The key that signs tokens: where it comes from, and whether it may be used.

- ``TL_SECRET_KEY`` when set (every process of a deployment must share it);
- otherwise, with a SQLite file, a random key made on first start and kept beside the file
  (``<database>.token-secret``, readable by its owner only), so tokens outlive a restart;
- otherwise (in-memory SQLite) a random key for this process;
- a shared database (PostgreSQL) has no default: its processes must agree on the key.

A key anyone could know (the old built-in default, the benchmarks') or one with little
randomness is refused on any address but loopback, and in production anywhere. Randomness is
estimated, not counted: 32 times "a" is long and worthless.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import os
import secrets
import stat
import zlib
from collections import Counter
from pathlib import Path

from sqlalchemy.engine import make_url

from server.errors import ServerError

logger = logging.getLogger(__name__)

MIN_BITS = 128
GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
# Published in this repository at one time or another: signing with them is signing in public.
KNOWN_KEYS = frozenset(
    {
        "development-only-secret-never-use-in-production",
        "bench-secret-key-0123456789-0123456789-abcdef",
        "another-secret-of-at-least-32-chars!",
        "changeme",
        "secret",
    }
)


class UnsafeKey(ServerError):
    """The signing key is missing, public, guessable or exposed."""


def estimated_bits(key: str) -> float:
    """A cautious estimate of the key's randomness: the lesser of its characters' entropy
    and what is left of it once compressed (a repeated pattern has little of either)."""
    if not key:
        return 0.0
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    # zlib adds about 8 bytes of framing; each remaining byte carries at most 6 bits of a
    # printable key's randomness.
    compressed = max(0, len(zlib.compress(key.encode(), 9)) - 8) * 6
    return min(per_char * len(key), float(compressed))


def weakness(key: str) -> str | None:
    """Why ``key`` must not sign tokens for others, or None."""
    if key.strip().lower() in KNOWN_KEYS or key in KNOWN_KEYS:
        return "it is published (a built-in or example value)"
    bits = estimated_bits(key)
    if bits < MIN_BITS:
        return f"it has about {bits:.0f} bits of randomness, fewer than {MIN_BITS}"
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_for_serving(key: str, *, host: str, production: bool) -> None:
    """Refuse a weak key on an address others can reach (or anywhere in production)."""
    reason = weakness(key)
    if reason is None:
        return
    if production or not is_loopback(host):
        raise UnsafeKey(
            f"refusing to serve on {host}: the token signing key (TL_SECRET_KEY) is unsafe: "
            f"{reason}. Anyone who knows it can sign in as anyone. Set TL_SECRET_KEY to a "
            f"random value, e.g. {GENERATE}, or unset it to let the server make one"
        )
    logger.warning(
        "the token signing key is unsafe (%s); accepted only because %s is loopback", reason, host
    )


def token_secret(secret_key: str | None, database_url: str) -> str:
    """The key to sign tokens with (see the module's docstring)."""
    if secret_key:
        return secret_key
    url = make_url(database_url)
    if not url.get_backend_name().startswith("sqlite"):
        raise UnsafeKey(
            "TL_SECRET_KEY is not set: with a shared database every process must sign tokens "
            f"with the same key; set it (the same in every process), e.g. {GENERATE}"
        )
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        logger.warning("no TL_SECRET_KEY and no database file: tokens end when this process does")
        return secrets.token_urlsafe(48)
    return _key_beside(Path(database))


def key_path(database: Path) -> Path:
    return database.with_name(database.name + ".token-secret")


def _key_beside(database: Path) -> str:
    path = key_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(48) + "\n")
    logger.info("made a token signing key in %s (keep it with the database)", path)
    return _read_key(path)


def _read_key(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeKey(
            f"{path} (the token signing key) may be read by other users of this machine "
            f"(mode {stat.filemode(mode)}); make it its owner's alone: chmod 600 {path}"
        )
    key = path.read_text().strip()
    if not key:
        raise UnsafeKey(f"{path} is empty; delete it to have a new key made")
    return key
