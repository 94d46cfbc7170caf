"""Private messages on Matrix against the real Synapse: one direct room per person, made by the
bot with ``is_direct``, remembered in the store and reused; private command answers go there."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mautrix.api import Method, Path
from mautrix.types import EventType, RoomID, UserID

from bridge.commands import CommandReply, CommandRequest, CommandSpec
from bridge.model import Feature
from bridge.store import kv
from tests.matrix.synapse import Synapse
from tests.matrix.world import MatrixWorld, matrix_world


@pytest.fixture
async def world(synapse: Synapse) -> AsyncIterator[MatrixWorld]:
    async with matrix_world(synapse) as w:
        yield w


async def _invites(world: MatrixWorld) -> dict[str, Any]:
    """The rooms alice is invited to, as her client's /sync shows them."""
    reply = await world.alice.client.sync(timeout=0)
    invites: dict[str, Any] = reply.get("rooms", {}).get("invite", {})
    return invites


async def _notices(world: MatrixWorld, room: RoomID) -> list[str]:
    reply = await world.alice.client.api.request(
        Method.GET, Path.v3.rooms[room].messages, query_params={"dir": "b", "limit": "50"}
    )
    return [
        e["content"]["body"]
        for e in reversed(reply["chunk"])
        if e["type"] == "m.room.message" and e["sender"] == world.bot_mxid
    ]


async def _direct_room(world: MatrixWorld) -> RoomID:
    raw = await kv.get(world.store.db, f"matrix.dm.{world.alice.user_id}")
    assert raw is not None
    return RoomID(raw)


async def test_send_private_opens_one_direct_room_and_reuses_it(world: MatrixWorld) -> None:
    assert Feature.PRIVATE_MESSAGES in world.adapter.capabilities
    alice = str(world.alice.user_id)
    assert await world.adapter.send_private(alice, "first secret")
    room = await _direct_room(world)
    invite = (await _invites(world))[room]
    me = next(
        e
        for e in invite["invite_state"]["events"]
        if e["type"] == "m.room.member" and e["state_key"] == alice
    )
    assert me["content"]["membership"] == "invite" and me["content"]["is_direct"] is True
    assert me["sender"] == world.bot_mxid

    assert await world.adapter.send_private(alice, "second secret")
    # A new adapter over the same store (a restart) finds the room again.
    await world.stop_adapter(hold=False)
    await world.start_adapter(world.new_adapter())
    assert await world.adapter.send_private(alice, "third secret")
    assert await _direct_room(world) == room
    assert list(await _invites(world)) == [room]
    await world.alice.client.join_room(room)
    assert await _notices(world, room) == ["first secret", "second secret", "third secret"]


async def test_a_direct_room_the_person_left_is_replaced(world: MatrixWorld) -> None:
    alice = str(world.alice.user_id)
    assert await world.adapter.send_private(alice, "hello")
    old = await _direct_room(world)
    await world.alice.client.join_room(old)
    await world.alice.client.leave_room(old)
    assert await world.adapter.send_private(alice, "hello again")
    new = await _direct_room(world)
    assert new != old
    await world.alice.client.join_room(new)
    assert await _notices(world, new) == ["hello again"]


async def test_send_private_refuses_what_it_cannot_reach(world: MatrixWorld) -> None:
    server = world.synapse.server_name
    assert not await world.adapter.send_private("not a user id", "x")
    assert not await world.adapter.send_private(str(world.bot_mxid), "x")
    assert not await world.adapter.send_private(f"@parley_telegram_1:{server}", "x")
    # Synapse refuses to invite one of its users that does not exist.
    assert not await world.adapter.send_private(f"@nobody:{server}", "x")
    assert await kv.get(world.store.db, f"matrix.dm.@nobody:{server}") is None


async def test_say_in_chat_posts_a_notice_as_the_bot(world: MatrixWorld) -> None:
    assert await world.adapter.say_in_chat(str(world.room), "a word from the bridge")
    [event] = [e for e in await world.messages() if e["sender"] == world.bot_mxid]
    assert event["content"] == {"msgtype": "m.notice", "body": "a word from the bridge"}
    assert not await world.adapter.say_in_chat("not-a-room", "x")
    stranger = await world.alice.client.create_room()  # the bot is not in it
    assert not await world.adapter.say_in_chat(str(stranger), "x")


async def test_private_command_answers_go_to_the_direct_room(world: MatrixWorld) -> None:
    seen: list[CommandRequest] = []

    async def link(request: CommandRequest) -> CommandReply:
        seen.append(request)
        return CommandReply("your one-time link: https://bridge.example/link/abc", private=True)

    world.commands.register(CommandSpec("link", "Link a wallet", private_reply=True), link)
    await world.stop_adapter(hold=False)
    await world.start_adapter(world.new_adapter())  # it learns the commands when made

    await world.say({"msgtype": "m.text", "body": "!link"})
    alice = str(world.alice.user_id)
    said = await world.wait_timeline(
        lambda events: [
            e["content"]["body"]
            for e in events
            if e["sender"] == world.bot_mxid and e["type"] == "m.room.message"
        ]
    )
    # The room hears where the answer went, never the link itself.
    assert said == [f"{alice}: the answer is in your direct chat with me."]
    assert not seen[0].is_private
    room = await _direct_room(world)
    await world.alice.client.join_room(room)
    assert await _notices(world, room) == ["your one-time link: https://bridge.example/link/abc"]

    # Asked in the direct room itself, the command is private and answered there.
    await world.alice.client.send_message_event(
        room,
        EventType.ROOM_MESSAGE,
        {"msgtype": "m.text", "body": "!link"},  # type: ignore[arg-type]
    )
    await world.sink.wait_for(lambda: len(seen) == 2)
    assert seen[1].is_private and seen[1].chat.chat_id == str(room)
    async with asyncio.timeout(20):
        while True:
            notices = await _notices(world, room)
            if len(notices) == 2:
                break
            await asyncio.sleep(0.1)
    assert notices[1] == "your one-time link: https://bridge.example/link/abc"


def test_user_ids_are_checked_before_anything_is_asked() -> None:
    from bots.matrix.direct import DirectRooms

    assert DirectRooms.valid_user("@alice:example.org")
    assert not DirectRooms.valid_user("@Alice:example.org")  # localparts are lower-case
    assert not DirectRooms.valid_user(UserID("alice:example.org"))
