"""The public feed end to end through the whole bridge: ``/post`` typed on Telegram (the real
python-telegram-bot against the fake) and on Discord (a slash command through discord.py), the
signed record on the feed's Waku topic read back as an outside reader would, ``GET /feed`` and
``GET /feed.atom``, the tombstone after ``/delete``, and an ``each`` anchor on anvil checked with
``verify_entry`` against the Feed contract's events."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import feedparser  # type: ignore[import-untyped]
import pytest

from bridge.feed import fold, verify_entry
from bridge.feed.anchor import fetch_events
from bridge.feed.feature import feed_pubsub_topic
from bridge.feed.reader import decode_feed_message, read_history
from bridge.feed.record import MARKER, canonical_json, cid_v1_raw, recover_signer
from bridge.status import chat_key, chat_topic
from contracts import deploy
from crypto.keys import to_address
from crypto.payload import DecryptionError, decrypt_symmetric
from tests.chain.anvil import Anvil
from tests.e2e.harness import TIMEOUT, Harness, running_bridge
from tests.fakes.discord_models import InteractionResponse
from tests.fakes.telegram import FakeMessage

if TYPE_CHECKING:
    from web3 import AsyncWeb3

_CID_LINK = re.compile(r"/feed#(b[a-z2-7]{58})")


# --- reading the feed as an outsider ------------------------------------------------------------


def _feed_records(h: Harness) -> list[tuple[bytes | None, str, bytes, dict[str, Any]]]:
    """Every record message seen on the feed topic: (Waku signer, signature, bytes, record).

    Opened by hand: the key is ``chat_key(feed name)``, the plaintext ``PARLEY-FEED/1``, a
    signature line, then the canonical record."""
    feed = h.settings.feed.waku_chat
    found = []
    for seen in h.waku.seen:
        message = seen.message
        if message.content_topic != chat_topic(feed) or message.version != 1:
            continue
        try:
            decoded = decrypt_symmetric(message.payload, chat_key(feed))
        except DecryptionError:
            continue
        if not decoded.payload.startswith(MARKER):
            continue  # the Status ChatMessage copy
        signature, _, data = decoded.payload[len(MARKER) :].partition(b"\n")
        found.append((decoded.signer, signature.decode(), data, json.loads(data)))
    return found


async def _record(h: Harness, kind: str, **match: Any) -> tuple[bytes | None, str, bytes]:
    """Wait for the record of type ``kind`` whose fields include ``match``."""

    def check() -> list[tuple[bytes | None, str, bytes]]:
        return [
            (signer, signature, data)
            for signer, signature, data, record in _feed_records(h)
            if record["type"] == kind and all(record.get(k) == v for k, v in match.items())
        ]

    found = await h.waku.wait_for(check)
    assert len(found) == 1, found
    return found[0]


def _check_signed(h: Harness, signer: bytes | None, signature: str, data: bytes, cid: str) -> None:
    """Waku-signed by the bridge key; canonical bytes; the CID recomputes; the signature
    over the CID recovers the bridge's address, which the record names."""
    address = to_address(h.bridge_public_key)
    assert signer == h.bridge_public_key
    record = json.loads(data)
    assert canonical_json(record) == data
    assert cid_v1_raw(data) == cid
    assert recover_signer(cid, signature) == address
    assert record["bridge"] == address


