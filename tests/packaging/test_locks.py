"""The locks in requirements/ are what `make run`, `make test` and CI install: every package
pinned to one version with its hashes, in step with pyproject.toml, and no package index named
anywhere (pip and uv use whatever index the machine is configured with)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
LOCKS = [ROOT / "requirements" / name for name in ("runtime.txt", "dev.txt", "tools.txt")]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)")


def _entries(lock: Path) -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, the whole entry)], one per marker variant."""
    entries: dict[str, list[tuple[str, str]]] = {}
    text = lock.read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(block)
        if match:
            name = canonicalize_name(match.group(1))
            entries.setdefault(name, []).append((match.group(2), block))
    return entries


def _pyproject() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        "runtime": [Requirement(r) for r in project["dependencies"]],
        "dev": [Requirement(r) for r in project["optional-dependencies"]["dev"]],
    }


def test_the_locks_exist() -> None:
    assert all(lock.is_file() for lock in LOCKS)


@pytest.mark.parametrize("lock", LOCKS, ids=lambda p: p.name)
def test_every_package_is_pinned_with_hashes(lock: Path) -> None:
    lines = [
        line
        for line in lock.read_text().splitlines()
        if line and not line.startswith((" ", "#", "\t"))
    ]
    assert lines
    for line in lines:
        assert PIN.match(line), f"{lock.name}: not pinned: {line}"
    for name, variants in _entries(lock).items():
        for _version, entry in variants:
            assert "--hash=sha256:" in entry, f"{lock.name}: {name} has no hash"


def test_no_package_index_is_named() -> None:
    # The locks hold no address at all; the files that install from them name no index.
    for lock in LOCKS:
        assert "://" not in lock.read_text(), f"{lock.name} holds an address"
    files = [*(ROOT / "requirements").glob("*.in"), ROOT / "requirements" / "overrides.txt"]
    files += [ROOT / "pyproject.toml", ROOT / "Makefile"]
    files.append(ROOT / ".ci" / "run")
    for path in files:
        text = path.read_text()
        for flag in ("index-url", "find-links", "--index ", "/simple"):
            assert flag not in text, f"{path.relative_to(ROOT)} names an index: {flag}"


@pytest.mark.parametrize(
    ("lock", "groups"), [("runtime.txt", ["runtime"]), ("dev.txt", ["runtime", "dev"])]
)
def test_each_declared_dependency_is_locked_at_a_version_it_allows(
    lock: str, groups: list[str]
) -> None:
    entries = _entries(ROOT / "requirements" / lock)
    declared = _pyproject()
    stale = []
    for group in groups:
        for req in declared[group]:
            variants = entries.get(canonicalize_name(req.name))
            if not variants or not any(req.specifier.contains(v) for v, _ in variants):
                stale.append(str(req))
    assert not stale, f"requirements/{lock} is behind pyproject.toml ({stale}): run `make lock`"


def test_runtime_and_dev_locks_agree() -> None:
    runtime = _entries(ROOT / "requirements" / "runtime.txt")
    dev = _entries(ROOT / "requirements" / "dev.txt")
    for name, variants in runtime.items():
        assert name in dev, f"{name} is in runtime.txt but not dev.txt: run `make lock`"
        assert {v for v, _ in variants} == {v for v, _ in dev[name]}, name


def test_the_overrides_leave_their_packages_out_of_both_locks() -> None:
    overrides = (ROOT / "requirements" / "overrides.txt").read_text().splitlines()
    named = [line.split(";")[0].strip() for line in overrides if line and line[0] != "#"]
    assert named
    for lock in ("runtime.txt", "dev.txt"):
        entries = _entries(ROOT / "requirements" / lock)
        for name in named:
            for _version, entry in entries.get(canonicalize_name(name), []):
                assert "sys_platform == 'never'" in entry.splitlines()[0], f"{lock}: {name}"
