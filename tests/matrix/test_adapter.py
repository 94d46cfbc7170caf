"""The Matrix adapter against a real Synapse: puppets, text, inbound transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from mautrix.types import RoomID, UserID

from bridge.model import (
    Author,
    ChatId,
    ChatRef,
    NativeId,
    NewMessage,
    OutboundMessage,
    RichText,
    UserId,
)
from bridge.nft.safe_fetch import DEFAULT_POLICY
from tests.conformance.matrix_driver import FileServer
from tests.matrix.synapse import Synapse
from tests.matrix.world import MatrixWorld, matrix_world

TG = ChatRef("telegram", ChatId("-1001"))
BOB = Author("telegram", UserId("42"), "Bob Builder", username="bob")


def message(world: MatrixWorld, text: str, key: str, **extra: object) -> OutboundMessage:
    return OutboundMessage(
        target=world.chat,
        idempotency_key=key,
        room="main",
        source=TG,
        author=BOB,
        text=RichText(text),
        sent_at=datetime.now(UTC),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def world(synapse: Synapse) -> AsyncIterator[MatrixWorld]:
    async with matrix_world(synapse) as w:
        yield w


async def test_send_posts_as_the_authors_puppet(world: MatrixWorld) -> None:
    native = await world.adapter.send(message(world, "hello from telegram", "k1"))
    [event] = [e for e in await world.messages() if e["event_id"] == native]
    assert event["sender"] == f"@parley_telegram_42:{world.synapse.server_name}"
    assert event["content"]["body"] == "hello from telegram"
    profile = await world.alice.client.get_profile(event["sender"])
    assert profile.displayname == "Bob Builder (Telegram)"


async def test_inbound_message_reaches_the_sink_with_display_name(world: MatrixWorld) -> None:
    event_id = await world.say({"msgtype": "m.text", "body": "hi from matrix"})
    [event] = await world.sink.next()
    assert isinstance(event, NewMessage)
    assert event.native_id == NativeId(event_id)
    assert event.text.text == "hi from matrix"
    assert event.author.platform == "matrix"
    assert event.author.user_id == str(world.alice.user_id)
    assert event.author.display_name == world.alice.user_id.split(":")[0][1:]


async def test_own_puppet_messages_are_not_echoed(world: MatrixWorld) -> None:
    await world.adapter.send(message(world, "echo?", "k2"))
    await world.say({"msgtype": "m.text", "body": "after"})
    await world.sink.next()
    assert [e.text.text for e in world.sink.events if isinstance(e, NewMessage)] == ["after"]


async def test_listener_refuses_a_wrong_hs_token(world: MatrixWorld) -> None:
    url = f"http://127.0.0.1:{world.adapter.listen_port}/_matrix/app/v1/transactions/forged"
    event = {
        "type": "m.room.message",
        "room_id": world.room,
        "sender": "@mallory:evil.example",
        "event_id": "$forged",
        "content": {"msgtype": "m.text", "body": "forged"},
    }
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        async with world.session.put(url, json={"events": [event]}, headers=headers) as resp:
            assert resp.status == 403
    garbage: list[object] = [
        1,
        {"type": "m.room.message"},
        {**event, "content": "not a dict"},
        {**event, "type": "m.reaction", "content": {"m.relates_to": {"key": "x" * 500}}},
    ]
    token = {"Authorization": f"Bearer {world.synapse.registration.hs_token}"}
    async with world.session.put(url, json={"events": garbage}, headers=token) as resp:
        assert resp.status == 200
    await world.say({"msgtype": "m.text", "body": "real"})
    await world.sink.next()
    assert [e.text.text for e in world.sink.events if isinstance(e, NewMessage)] == ["real"]


async def test_announcements_are_notices_from_the_bot(world: MatrixWorld) -> None:
    delivery = OutboundMessage(
        target=world.chat,
        idempotency_key="ann1",
        room="main",
        source=world.chat,
        author=Author("matrix", UserId("parley"), "parley"),
        text=RichText("the bridge speaks"),
        sent_at=datetime.now(UTC),
    )
    native = await world.adapter.send(delivery)
    [event] = [e for e in await world.messages() if e["event_id"] == native]
    assert event["sender"] == world.bot_mxid
    assert event["content"]["msgtype"] == "m.notice"


async def test_bang_commands_are_answered_not_relayed(world: MatrixWorld) -> None:
    await world.say({"msgtype": "m.text", "body": "!help"})
    notice = await world.wait_timeline(
        lambda events: next(
            (
                e
                for e in events
                if e["sender"] == world.bot_mxid and e["content"].get("msgtype") == "m.notice"
            ),
            None,
        )
    )
    assert "/help" in notice["content"]["body"]
    await world.say({"msgtype": "m.text", "body": "!not_a_command stays a message"})
    [event] = await world.sink.next()
    assert isinstance(event, NewMessage) and event.text.text.startswith("!not_a_command")


async def test_the_bot_accepts_invites_only_to_its_rooms(world: MatrixWorld) -> None:
    client = world.alice.client
    stranger = await client.create_room(invitees=[UserID(world.bot_mxid)])
    left = await client.create_room()
    world.adapter.join_chat(world.adapter.chat(left))
    world.adapter.leave_chat(world.adapter.chat(left))  # /room leave before the invite came
    await client.invite_user(left, UserID(world.bot_mxid))
    served = await client.create_room()
    world.adapter.join_chat(world.adapter.chat(served))
    await client.invite_user(served, UserID(world.bot_mxid))

    def joined(room: str) -> Any:
        async def check() -> bool:
            members = await client.get_joined_members(RoomID(room))
            return world.bot_mxid in members

        return check

    async with asyncio.timeout(20):
        while not await joined(served)():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    assert not await joined(stranger)()
    assert not await joined(left)()


async def test_verified_avatar_from_the_bridges_own_url(world: MatrixWorld) -> None:
    files = FileServer()
    await files.server.start()
    try:
        own = files.add(b"\x89PNG\r\n\x1a\n" + b"nft" * 10)
        # The prefix stands for "<public_url>/avatars/": here, just that one file.
        adapter = world.new_adapter(own_avatar_prefix=own, fetch_policy=DEFAULT_POLICY)
        await world.stop_adapter(hold=True)
        await world.start_adapter(adapter)
        nft = Author("discord", UserId("7"), "Nia", avatar_url=own)
        stranger = Author("discord", UserId("8"), "Sam", avatar_url=files.add(b"\x89PNG"))
        for who in (nft, stranger):
            delivery = OutboundMessage(
                target=world.chat,
                idempotency_key=f"av-{who.user_id}",
                room="main",
                source=TG,
                author=who,
                text=RichText("hi"),
                sent_at=datetime.now(UTC),
            )
            await adapter.send(delivery)
        verified = await world.alice.client.get_profile(adapter.puppets.mxid(nft))
        assert verified.avatar_url
        assert await world.alice.client.download_media(verified.avatar_url) == (
            b"\x89PNG\r\n\x1a\n" + b"nft" * 10
        )
        # Anyone else's avatar on a loopback address is refused by the guarded fetcher:
        # the message still goes out, without the avatar.
        refused = await world.alice.client.get_profile(adapter.puppets.mxid(stranger))
        assert not refused.avatar_url
    finally:
        await files.server.stop()
