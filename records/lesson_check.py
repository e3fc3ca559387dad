"""Checking a lesson's records against its seal chain, in the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from records.keys import key_id, unb64url, verify_signature
from records.kinds import current_records
from records.seal import differences, fold, header_hash, merkle_root, seal_header
from storage import repositories as repo
from storage import sealing
from storage.db import Sessions
from storage.models import LessonStatus, Seal, SealLeaf
from storage.types import utcnow

Keys = Mapping[str, Ed25519PublicKey]


@dataclass(slots=True)
class LessonCheck:
    """What ``trust-lesson verify --lesson`` found. ``problems`` is empty when valid; its
    first line names the first record (or seal link) that differs."""

    lesson_id: uuid.UUID
    seals: int = 0
    sealed_at: str | None = None
    key_id: str | None = None
    records: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems and self.seals > 0


async def published_keys(sessions: Sessions) -> dict[str, Ed25519PublicKey]:
    """The public keys this installation has published, by key id."""
    async with sessions() as s:
        rows = await sealing.published_keys(s)
    keys = {}
    for row in rows:
        public = Ed25519PublicKey.from_public_bytes(unb64url(row.public_key))
        if key_id(public) == row.kid:  # a row whose name does not match its key names nothing
            keys[row.kid] = public
    return keys


async def check_lesson(sessions: Sessions, lesson_id: uuid.UUID, keys: Keys) -> LessonCheck:
    """Recompute the lesson's seal from its records and compare, link by link, then record by
    record. ``keys`` are the public keys trusted to have signed the links."""
    result = LessonCheck(lesson_id)
    async with sessions() as s:
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        if found is None:
            result.problems.append(f"no lesson {lesson_id}")
            return result
        lesson, course = found
        chain = await sealing.seal_chain(s, lesson_id=lesson_id)
        leaves = await sealing.seal_leaves(s, seal_ids=[c.id for c in chain])
        records = await current_records(s, lesson, course, utcnow())
    result.seals = len(chain)
    result.records = len(records)
    if not chain:
        result.problems.append("the lesson has never been sealed")
        return result
    last = chain[-1]
    result.sealed_at = last.sealed_at.isoformat()
    result.key_id = last.key_id
    link_problem = await asyncio.to_thread(_check_links, chain, leaves, keys)
    if link_problem:
        result.problems.append(link_problem)
    final = (
        lesson.status is LessonStatus.ENDED
        and lesson.ended_at is not None
        and last.sealed_at >= lesson.ended_at
    )
    result.problems.extend(str(d) for d in differences(fold(leaves), records, final=final))
    return result


def _check_links(chain: list[Seal], leaves: list[SealLeaf], keys: Keys) -> str | None:
    by_seal: dict[uuid.UUID, list[SealLeaf]] = {}
    for leaf in leaves:
        by_seal.setdefault(leaf.seal_id, []).append(leaf)
    state: dict[tuple[str, str], SealLeaf] = {}
    previous: str | None = None
    for expected_seq, seal in enumerate(chain, start=1):
        where = f"seal link {seal.seq}"
        if seal.seq != expected_seq:
            return f"seal link {expected_seq} is missing"
        if seal.previous != previous:
            return f"{where} does not follow link {expected_seq - 1} (the chain was altered)"
        header = seal_header(seal)
        if header_hash(header) != seal.hash:
            return f"{where} was altered (its hash does not match its content)"
        public = keys.get(seal.key_id)
        if public is None:
            return f"{where} is signed by an unknown key {seal.key_id}"
        try:
            signature = unb64url(seal.signature)
        except ValueError:
            signature = b""
        if not verify_signature(public, signature, rfc8785.dumps(header)):
            return f"{where}: the signature does not match (the link was altered)"
        for leaf in by_seal.get(seal.id, []):
            state[leaf.kind, leaf.record_id] = leaf
        if merkle_root(fold(state.values()).values()) != seal.root:
            return f"{where}: the stored record digests do not match its signed root"
        previous = seal.hash
    return None
