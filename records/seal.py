"""Sealing a lesson: a signed hash chain of Merkle roots.

Why this structure. Each seal is one link of a per-lesson chain. A link holds the Merkle root
(RFC 6962 hashing: leaves and nodes domain-separated) over the digests of every record the
lesson has at that moment (``records.kinds``), the hash of the link before it, and an
Ed25519 signature over the link. So:

- a record changed, added or deleted after it was sealed no longer matches the digest kept for
  it, and the comparison is per record, which names the first record that differs;
- the kept digests cannot be rewritten to match without changing the signed root, and a link
  cannot be dropped or reordered without breaking the next link's ``previous``;
- a Merkle root, unlike a flat hash of the list, lets a document later prove that one
  student's records are inside a lesson's root without disclosing the class.

A lesson is sealed many times (while live, at its end, after a review): records that may still
change (a pending prompt, an open presence interval, the decisions of a live lesson) are sealed
as *open*; every other record is *final*. A new link is refused when a final record of the
last link no longer matches (``TamperDetected``): a tampered record is never absorbed into a
newer seal. A link stores only the leaves that are new or changed since the one before it.

Several processes may seal one lesson: the link is written under the lesson's lock
(``storage.sealing.lock_lesson``), and ``(lesson_id, seq)`` is unique, so the chain can
neither fork nor be reordered; a process that loses a race reads the new link and retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import rfc8785
from sqlalchemy.exc import IntegrityError, OperationalError

from records import TamperDetected
from records.keys import SigningKey, b64url
from records.kinds import SEALED_KINDS, Record, current_records
from storage import repositories as repo
from storage import sealing
from storage.db import Sessions
from storage.models import Seal, SealLeaf
from storage.types import utcnow

logger = logging.getLogger(__name__)

KIND_ORDER = {kind.name: i for i, kind in enumerate(SEALED_KINDS)}
_RETRIES = 5


def merkle_root(records: Iterable[Record]) -> str:
    """RFC 6962 Merkle tree hash over the records sorted by (kind, id)."""
    leaves = [
        hashlib.sha256(b"\0" + rfc8785.dumps([r.kind, r.record_id, r.digest, r.open])).digest()
        for r in sorted(records, key=lambda r: r.key)
    ]
    return _tree(leaves).hex()


def _tree(nodes: Sequence[bytes]) -> bytes:
    if not nodes:
        return hashlib.sha256(b"").digest()
    if len(nodes) == 1:
        return nodes[0]
    split = 1 << ((len(nodes) - 1).bit_length() - 1)  # the largest power of two below n
    return hashlib.sha256(b"\1" + _tree(nodes[:split]) + _tree(nodes[split:])).digest()


def seal_header(seal: Seal) -> dict[str, Any]:
    """What a link's signature covers (and its hash is taken of), as plain JSON."""
    return {
        "type": "TrustLessonSeal",
        "lesson": str(seal.lesson_id),
        "sequence": seal.seq,
        "reason": seal.reason,
        "sealedAt": seal.sealed_at.isoformat(timespec="microseconds"),
        "records": seal.records,
        "openRecords": seal.open_records,
        "root": seal.root,
        "previous": seal.previous,
        "keyId": seal.key_id,
    }


def header_hash(header: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(dict(header))).hexdigest()


def fold(leaves: Iterable[SealLeaf]) -> dict[tuple[str, str], Record]:
    """The records as the chain saw them last (later links override earlier ones)."""
    state: dict[tuple[str, str], Record] = {}
    for leaf in leaves:
        state[leaf.kind, leaf.record_id] = Record(leaf.kind, leaf.record_id, leaf.digest, leaf.open)
    return state


@dataclass(frozen=True, slots=True)
class Difference:
    """A record that no longer matches its seal."""

    kind: str
    record_id: str
    what: str  # "changed", "deleted", "added"

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} {self.what} after it was sealed"


