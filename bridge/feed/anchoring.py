"""Anchoring stored feed entries on-chain, then announcing the anchor on the feed.

``each`` sends one ``post`` per entry; ``batch`` one ``postBatch`` per up to ``MAX_BATCH``
entries, whose Merkle root is anchored and whose manifest is pinned to Kubo when there is one.
The anchor is in the store before its record is published, so readers of the page see it even
when Waku is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bridge.feed.anchor import AnchorReceipt, ChainAnchor
from bridge.feed.kubo import KuboClient, KuboError
from bridge.feed.merkle import merkle_proofs
from bridge.feed.publisher import FeedPublisher, new_record
from bridge.feed.record import canonical_json, cid_v1_raw, digest_of, sign_record
from bridge.store import Store
from bridge.store import feed as feed_rows
from bridge.store.feed import FeedRow
from bridge.waku.node import NodeError

__all__ = ["MAX_BATCH", "AnchorMode", "FeedAnchorer"]

log = logging.getLogger(__name__)

AnchorMode = Literal["none", "each", "batch"]
# One postBatch covers at most this many entries (keeps the anchor record well under Waku's
# 150 KiB message limit: 64 proofs of 6 hashes).
MAX_BATCH = 64


@dataclass(slots=True)
class _Anchored:
    """One on-chain anchoring: what each entry's row records, and what the record announces."""

    receipt: AnchorReceipt
    extra: dict[str, Any]
    anchors: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)


class FeedAnchorer:
    """Anchors pending entries; one anchoring run at a time."""

    def __init__(
        self,
        store: Store,
        chain: ChainAnchor,
        mode: Literal["each", "batch"],
        publisher: FeedPublisher,
        identity_key: bytes,
        *,
        address: str,
        kubo: KuboClient | None,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._chain = chain
        self._mode = mode
        self._publisher = publisher
        self._key = identity_key
        self._address = address
        self._kubo = kubo
        self._clock = clock
        self._lock = asyncio.Lock()

    async def anchor_pending(self) -> int:
        """Anchor every pending entry; returns how many were anchored."""
        done = 0
        async with self._lock:
            while True:
                rows = await feed_rows.pending_anchor(
                    self._store.db, 1 if self._mode == "each" else MAX_BATCH
                )
                if not rows:
                    return done
                if self._mode == "each":
                    anchored = await self._anchor_each(rows[0])
                else:
                    anchored = await self._anchor_batch(rows)
                async with self._store.transaction() as db:
                    for cid, anchor in anchored.anchors.items():
                        await feed_rows.mark_anchored(db, cid, anchor)
                done += len(anchored.anchors)
                receipt = anchored.receipt
                await self._publish_anchor_record(
                    {**self._base(), **anchored.extra, "tx": receipt.tx, "block": receipt.block},
                    anchored.items,
                )

    def _base(self) -> dict[str, Any]:
        return {"chain_id": self._chain.chain_id, "contract": self._chain.contract}

    async def _anchor_each(self, row: FeedRow) -> _Anchored:
        digest = digest_of(row.record)
        receipt = await self._chain.post(digest, f"ipfs://{row.cid}")
        anchored = _Anchored(receipt, {"kind": "each"})
        anchored.anchors[row.cid] = {
            **self._base(),
            "kind": "each",
            "tx": receipt.tx,
            "block": receipt.block,
        }
        anchored.items.append({"cid": row.cid, "digest": "0x" + digest.hex(), "proof": []})
        return anchored

    async def _anchor_batch(self, rows: Sequence[FeedRow]) -> _Anchored:
        digests = {row.cid: digest_of(row.record) for row in rows}
        root, proofs = merkle_proofs(digests.values())
        manifest = canonical_json({"cids": sorted(digests), "v": 1})
        if self._kubo is not None:
            with contextlib.suppress(KuboError):
                await self._kubo.add(manifest, cid_v1_raw(manifest))
        receipt = await self._chain.post_batch(root, f"ipfs://{cid_v1_raw(manifest)}")
        anchored = _Anchored(receipt, {"kind": "batch", "root": "0x" + root.hex()})
        for cid, digest in digests.items():
            proof = ["0x" + p.hex() for p in proofs[digest]]
            anchored.anchors[cid] = {
                **self._base(),
                "kind": "batch",
                "tx": receipt.tx,
                "block": receipt.block,
                "root": "0x" + root.hex(),
                "proof": proof,
            }
            anchored.items.append({"cid": cid, "digest": "0x" + digest.hex(), "proof": proof})
        return anchored

    async def _publish_anchor_record(
        self, fields: dict[str, Any], items: Sequence[dict[str, Any]]
    ) -> None:
        record = new_record(
            "anchor",
            self._address,
            datetime.fromtimestamp(self._clock(), UTC),
            **fields,
            entries=list(items),
        )
        signed = sign_record(record, self._key)
        try:
            await self._publisher.publish(signed)
        except (NodeError, OSError) as exc:
            # The anchor is on-chain and in the store; readers of the page still see it.
            log.warning("anchor record not published: %s", exc)
