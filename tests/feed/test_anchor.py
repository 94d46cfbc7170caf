"""Anchors on anvil: each -> Posted(digest), batch -> BatchPosted(root) + Merkle proofs."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from bridge.feed.anchor import ChainAnchor, fetch_events
from bridge.feed.entry import Entry, fold, verify_entry
from bridge.feed.merkle import verify_proof
from bridge.feed.reader import read_history
from bridge.feed.record import SignedRecord
from contracts import deploy
from tests.chain.anvil import Anvil
from tests.feed.conftest import FEED, PUBSUB, Rig, make_service


async def anchored_service(rig: Rig, anvil: Anvil, w3: Any, mode: str) -> tuple[Any, str]:
    contract = await deploy(w3, "Feed", private_key=anvil.private_keys[0])
    key = anvil.private_keys[1]  # a funded account acts as the bridge key
    chain = ChainAnchor(w3, contract, key, anvil.chain_id)
    service = make_service(rig.store, rig.node, rig.router, key=key, anchor_mode=mode, chain=chain)
    return service, str(contract)


async def test_each_anchor_posts_the_digest(rig: Rig, anvil: Anvil, w3: Any) -> None:
    service, contract = await anchored_service(rig, anvil, w3, "each")
    stored = await rig.say("100", "anchor me")
    result = await service.post_stored(stored)

    (entry,) = fold(await read_history(rig.node, FEED, PUBSUB), [service.address])
    assert entry.cid == result.cid and entry.anchor is not None
    assert entry.anchor.kind == "each" and entry.anchor.contract == contract
    events = await fetch_events(w3, contract, [entry.anchor.block])
    (event,) = events
    assert event.kind == "each"
    assert event.value == hashlib.sha256(entry.signed.data).digest()
    assert event.uri == f"ipfs://{entry.cid}" and event.poster == service.address
    assert verify_entry(entry, events)

    tampered_data = entry.signed.data.replace(b"anchor me", b"anchor it")
    tampered = dataclasses.replace(
        entry, signed=dataclasses.replace(entry.signed, data=tampered_data)
    )
    assert not verify_entry(tampered, events)
    wrong_tx = dataclasses.replace(
        entry, anchor=dataclasses.replace(entry.anchor, tx="0x" + "00" * 32)
    )
    assert not verify_entry(wrong_tx, events)
    assert not verify_entry(dataclasses.replace(entry, anchor=None), events)


async def test_batch_anchor_posts_the_root(rig: Rig, anvil: Anvil, w3: Any) -> None:
    service, contract = await anchored_service(rig, anvil, w3, "batch")
    cids = []
    for i in range(5):
        stored = await rig.say(str(100 + i), f"post number {i}")
        cids.append((await service.post_stored(stored)).cid)
    assert await service.anchor_pending() == 5
    assert await service.anchor_pending() == 0

    entries = fold(await read_history(rig.node, FEED, PUBSUB), [service.address])
    assert sorted(e.cid for e in entries) == sorted(cids)
    blocks = {e.anchor.block for e in entries if e.anchor is not None}
    assert len(blocks) == 1
    events = await fetch_events(w3, contract, blocks)
    (event,) = events
    assert event.kind == "batch" and event.poster == service.address
    for entry in entries:
        assert entry.anchor is not None and entry.anchor.kind == "batch"
        assert entry.anchor.root == "0x" + event.value.hex()
        proof = [bytes.fromhex(p[2:]) for p in entry.anchor.proof]
        assert verify_proof(hashlib.sha256(entry.signed.data).digest(), proof, event.value)
        assert verify_entry(entry, events)
    forged = _with_data(entries[0], entries[1].signed)
    assert not verify_entry(forged, events)  # another entry's bytes under this entry's CID


def _with_data(entry: Entry, other: SignedRecord) -> Entry:
    return dataclasses.replace(entry, signed=dataclasses.replace(entry.signed, data=other.data))


async def test_untrusted_anchor_records_are_ignored(rig: Rig, anvil: Anvil, w3: Any) -> None:
    service, _ = await anchored_service(rig, anvil, w3, "each")
    stored = await rig.say("100", "x")
    await service.post_stored(stored)
    (entry,) = fold(await read_history(rig.node, FEED, PUBSUB), ["0x" + "11" * 20])
    assert not entry.trusted and entry.anchor is None
