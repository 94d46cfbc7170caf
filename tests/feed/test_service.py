"""/post end to end at the service level: router -> /post -> Waku feed topic -> readers."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser  # type: ignore[import-untyped]
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.registry import PLATFORMS
from bridge.commands import CommandReply, CommandRequest, Commands
from bridge.feed import POST_SPEC
from bridge.feed.entry import fold
from bridge.feed.reader import read_history
from bridge.feed.record import cid_v1_raw, parse_wire
from bridge.feed.web import atom_feed, entries_from_store, feed_routes
from bridge.model import Author, DeleteMessage, NativeId
from bridge.status import (
    ChatMessageFields,
    DeleteMessageFields,
    chat_key,
    chat_topic,
    parse_status_payload,
)
from bridge.store import feed as feed_rows
from bridge.waku.node import HistoryQuery
from crypto.keys import public_key, to_address
from crypto.payload import decrypt_symmetric
from tests.feed.conftest import ADDRESS, ALICE, BOB, FEED, KEY, PUBLIC_URL, PUBSUB, TG, WALLET, Rig


def request(author: Author, raw: str = "", reply_to: str | None = None) -> CommandRequest:
    return CommandRequest(
        name="post",
        args=tuple(raw.split()),
        raw_args=raw,
        chat=TG,
        author=author,
        reply_to=None if reply_to is None else NativeId(reply_to),
    )


def commands(rig: Rig) -> Commands:
    registry = Commands()
    registry.register(POST_SPEC, rig.service.handle_post)
    return registry


def cid_in(reply: CommandReply) -> str:
    match = re.search(r"feed#(b[a-z2-7]{58})", reply.text)
    assert match is not None, reply.text
    return match.group(1)


async def feed_messages(rig: Rig) -> list[bytes]:
    page = await rig.node.query(
        HistoryQuery(pubsub_topic=PUBSUB, content_topics=[chat_topic(FEED)], page_size=100)
    )
    plaintexts = []
    for received in page.messages:
        assert received.message.version == 1
        decoded = decrypt_symmetric(received.message.payload, chat_key(FEED))
        assert decoded.signer == public_key(KEY)  # Waku-level signature: the bridge key
        plaintexts.append(decoded.payload)
    return plaintexts


async def test_post_by_author_reaches_the_feed_topic(rig: Rig) -> None:
    stored = await rig.say("100", "Hello <feed> & world")
    reply = await commands(rig).handle(request(ALICE, reply_to="100"))
    assert reply.text.startswith("Posted to the feed:") and not reply.private
    cid = cid_in(reply)

    status_copy, record_message = await feed_messages(rig)
    envelope = parse_status_payload(status_copy)
    assert to_address(envelope.signer) == ADDRESS
    assert isinstance(envelope.content, ChatMessageFields)
    bridged = envelope.content.bridge
    assert bridged is not None and envelope.content.chat_id == FEED
    assert (bridged.content, bridged.user_name, bridged.message_id) == (
        "Hello <feed> & world",
        "Alice <3",
        cid,
    )

    signed = parse_wire(record_message)
    assert signed.cid == cid == cid_v1_raw(signed.data)
    assert signed.signer == ADDRESS
    record = signed.record
    assert record["text"] == "Hello <feed> & world"
    assert record["author"]["wallet"] == WALLET
    assert record["author"]["avatar"]["verified"] is True
    assert record["room"] == "main" and record["source"] == {
        "platform": "telegram",
        "chat": "-1001",
    }
    row = await feed_rows.by_cid(rig.store.db, cid)
    assert row is not None and row.published and row.source_message_id == stored.id

    again = await commands(rig).handle(request(ALICE, reply_to="100"))
    assert again.text.startswith("Already on the feed") and cid in again.text
    assert len(await feed_messages(rig)) == 2


async def test_post_refusals(rig: Rig) -> None:
    # Refusals reveal nothing: they are answered where /post was given, not privately.
    await rig.say("100", "mine")
    registry = commands(rig)
    reply = await registry.handle(request(BOB, reply_to="100"))
    assert not reply.private and "not your message" in reply.text
    reply = await registry.handle(request(ALICE, reply_to="999"))
    assert not reply.private and "can't find that message" in reply.text
    reply = await registry.handle(request(ALICE))
    assert not reply.private and reply.text.startswith("Nothing to post")
    assert "Usage: /post [text]" in reply.text
    await rig.say("101", "x" * 5000)
    reply = await registry.handle(request(ALICE, reply_to="101"))
    assert not reply.private and reply.text.startswith("Too long for the feed: 5000 characters")
    await rig.say("102", "   ")
    reply = await registry.handle(request(ALICE, reply_to="102"))
    assert not reply.private and "no text" in reply.text
    assert await feed_messages(rig) == []


async def test_post_text_directly(rig: Rig) -> None:
    reply = await commands(rig).handle(request(BOB, raw="straight to the feed"))
    cid = cid_in(reply)
    (entry,) = fold(await read_history(rig.node, FEED, PUBSUB), [ADDRESS])
    assert entry.cid == cid and entry.text == "straight to the feed" and entry.trusted
    assert entry.record["room"] == "main"


async def test_auto_post_rooms(rig: Rig) -> None:
    stored = await rig.say("100", "automatic")
    await rig.service.on_new_message(stored)  # "main" is not an auto-post room here
    assert await feed_messages(rig) == []
    from tests.feed.conftest import make_service

    auto = make_service(rig.store, rig.node, rig.router, auto_post_rooms=["main"])
    await auto.on_new_message(stored)
    await auto.on_new_message(stored)  # a second call posts nothing new
    (entry,) = fold(await read_history(rig.node, FEED, PUBSUB), [ADDRESS])
    assert entry.text == "automatic"


async def test_tombstone_hides_the_entry_everywhere(rig: Rig) -> None:
    kept = cid_in(await commands(rig).handle(request(BOB, raw="stays & <visible>")))
    stored = await rig.say("100", "regrettable")
    gone = cid_in(await commands(rig).handle(request(ALICE, reply_to="100")))

    await rig.router.handle(DeleteMessage(TG, NativeId("100")))
    await rig.service.on_deleted(stored.id)
    await rig.service.on_deleted(stored.id)  # idempotent

    plaintexts = await feed_messages(rig)
    deletes = [
        env.content
        for p in plaintexts
        if not p.startswith(b"PARLEY-FEED/1")
        for env in [parse_status_payload(p)]
        if isinstance(env.content, DeleteMessageFields)
    ]
    assert len(deletes) == 1  # Status clients drop the copy too
    tombstones = [parse_wire(p) for p in plaintexts if p.startswith(b"PARLEY-FEED/1")]
    assert [t.record["target"] for t in tombstones if t.type == "tombstone"] == [gone]

    entries = fold(await read_history(rig.node, FEED, PUBSUB), [ADDRESS])
    assert {e.cid: e.tombstoned for e in entries} == {kept: False, gone: True}

    app = web.Application()
    feed_routes(lambda: rig.store, public_url=PUBLIC_URL, title="Our <feed>")(app)
    async with TestClient(TestServer(app)) as client:
        page = await (await client.get("/feed")).text()
        atom = await (await client.get("/feed.atom")).read()
        content_type = (await client.get("/feed.atom")).headers["Content-Type"]
    assert "regrettable" not in page and gone not in page
    assert "stays &amp; &lt;visible&gt;" in page and "<visible>" not in page
    assert "Our &lt;feed&gt;" in page
    assert "https://evil.example" not in page  # only our /avatars/ URLs are shown
    assert content_type.startswith("application/atom+xml")
    assert b"regrettable" not in atom

    parsed = feedparser.parse(atom)
    assert parsed.bozo == 0
    assert parsed.feed.title == "Our <feed>"
    assert [e.id for e in parsed.entries] == [f"urn:cid:{kept}"]
    assert parsed.entries[0].author == "Bob"
    assert parsed.entries[0].content[0].value == "stays & <visible>"


async def test_page_and_atom_show_authors_wallets_avatars(rig: Rig) -> None:
    await rig.say("100", "first\nsecond line\x01")
    cid = cid_in(await commands(rig).handle(request(ALICE, reply_to="100")))
    entries = await entries_from_store(rig.store)
    atom = atom_feed(entries, public_url=PUBLIC_URL, title="t")
    parsed = feedparser.parse(atom)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    (entry,) = parsed.entries
    assert entry.id == f"urn:cid:{cid}" and entry.title == "first"
    assert entry.author == "Alice <3" and entry.link == f"{PUBLIC_URL}/feed#{cid}"
    assert entry.content[0].type == "text/plain"
    assert parsed.feed.id == f"{PUBLIC_URL}/feed" and parsed.feed.updated

    from bridge.feed.web import feed_page

    page = feed_page(entries, public_url=PUBLIC_URL, title="t")
    assert f'src="{PUBLIC_URL}/avatars/abc.png"' in page
    assert WALLET in page and "Alice &lt;3" in page and cid in page


async def test_install_feed_registers_post(tmp_path: Path) -> None:
    from bridge.app import Bridge
    from bridge.config import parse_config
    from bridge.feed import install_feed

    settings = parse_config({}, base_dir=tmp_path, env={}, platforms=PLATFORMS)
    registry = Commands()
    feature = install_feed(Bridge(settings, KEY), registry, None)
    assert registry.spec("post") == POST_SPEC
    reply = await registry.handle(request(ALICE, raw="early"))
    assert not reply.private and "not running yet" in reply.text
    assert feature.service is None


def test_the_feed_finds_rooms_as_the_router_does() -> None:
    """A /post from a Status community channel belongs to its room (the feed used to rebuild
    the rooms from waku_chat alone, which a community room does not set)."""
    from bridge.config import settings_model
    from bridge.feed.feature import FeedFeature
    from bridge.model import ChatId, ChatRef

    settings = settings_model(PLATFORMS).model_validate(
        {
            "rooms": [
                {
                    "name": "town",
                    "status_community": "https://status.app/c#"
                    "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11",
                    "status_channel": "general",
                    "chats": ["matrix:!hall:example.org"],
                },
                {"name": "lobby", "waku_chat": "parley-lobby", "telegram_chats": [-1001]},
            ]
        }
    )
    feature = FeedFeature(settings, KEY, None)
    assert feature._room_of(ChatRef("waku", ChatId("status:town"))) == "town"
    assert feature._room_of(ChatRef("matrix", ChatId("!hall:example.org"))) == "town"
    assert feature._room_of(ChatRef("waku", ChatId("parley-lobby"))) == "lobby"
    assert feature._room_of(ChatRef("telegram", ChatId("-1001"))) == "lobby"
    assert feature._room_of(ChatRef("telegram", ChatId("-1002"))) is None