def differences(
    sealed: Mapping[tuple[str, str], Record], now: Sequence[Record], *, final: bool
) -> list[Difference]:
    """Records that differ from the seal, in the table's order. An open record may have moved
    on; with ``final`` (the lesson ended and its last seal came after), nothing may be new."""
    found: list[Difference] = []
    seen: set[tuple[str, str]] = set()
    for record in now:
        seen.add(record.key)
        before = sealed.get(record.key)
        if before is None:
            if final:
                found.append(Difference(record.kind, record.record_id, "added"))
        elif not before.open and before.digest != record.digest:
            found.append(Difference(record.kind, record.record_id, "changed"))
    gone = [r for key, r in sealed.items() if key not in seen and not r.open]
    gone.sort(key=lambda r: (KIND_ORDER.get(r.kind, len(KIND_ORDER)), r.record_id))
    found.extend(Difference(r.kind, r.record_id, "deleted") for r in gone)
    found.sort(key=lambda d: KIND_ORDER.get(d.kind, len(KIND_ORDER)))  # stable: keeps row order
    return found


async def seal_lesson(
    sessions: Sessions,
    lesson_id: uuid.UUID,
    key: SigningKey,
    *,
    reason: str = "interval",
    now: datetime | None = None,
) -> Seal | None:
    """Seal the lesson's records as they are: a new signed link, or None when nothing changed
    since the last one. Raises ``TamperDetected`` (and seals nothing) when a record sealed as
    final has changed. Safe to call from several processes at once."""
    for attempt in range(_RETRIES):
        try:
            return await _seal_once(sessions, lesson_id, key, reason, now or utcnow())
        except (IntegrityError, OperationalError) as exc:
            # Another process wrote the same link (or held SQLite's write lock): read again.
            if attempt == _RETRIES - 1:
                raise
            logger.info("lesson %s: sealing raced another process (%s); again", lesson_id, exc)
            await asyncio.sleep(0.05 * (attempt + 1))
    return None  # not reached


async def _seal_once(
    sessions: Sessions, lesson_id: uuid.UUID, key: SigningKey, reason: str, now: datetime
) -> Seal | None:
    async with sessions() as s, s.begin():
        if not await sealing.lock_lesson(s, lesson_id=lesson_id):
            return None
        found = await repo.get_lesson_with_course(s, lesson_id=lesson_id)
        if found is None:
            return None
        lesson, course = found
        chain = await sealing.seal_chain(s, lesson_id=lesson_id)
        sealed = fold(await sealing.seal_leaves(s, seal_ids=[c.id for c in chain]))
        records = await current_records(s, lesson, course, now)
        changed = differences(sealed, records, final=False)
        if changed:
            logger.error("lesson %s: not sealed, %s", lesson_id, changed[0])
            raise TamperDetected(str(changed[0]))
        delta = [r for r in records if sealed.get(r.key) != r]
        if chain and not delta:
            return None
        root = await asyncio.to_thread(merkle_root, records)
        previous = chain[-1] if chain else None
        seal = Seal(
            id=uuid.uuid4(),
            lesson_id=lesson_id,
            seq=previous.seq + 1 if previous else 1,
            reason=reason,
            sealed_at=now,
            records=len(records),
            open_records=sum(r.open for r in records),
            root=root,
            previous=previous.hash if previous else None,
            key_id=key.kid,
        )
        header = seal_header(seal)
        seal.hash = header_hash(header)
        seal.signature = b64url(key.sign(rfc8785.dumps(header)))
        leaves = [
            SealLeaf(
                seal_id=seal.id, kind=r.kind, record_id=r.record_id, digest=r.digest, open=r.open
            )
            for r in delta
        ]
        await sealing.add_seal(s, seal, leaves)
    logger.info(
        "lesson %s sealed (%s): link %d, %d records, %d new or changed",
        lesson_id,
        reason,
        seal.seq,
        seal.records,
        len(delta),
    )
    return seal
