"""The Matrix adapter against a real Synapse: puppets, text, inbound transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

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
