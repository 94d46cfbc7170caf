"""Entries as readers see them (a verified record + its anchor + tombstone state), and
``verify_entry``: checking an entry against the Feed contract's events.

Pure code: the chain events come in as values (``AnchorEvent``), fetched by
``bridge.feed.anchor.fetch_events``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bridge.feed.merkle import verify_proof
from bridge.feed.record import (
    RecordError,
    SignedRecord,
    cid_v1_raw,
    digest_of,
    parse_record,
    parse_rfc3339,
    recover_signer,
)

__all__ = ["Anchor", "AnchorEvent", "Entry", "fold", "verify_entry"]

AnchorKind = Literal["each", "batch"]


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where an entry is anchored: one ``Posted`` (each) or a ``BatchPosted`` root + proof."""

    kind: AnchorKind
    chain_id: int
    contract: str
    tx: str  # 0x + 64 hex
    block: int
    root: str | None = None  # batch: 0x + 64 hex
    proof: tuple[str, ...] = ()  # batch: sibling hashes, leaf first

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "tx": self.tx,
            "block": self.block,
        }
        if self.root is not None:
            out["root"] = self.root
            out["proof"] = list(self.proof)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anchor:
        kind = data["kind"]
        if kind not in ("each", "batch"):
            raise ValueError(f"unknown anchor kind {kind!r}")
        return cls(
            kind=kind,
            chain_id=int(data["chain_id"]),
            contract=str(data["contract"]),
            tx=str(data["tx"]),
            block=int(data["block"]),
            root=None if data.get("root") is None else str(data["root"]),
            proof=tuple(str(p) for p in data.get("proof", ())),
        )


@dataclass(frozen=True, slots=True)
class AnchorEvent:
    """One ``Posted`` (kind each, ``value`` = digest) or ``BatchPosted`` (``value`` = root)."""

    kind: AnchorKind
    contract: str
    poster: str
    value: bytes
    uri: str
    tx: str
    block: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A post as a reader shows it."""

    signed: SignedRecord
    trusted: bool  # signed by one of the expected bridge keys
    anchor: Anchor | None = None
    tombstoned: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cid(self) -> str:
        return self.signed.cid

    @property
    def record(self) -> dict[str, Any]:
        return self.signed.record

    @property
    def created_at(self) -> datetime:
        return parse_rfc3339(str(self.record["created_at"]))

    @property
    def text(self) -> str:
        return str(self.record.get("text", ""))

    @property
    def author(self) -> dict[str, Any]:
        author = self.record.get("author")
        return author if isinstance(author, dict) else {}


def verify_entry(entry: Entry, events: Iterable[AnchorEvent]) -> bool:
    """True when ``entry`` is intact, signed by the bridge it names, and its anchor matches one
    of ``events`` posted by that bridge: ``Posted(digest = sha256(record), uri = ipfs://cid)``,
    or ``BatchPosted(root)`` with a Merkle proof from the digest to that root."""
    anchor = entry.anchor
    signed = entry.signed
    if anchor is None:
        return False
    try:
        record = parse_record(signed.data)
        cid = cid_v1_raw(signed.data)
        if cid != signed.cid:
            return False
        signer = recover_signer(cid, signed.signature)
    except RecordError:
        return False
    bridge = str(record["bridge"]).lower()
    if signer.lower() != bridge:
        return False
    digest = digest_of(signed.data)
    for event in events:
        if event.tx.lower() != anchor.tx.lower() or event.block != anchor.block:
            continue
        if event.contract.lower() != anchor.contract.lower() or event.poster.lower() != bridge:
            continue
        if anchor.kind == "each" and event.kind == "each":
            if event.value == digest and event.uri == f"ipfs://{cid}":
                return True
        elif anchor.kind == "batch" and event.kind == "batch" and anchor.root is not None:
            if event.value.hex() != anchor.root.removeprefix("0x").lower():
                continue
            try:
                proof = [bytes.fromhex(p.removeprefix("0x")) for p in anchor.proof]
            except ValueError:
                return False
            if verify_proof(digest, proof, event.value):
                return True
    return False


def fold(records: Iterable[SignedRecord], trusted: Sequence[str]) -> list[Entry]:
    """Posts (newest first) with their anchors and tombstones applied.

    A tombstone hides a post only when the same key signed both; anchor records count only
    from trusted keys (readers still check them on the chain with ``verify_entry``).
    """
    keys = {t.lower() for t in trusted}
    posts: dict[str, SignedRecord] = {}
    tombstones: set[tuple[str, str]] = set()  # (target cid, signer)
    anchors: dict[str, Anchor] = {}
    for signed in records:
        kind = signed.type
        if kind == "post":
            posts.setdefault(signed.cid, signed)
        elif kind == "tombstone":
            tombstones.add((str(signed.record["target"]), signed.signer.lower()))
        elif kind == "anchor" and signed.signer.lower() in keys:
            record = signed.record
            for item in record["entries"]:
                anchors.setdefault(
                    str(item["cid"]),
                    Anchor(
                        kind=record["kind"],
                        chain_id=int(record["chain_id"]),
                        contract=str(record["contract"]),
                        tx=str(record["tx"]),
                        block=int(record["block"]),
                        root=record.get("root"),
                        proof=tuple(item["proof"]) if record["kind"] == "batch" else (),
                    ),
                )
    entries = [
        Entry(
            signed=signed,
            trusted=signed.signer.lower() in keys,
            anchor=anchors.get(cid),
            tombstoned=(cid, signed.signer.lower()) in tombstones,
        )
        for cid, signed in posts.items()
    ]
    entries.sort(key=lambda e: (e.created_at, e.cid), reverse=True)
    return entries