async def _get(h: Harness, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(h.web_url + path) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def _atom_entries(h: Harness) -> list[Any]:
    status, content_type, body = await _get(h, "/feed.atom")
    assert status == 200 and content_type.startswith("application/atom+xml")
    parsed = feedparser.parse(body)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return list(parsed.entries)


async def _post_reply(h: Harness, original: FakeMessage) -> str:
    """Alice replies ``/post`` to her message; returns the CID from the bot's answer."""
    h.tg.user_sends(h.tg_group, h.alice, "/post", reply_to=original)
    answer = await h.tg_copy("Posted to the feed:")
    match = _CID_LINK.search(answer.content)
    assert match is not None, answer.content
    assert answer.content == f"Posted to the feed: {h.settings.web.public_url}/feed#{match[1]}"
    return match[1]


async def _bob_posts(h: Harness, text: str) -> InteractionResponse:
    """Bob runs the /post slash command on Discord; returns the first response."""
    interaction = h.dc.user_invokes_command("post", {"text": text}, h.channel.id, h.bob)
    await h.dc.wait_for(lambda: interaction.responses)
    return interaction.responses[0]


# --- the tests ----------------------------------------------------------------------------------


async def test_post_from_telegram_refused_for_others_and_tombstoned_on_delete(
    tmp_path: Path,
) -> None:
    async with running_bridge(tmp_path) as h:
        original = h.tg.user_sends(h.tg_group, h.alice, "Parley <feed> & friends: hello")
        dc_copy = await h.dc_copy("friends: hello")
        cid = await _post_reply(h, original)

        signer, signature, data = await _record(h, "post")
        _check_signed(h, signer, signature, data, cid)
        record = json.loads(data)
        assert record["text"] == "Parley <feed> & friends: hello"
        assert record["author"] == {
            "platform": "telegram",
            "user_id": str(h.alice.id),
            "name": "Alice",
        }
        assert record["source"] == {"platform": "telegram", "chat": str(h.tg_group.id)}
        assert record["room"] == h.room
        # What `parley feed` reads from the node's history agrees.
        history = await read_history(
            h.bridge.node, h.settings.feed.waku_chat, feed_pubsub_topic(h.settings)
        )
        assert [s.cid for s in history if s.type == "post"] == [cid]

        status, _, page = await _get(h, "/feed")
        assert status == 200
        assert f'<article id="{cid}">' in page
        assert "Parley &lt;feed&gt; &amp; friends: hello" in page
        [entry] = await _atom_entries(h)
        assert entry.id == f"urn:cid:{cid}"
        assert entry.title == "Parley <feed> & friends: hello"
        assert entry.content[0].value == "Parley <feed> & friends: hello"
        assert entry.author == "Alice"
        assert entry.link == f"{h.settings.web.public_url}/feed#{cid}"

        # Bob on Discord names Alice's message (the bridge's copy there) by link, then by id:
        # refused (in the channel: the refusal reveals nothing), and nothing new on the feed.
        await h.dc.wait_for(lambda: h.dc.commands)
        link = f"https://discord.com/channels/{h.guild.id}/{h.channel.id}/{dc_copy['id']}"
        for reference in (link, str(dc_copy["id"])):
            response = await _bob_posts(h, reference)
            assert "That is not your message" in str(response.content), response
            assert not response.ephemeral
        # His own message, named the same way, is his to post.
        own = h.dc.user_sends(h.channel.id, h.bob, "bob's own words")
        await h.tg_copy("bob's own words")
        response = await _bob_posts(h, str(own["id"]))
        assert "Posted to the feed:" in str(response.content)
        _, _, bob_data = await _record(h, "post", text="bob's own words")
        assert json.loads(bob_data)["author"]["platform"] == "discord"
        assert len([r for *_, r in _feed_records(h) if r["type"] == "post"]) == 2
        assert len(await _atom_entries(h)) == 2

        # Alice deletes her message: a signed tombstone goes out; the post leaves both views.
        h.tg.user_sends(h.tg_group, h.alice, "/delete", reply_to=original)
        signer, signature, data = await _record(h, "tombstone", target=cid)
        _check_signed(h, signer, signature, data, cid_v1_raw(data))
        await h.tg.wait_until(lambda: original.deleted, TIMEOUT)
        status, _, page = await _get(h, "/feed")
        assert cid not in page and "friends: hello" not in page
        assert "bob&#x27;s own words" in page
        assert [e.content[0].value for e in await _atom_entries(h)] == ["bob's own words"]
        # A reader folding the Waku records hides it too.
        bridge = to_address(h.bridge_public_key)
        history = await read_history(
            h.bridge.node, h.settings.feed.waku_chat, feed_pubsub_topic(h.settings)
        )
        shown = [e.text for e in fold(history, [bridge]) if not e.tombstoned]
        assert shown == ["bob's own words"]


@pytest.mark.chain
async def test_each_post_is_anchored_and_verifies_against_the_chain(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    contract = await deploy(w3, "Feed", private_key=anvil.private_keys[0])

    def configure(raw: dict[str, Any]) -> None:
        raw["chain"] = {
            "rpc_url": anvil.rpc_url,
            "chain_id": anvil.chain_id,
            "feed_contract": contract,
        }
        raw["feed"] = {"anchor": "each"}

    async with running_bridge(tmp_path, configure=configure) as h:
        bridge = to_address(h.bridge_public_key)
        # The bridge key pays for its anchors.
        await _rpc(w3, "anvil_setBalance", [bridge, hex(10**19)])

        original = h.tg.user_sends(h.tg_group, h.alice, "anchored words")
        await h.dc_copy("anchored words")
        cid = await _post_reply(h, original)
        signer, signature, data = await _record(h, "post")
        _check_signed(h, signer, signature, data, cid)

        signer, signature, anchor_data = await _record(h, "anchor")
        _check_signed(h, signer, signature, anchor_data, cid_v1_raw(anchor_data))
        anchor = json.loads(anchor_data)
        assert anchor["kind"] == "each" and anchor["chain_id"] == anvil.chain_id
        assert anchor["contract"].lower() == contract.lower()
        assert [e["cid"] for e in anchor["entries"]] == [cid]
        receipt = await w3.eth.get_transaction_receipt(anchor["tx"])
        assert receipt["status"] == 1 and receipt["blockNumber"] == anchor["block"]
        assert receipt["from"] == bridge

        # A reader: the records from Waku, folded, then checked against the chain's events.
        records = [
            signed
            for seen in h.waku.seen
            if (signed := decode_feed_message(seen.message, h.settings.feed.waku_chat))
        ]
        [entry] = fold(records, [bridge])
        assert entry.cid == cid and entry.anchor is not None
        events = await fetch_events(w3, contract, [entry.anchor.block])
        assert [e.kind for e in events] == ["each"]
        assert verify_entry(entry, events)
        assert not verify_entry(entry, [])

        status, _, page = await _get(h, "/feed")
        assert status == 200
        assert f"anchored (each) on chain {anvil.chain_id}, block {anchor['block']}" in page
        [atom] = await _atom_entries(h)
        assert atom.id == f"urn:cid:{cid}"


async def _rpc(w3: AsyncWeb3[Any], method: str, params: list[Any]) -> Any:
    from web3.types import RPCEndpoint

    reply = await w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]
