"""Full-process records (执法全过程记录) as a per-case hash chain.

Each record's hash is SHA-256 over the canonical JSON of ``{"prev": <previous hash>,
"record": <record>}``: changing, inserting or removing any record breaks every link
after it. Records hold references (media URI + SHA-256, a party digest), never
personal data or media themselves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def link_hash(prev_hash: str, record: Mapping[str, Any]) -> str:
    return digest({"prev": prev_hash, "record": dict(record)})


@dataclass(frozen=True)
class ChainRecord:
    seq: int
    prev_hash: str
    hash: str
    record: Mapping[str, Any]  # includes "seq", "kind", "at", "actor", "data"


def make_record(prev: ChainRecord | None, kind: str, at: str, actor: str,
                data: Mapping[str, Any]) -> ChainRecord:
    """The next record of a chain whose last record is ``prev`` (None: the first)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    record = {"seq": seq, "kind": kind, "at": at, "actor": actor, "data": dict(data)}
    return ChainRecord(seq, prev_hash, link_hash(prev_hash, record), record)


@dataclass(frozen=True)
class Verification:
    ok: bool
    records: int
    head: str | None  # the last valid hash
    broken_at_seq: int | None = None
    reason: str | None = None


def verify(records: Sequence[ChainRecord]) -> Verification:
    """Walk the chain in order; report the first broken link."""
    expected_prev = GENESIS
    head: str | None = None
    for position, rec in enumerate(records, start=1):
        if rec.seq != position or rec.record.get("seq") != position:
            return Verification(False, len(records), head, rec.seq,
                                f"sequence gap: expected record {position}")
        if rec.prev_hash != expected_prev:
            return Verification(False, len(records), head, rec.seq,
                                "previous-hash link does not match the record before")
        if link_hash(rec.prev_hash, rec.record) != rec.hash:
            return Verification(False, len(records), head, rec.seq,
                                "record content does not match its hash")
        expected_prev = head = rec.hash
    return Verification(True, len(records), head)
