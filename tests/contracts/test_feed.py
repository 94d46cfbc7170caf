"""Feed: posts and batches are announced as events with the block's time; nothing is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from contracts import at, deploy, load_artifact, send_transaction
from tests.chain.anvil import Anvil
from tests.contracts.helpers import events, reverts_with, sender

if TYPE_CHECKING:
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract

pytestmark = pytest.mark.chain

DIGEST = bytes.fromhex("11" * 32)
URI = "ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"


@pytest.fixture
async def feed(w3: AsyncWeb3[Any], anvil: Anvil) -> AsyncContract:
    return at(w3, "Feed", await deploy(w3, "Feed", private_key=anvil.private_keys[0]))


async def test_post_emits_posted(w3: AsyncWeb3[Any], anvil: Anvil, feed: AsyncContract) -> None:
    receipt = await send_transaction(
        w3, feed.functions.post(DIGEST, URI), private_key=anvil.private_keys[1]
    )
    block = await w3.eth.get_block(receipt["blockNumber"])
    [posted] = events(feed, "Posted", receipt)
    assert posted["args"] == {
        "poster": anvil.addresses[1],
        "digest": DIGEST,
        "uri": URI,
        "timestamp": block["timestamp"],
    }
    # poster and digest are indexed, so readers can filter by author or look a post up.
    assert receipt["logs"][0]["topics"][2] == DIGEST


async def test_post_batch_emits_batch_posted(
    w3: AsyncWeb3[Any], anvil: Anvil, feed: AsyncContract
) -> None:
    root = bytes.fromhex("ab" * 32)
    receipt = await send_transaction(
        w3, feed.functions.postBatch(root, ""), private_key=anvil.private_keys[2]
    )
    block = await w3.eth.get_block(receipt["blockNumber"])
    [batch] = events(feed, "BatchPosted", receipt)
    assert batch["args"] == {
        "poster": anvil.addresses[2],
        "root": root,
        "uri": "",
        "timestamp": block["timestamp"],
    }
    assert events(feed, "Posted", receipt) == []


async def test_zero_digest_and_zero_root_revert(
    w3: AsyncWeb3[Any], anvil: Anvil, feed: AsyncContract
) -> None:
    frm = sender(anvil.addresses[0])
    zero = b"\0" * 32
    await reverts_with(feed.functions.post(zero, URI).call(frm), feed.abi, "ZeroDigest")
    await reverts_with(feed.functions.postBatch(zero, URI).call(frm), feed.abi, "ZeroRoot")


async def test_uri_length_is_capped(w3: AsyncWeb3[Any], anvil: Anvil, feed: AsyncContract) -> None:
    cap = await feed.functions.MAX_URI_LENGTH().call()
    assert cap == 2048
    longest = "ipfs://" + "a" * (cap - len("ipfs://"))
    receipt = await send_transaction(
        w3, feed.functions.post(DIGEST, longest), private_key=anvil.private_keys[0]
    )
    assert events(feed, "Posted", receipt)[0]["args"]["uri"] == longest
    # The cap counts bytes, not characters.
    too_long = "é" * (cap // 2) + "x"
    frm = sender(anvil.addresses[0])
    await reverts_with(
        feed.functions.post(DIGEST, too_long).call(frm), feed.abi, "UriTooLong", cap + 1
    )
    await reverts_with(
        feed.functions.postBatch(DIGEST, too_long).call(frm), feed.abi, "UriTooLong", cap + 1
    )


async def test_feed_keeps_no_state(w3: AsyncWeb3[Any], anvil: Anvil, feed: AsyncContract) -> None:
    await send_transaction(w3, feed.functions.post(DIGEST, URI), private_key=anvil.private_keys[0])
    await send_transaction(
        w3, feed.functions.postBatch(DIGEST, URI), private_key=anvil.private_keys[0]
    )
    # Its only readable value is a constant, and its storage stays empty.
    reads = [
        e["name"] for e in load_artifact("Feed").abi if e.get("stateMutability") in ("view", "pure")
    ]
    assert reads == ["MAX_URI_LENGTH"]
    for slot in range(4):
        assert await w3.eth.get_storage_at(feed.address, slot) == b"\0" * 32
    assert await w3.eth.get_balance(feed.address) == 0
