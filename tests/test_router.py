from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.registry import PLATFORMS
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.config import parse_config
from bridge.model import (
    ChatRef,
    DeleteMessage,
    EditMessage,
    NativeId,
    Reaction,
    RichText,
    WakuChatId,
)
from bridge.router import Room, Router, rooms_from_settings
from tests.fakes.relay_adapter import DC, TG, TG2, WK, Relay, author, new_message

WHEN = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    relay = await Relay(tmp_path / "parley.db").open()
    yield relay
    await relay.close()


def only(ids: Mapping[NativeId, object]) -> NativeId:
    assert len(ids) == 1
    return next(iter(ids))


async def test_message_fans_out_to_every_member_but_its_source(relay: Relay) -> None:
    await relay.handle(new_message(TG, "10", "hello"))
    await relay.settle()

    assert relay.tg.calls == []
    for adapter, target in ((relay.dc, DC), (relay.wk, WK)):
        [sent] = adapter.sends(target)
        assert sent.text == RichText("hello")
        assert sent.source == TG
        assert sent.room == "lobby"
        assert sent.author.display_name == "Alice"
        assert sent.reply_to is None


async def test_reply_parent_is_resolved_in_each_target(relay: Relay) -> None:
    await relay.handle(new_message(TG, "10", "question"))
    await relay.settle()
    parent_in_dc = only(relay.dc.posted[DC])
    parent_in_wk = only(relay.wk.posted[WK])

    # Someone on Discord answers the bridged copy of the question.
    await relay.handle(new_message(DC, "900", "answer", reply_to=parent_in_dc))
    await relay.settle()

    [reply_in_tg] = relay.tg.sends(TG)
    assert reply_in_tg.reply_to == "10"  # the original, as Telegram knows it
    reply_in_wk = relay.wk.sends(WK)[-1]
    assert reply_in_wk.text.text == "answer"
    assert reply_in_wk.reply_to == parent_in_wk


async def test_reply_to_an_unknown_parent_is_sent_without_one(relay: Relay) -> None:
    await relay.handle(new_message(TG, "11", "re: something older", reply_to="3"))
    await relay.settle()
    assert [m.reply_to for m in relay.dc.sends(DC)] == [None]


async def test_the_same_message_twice_is_relayed_once(relay: Relay) -> None:
    event = new_message(TG, "10", "hello")
    await relay.handle(event)
    await relay.handle(event)
    await relay.settle()
    assert len(relay.dc.sends(DC)) == 1
    assert len(relay.wk.sends(WK)) == 1
    async with relay.store.db.execute("SELECT COUNT(*) FROM relay_messages") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 1


async def test_the_bridges_own_copies_do_not_loop(relay: Relay) -> None:
    await relay.handle(new_message(TG, "10", "hello"))
    await relay.settle()
    copy_in_dc = only(relay.dc.posted[DC])

    # The platform echoes the bridge's own message, then an edit and a delete of it.
    await relay.handle(new_message(DC, copy_in_dc, "hello", who=author("discord", "parley")))
    await relay.handle(EditMessage(DC, copy_in_dc, RichText("x"), WHEN))
    await relay.handle(DeleteMessage(DC, copy_in_dc))
    await relay.settle()

    assert relay.tg.calls == []
    assert len(relay.wk.calls) == 1
    assert len(relay.dc.calls) == 1


async def test_unknown_chats_are_ignored_and_logged_once(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = telegram_chat(TelegramChatId(-999))
    with caplog.at_level(logging.INFO, logger="bridge.router"):
        await relay.handle(new_message(stranger, "1", "anyone?"))
        await relay.handle(new_message(stranger, "2", "hello?"))
    await relay.settle()
    assert relay.dc.calls == [] and relay.wk.calls == []
    assert sum("in no room" in r.getMessage() for r in caplog.records) == 1


async def test_edit_delete_and_reaction_follow_the_message(relay: Relay) -> None:
    await relay.handle(new_message(TG, "10", "helo"))
    await relay.settle()
    in_dc, in_wk = only(relay.dc.posted[DC]), only(relay.wk.posted[WK])

    await relay.handle(EditMessage(TG, NativeId("10"), RichText("hello"), WHEN))
    await relay.settle()
    assert relay.dc.texts[in_dc] == "hello"
    assert relay.wk.texts[in_wk] == "hello"

    # A reaction on the Discord copy goes to the original and to Waku, not back to Discord.
    await relay.handle(Reaction(DC, in_dc, "👍", True, author("discord", "bob")))
    await relay.settle()
    assert [(r.target, r.native_id, r.emoji) for r in relay.tg.reactions] == [(TG, "10", "👍")]
    assert [(r.native_id, r.author.display_name) for r in relay.wk.reactions] == [(in_wk, "Bob")]
    assert relay.dc.reactions == []

    await relay.handle(DeleteMessage(TG, NativeId("10")))
    await relay.settle()
    assert relay.dc.deleted == {in_dc}
    assert relay.wk.deleted == {in_wk}
    stored = await relay.router.lookup(DC, in_dc)
    assert stored is not None and stored.deleted and stored.text.text == "hello"


async def test_an_edit_waits_for_its_pending_original(relay: Relay) -> None:
    relay.dc.hold = hold = asyncio.Event()
    await relay.handle(new_message(TG, "10", "v1"))
    await relay.handle(EditMessage(TG, NativeId("10"), RichText("v2"), WHEN))
    await relay.handle(DeleteMessage(TG, NativeId("10")))
    async with asyncio.timeout(30):
        await relay.dc.held.wait()
    assert relay.dc.calls == []  # the send is in flight, the edit and delete queued behind it
    states = [(r.kind, r.state) for r in await relay.rows() if r.target == DC]
    assert states == [("send", "sending"), ("edit", "pending"), ("delete", "pending")]

    hold.set()
    await relay.settle()
    kinds = [c.delivery.kind for c in relay.dc.calls]
    assert kinds == ["send", "edit", "delete"]
    native = only(relay.dc.posted[DC])
    assert relay.dc.texts[native] == "v2"
    assert relay.dc.deleted == {native}


async def test_lookup_finds_the_message_behind_any_copy(relay: Relay) -> None:
    await relay.handle(new_message(TG, "10", "who wrote me?", who=author("telegram", "carol")))
    await relay.settle()
    copy = only(relay.wk.posted[WK])
    for chat, native in ((WK, copy), (TG, NativeId("10"))):
        found = await relay.router.lookup(chat, native)
        assert found is not None
        assert found.author.username == "carol"
        assert found.source == TG
    assert await relay.router.lookup(WK, NativeId("nope")) is None


async def test_rooms_come_from_typed_settings(tmp_path: Path) -> None:
    settings = parse_config(
        {
            "rooms": [
                {
                    "name": "lobby",
                    "telegram_chats": [-1001, -1002],
                    "discord_channels": [555],
                    "waku_chat": "parley",
                },
                {"name": "quiet", "telegram_chats": [-1003]},
            ]
        },
        base_dir=tmp_path,
        env={},
        platforms=PLATFORMS,
    )
    rooms = rooms_from_settings(settings.rooms)
    assert rooms == [
        Room("lobby", (TG, TG2, DC, WK)),
        Room("quiet", (telegram_chat(TelegramChatId(-1003)),)),
    ]
    relay = await Relay(tmp_path / "p.db", rooms).open()
    try:
        assert relay.router.room_of(discord_channel(DiscordChannelId(555))) == rooms[0]
        assert relay.router.room_of(ChatRef.waku(WakuChatId("other"))) is None
        # Two Telegram chats in one room see each other through the bridge.
        await relay.handle(new_message(TG2, "1", "from the second group"))
        await relay.settle()
        assert [m.text.text for m in relay.tg.sends(TG)] == ["from the second group"]
    finally:
        await relay.close()


async def test_a_chat_in_two_rooms_is_refused(relay: Relay) -> None:
    with pytest.raises(ValueError, match="two rooms"):
        Router(relay.store, [Room("a", (TG, DC)), Room("b", (DC, WK))])
