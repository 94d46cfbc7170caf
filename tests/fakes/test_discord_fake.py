"""The Discord stand-in against the real discord.py 2.7 client."""

from __future__ import annotations

import asyncio
import contextlib
import io
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
import pytest

from tests.fakes.discord import (
    EVERYONE_PERMISSIONS,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)

with warnings.catch_warnings():
    # discord.py imports the deprecated audioop module; filterwarnings=error would refuse it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import discord
    from discord import app_commands

TIMEOUT = 10.0
T = TypeVar("T")


class RecordingClient(discord.Client):
    """A plain discord.py client that queues what it is told."""

    def __init__(self, *, intents: discord.Intents) -> None:
        super().__init__(intents=intents, guild_ready_timeout=0.1)
        self.received: asyncio.Queue[discord.Message] = asyncio.Queue()
        self.edits: asyncio.Queue[tuple[discord.Message, discord.Message]] = asyncio.Queue()
        self.raw_edits: asyncio.Queue[discord.RawMessageUpdateEvent] = asyncio.Queue()
        self.deletes: asyncio.Queue[discord.RawMessageDeleteEvent] = asyncio.Queue()
        self.reactions: asyncio.Queue[discord.RawReactionActionEvent] = asyncio.Queue()
        self.resumed = 0

    async def on_message(self, message: discord.Message) -> None:
        await self.received.put(message)

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        await self.edits.put((before, after))

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.raw_edits.put(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.deletes.put(payload)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.reactions.put(payload)

    async def on_resumed(self) -> None:
        self.resumed += 1


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser


def all_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    return intents


async def next_item(queue: asyncio.Queue[T]) -> T:
    return await asyncio.wait_for(queue.get(), TIMEOUT)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    fake = FakeDiscord()
    guild = fake.add_guild("Parley")
    channel = fake.add_text_channel(guild, "general")
    alice = fake.add_member(guild, "alice", global_name="Alice")
    async with fake.running():
        yield World(fake, guild, channel, alice)


@contextlib.asynccontextmanager
async def connected(
    fake: FakeDiscord, client: RecordingClient | None = None
) -> AsyncIterator[RecordingClient]:
    client = client or RecordingClient(intents=all_intents())
    await client.login(fake.token)
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), TIMEOUT)
        yield client
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, TIMEOUT)


async def test_login_ready_and_a_user_message(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        assert client.user is not None and client.user.id == fake.bot_user.id
        assert client.application_id == fake.application_id
        guild = client.get_guild(world.guild.id)
        assert guild is not None and guild.name == "Parley"
        assert [c.name for c in guild.text_channels] == ["general"]
        identify = fake.identifies[0]
        assert identify["intents"] == all_intents().value
        # The members intent makes discord.py chunk the guild (op 8, answered with its nonce).
        request = next(f for f in fake.gateway_received if f["op"] == 8)
        chunk = fake.events("GUILD_MEMBERS_CHUNK")[0]
        assert chunk.data["nonce"] == request["d"]["nonce"]
        assert guild.get_member(world.alice.id) is not None

        sent = fake.user_sends(world.channel.id, world.alice, "hello bridge")
        message = await next_item(client.received)
        assert message.id == int(sent["id"])
        assert message.content == "hello bridge"
        assert message.author.id == world.alice.id
        assert isinstance(message.author, discord.Member)
        assert message.author.display_name == "Alice"
        assert message.guild is not None and message.guild.id == world.guild.id
        assert message.webhook_id is None


async def test_a_bad_token_is_a_login_failure(world: World) -> None:
    client = discord.Client(intents=all_intents())
    try:
        with pytest.raises(discord.LoginFailure):
            await client.login("not-the-token")
    finally:
        await client.close()
    assert world.fake.rest_calls[0].status == 401


async def test_without_the_message_content_intent_content_is_empty(world: World) -> None:
    intents = discord.Intents.default()
    async with connected(world.fake, RecordingClient(intents=intents)) as client:
        world.fake.user_sends(world.channel.id, world.alice, "secret words")
        message = await next_item(client.received)
        assert message.content == ""
        # Mentioning the bot lets the content through, as on Discord.
        world.fake.user_sends(world.channel.id, world.alice, f"<@{world.fake.bot_user.id}> hi")
        message = await next_item(client.received)
        assert message.content.endswith("hi")


async def test_an_ungranted_privileged_intent_closes_with_4014() -> None:
    fake = FakeDiscord(granted_intents=0)
    fake.add_text_channel(fake.add_guild(), "general")
    async with fake.running():
        client = RecordingClient(intents=all_intents())
        await client.login(fake.token)
        try:
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await asyncio.wait_for(client.connect(), TIMEOUT)
        finally:
            await client.close()


async def test_bot_messages_replies_and_their_echo(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("hi all")
        echo = await next_item(client.received)
        assert echo.id == sent.id and echo.author == client.user

        original = fake.user_sends(world.channel.id, world.alice, "question?")
        await next_item(client.received)
        parent = await channel.fetch_message(int(original["id"]))
        reply = await parent.reply(
            "answer", allowed_mentions=discord.AllowedMentions.none(), mention_author=False
        )
        assert reply.reference is not None and reply.reference.message_id == parent.id
        assert reply.type is discord.MessageType.reply
        echo = await next_item(client.received)
        assert echo.reference is not None and echo.reference.message_id == parent.id

        stored = fake.message(world.channel.id, reply.id)
        assert stored["content"] == "answer"
        assert stored["mentions"] == []
        call = fake.requests("POST /channels/*/messages")[-1]
        assert call.json["allowed_mentions"] == {"parse": [], "replied_user": False}
        assert [m["content"] for m in fake.messages(world.channel.id)] == [
            "hi all",
            "question?",
            "answer",
        ]

        with pytest.raises(discord.HTTPException) as info:
            await channel.send("x" * 2001)
        assert info.value.status == 400 and info.value.code == 50035


async def test_edits_deletes_and_reactions(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("first")
        await next_item(client.received)
        edited = await sent.edit(content="second")
        assert edited.content == "second" and edited.edited_at is not None
        _before, after = await next_item(client.edits)
        assert after.content == "second"
        assert (await next_item(client.raw_edits)).message.content == "second"
        assert fake.message(world.channel.id, sent.id)["content"] == "second"

        await sent.add_reaction("👍")
        reactions = fake.message(world.channel.id, sent.id)["reactions"]
        assert reactions[0]["emoji"]["name"] == "👍" and reactions[0]["me"]
        await next_item(client.reactions)  # the bot's own reaction is echoed too
        fake.user_reacts(world.channel.id, sent.id, world.alice, "🎉")
        raw = await next_item(client.reactions)
        assert raw.user_id == world.alice.id and str(raw.emoji) == "🎉"

        await sent.delete()
        deleted = await next_item(client.deletes)
        assert deleted.message_id == sent.id
        assert fake.messages(world.channel.id) == []

        theirs = fake.user_sends(world.channel.id, world.alice, "typo")
        await next_item(client.received)
        fake.user_edits(world.channel.id, int(theirs["id"]), "fixed")
        raw_edit = await next_item(client.raw_edits)
        assert raw_edit.message.content == "fixed"
        fake.user_deletes(world.channel.id, int(theirs["id"]))
        assert (await next_item(client.deletes)).message_id == int(theirs["id"])


async def test_webhook_send_edit_delete(world: World) -> None:
    fake = world.fake
    hook = fake.add_webhook(world.channel.id, "Parley relay")
    async with connected(fake) as client, aiohttp.ClientSession() as session:
        webhook = discord.Webhook.partial(hook.id, hook.token, session=session)
        sent = await webhook.send(
            "from telegram",
            username="bob (telegram)",
            avatar_url="https://example.org/bob.png",
            allowed_mentions=discord.AllowedMentions.none(),
            wait=True,
        )
        assert sent.webhook_id == hook.id
        assert sent.author.name == "bob (telegram)"
        execution = fake.webhook_executions[-1]
        assert execution.username == "bob (telegram)"
        assert execution.avatar_url == "https://example.org/bob.png"
        assert execution.allowed_mentions == {"parse": []}
        echo = await next_item(client.received)
        assert echo.id == sent.id and echo.webhook_id == hook.id

        await sent.edit(content="edited from telegram")
        after = (await next_item(client.raw_edits)).message
        assert after.content == "edited from telegram"
        await sent.delete()
        assert (await next_item(client.deletes)).message_id == sent.id

        with pytest.raises(discord.HTTPException) as info:
            await webhook.send("x", username="Discord admin", wait=True)
        assert info.value.status == 400
        with pytest.raises(discord.NotFound):
            await discord.Webhook.partial(hook.id + 1, hook.token, session=session).send("x")


async def test_creating_a_channel_webhook_needs_manage_webhooks(world: World) -> None:
    fake = world.fake
    weak_guild = fake.add_guild("Weak", bot_permissions=EVERYONE_PERMISSIONS)
    weak_channel = fake.add_text_channel(weak_guild, "locked")
    async with connected(fake) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        assert channel.permissions_for(channel.guild.me).manage_webhooks
        created = await channel.create_webhook(name="Parley")
        assert created.token is not None and created.id in fake.webhooks
        assert [w.id for w in await channel.webhooks()] == [created.id]

        locked = client.get_channel(weak_channel.id)
        assert isinstance(locked, discord.TextChannel)
        assert not locked.permissions_for(locked.guild.me).manage_webhooks
        with pytest.raises(discord.Forbidden) as info:
            await locked.create_webhook(name="Parley")
        assert info.value.code == 50013


async def test_429_with_via_is_retried_without_via_it_is_an_error(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail_next("POST /channels/*/messages", 429, retry_after=0.01)
        await channel.send("patient")
        assert [c.status for c in fake.requests("POST /channels/*/messages")] == [429, 200]
        assert len(fake.messages(world.channel.id)) == 1

        fake.fail_next("POST /channels/*/messages", 429, retry_after=0.01, via=False)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send("banned")
        assert info.value.status == 429
        assert len(fake.messages(world.channel.id)) == 1


async def test_500_is_retried(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        fake.fail_next("POST /channels/*/messages", 500)
        await channel.send("eventually")  # discord.py sleeps 1 s before the retry
        assert [c.status for c in fake.requests("POST /channels/*/messages")] == [500, 200]
        assert [m["content"] for m in fake.messages(world.channel.id)] == ["eventually"]


async def test_a_dropped_gateway_resumes_without_losing_or_repeating_events(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        fake.drop_gateway()
        fake.user_sends(world.channel.id, world.alice, "while you were away")
        message = await next_item(client.received)
        assert message.content == "while you were away"
        await fake.wait_for(lambda: fake.events("RESUMED"))
        assert len(fake.resumes) == 1 and len(fake.identifies) == 1

        fake.send_reconnect()
        fake.user_sends(world.channel.id, world.alice, "after op 7")
        message = await next_item(client.received)
        assert message.content == "after op 7"
        await fake.wait_for(lambda: len(fake.events("RESUMED")) == 2)
        assert len(fake.resumes) == 2 and len(fake.identifies) == 1

        fake.send_invalid_session(resumable=True)  # op 9 with d=true: discord.py resumes
        fake.user_sends(world.channel.id, world.alice, "after op 9")
        assert (await next_item(client.received)).content == "after op 9"
        await fake.wait_for(lambda: len(fake.events("RESUMED")) == 3)

        fake.user_sends(world.channel.id, world.alice, "settled")
        assert (await next_item(client.received)).content == "settled"
        assert client.received.empty()  # nothing was delivered twice


async def test_slash_command_sync_and_an_ephemeral_response(world: World) -> None:
    fake = world.fake
    client = RecordingClient(intents=all_intents())
    tree = app_commands.CommandTree(client)
    seen: list[str] = []

    @tree.command(name="link", description="Link your wallet")
    async def link(interaction: discord.Interaction, address: str) -> None:
        seen.append(address)
        await interaction.response.send_message(f"linking {address}", ephemeral=True)

    @tree.command(name="slow", description="Deferred answer", guild=discord.Object(world.guild.id))
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("done")

    async with connected(fake, client):
        synced = await tree.sync()
        assert [c.name for c in synced] == ["link"] and synced[0].id > 0
        await tree.sync(guild=discord.Object(world.guild.id))
        assert fake.requests("PUT /applications/*/commands")
        assert fake.requests("PUT /applications/*/guilds/*/commands")

        interaction = fake.user_invokes_command(
            "link", {"address": "0xabc"}, world.channel.id, world.alice
        )
        await fake.wait_for(lambda: interaction.responses)
        response = interaction.responses[0]
        assert response.type == 4 and response.ephemeral
        assert response.content == "linking 0xabc"
        assert seen == ["0xabc"]
        assert fake.messages(world.channel.id) == []  # ephemeral: not in the channel

        deferred = fake.user_invokes_command("slow", {}, world.channel.id, world.alice)
        await fake.wait_for(lambda: len(deferred.responses) == 2)
        assert [r.kind for r in deferred.responses] == ["callback", "followup"]
        assert deferred.responses[0].type == 5
        assert [m["content"] for m in fake.messages(world.channel.id)] == ["done"]


async def test_attachments_both_ways(world: World) -> None:
    fake = world.fake
    async with connected(fake) as client:
        fake.user_sends(
            world.channel.id, world.alice, "a picture", attachments=[("cat.png", b"\x89PNG fake")]
        )
        message = await next_item(client.received)
        assert message.attachments[0].filename == "cat.png"
        assert await message.attachments[0].read() == b"\x89PNG fake"

        channel = client.get_channel(world.channel.id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send("a file", file=discord.File(io.BytesIO(b"hello"), "hi.txt"))
        assert sent.attachments[0].filename == "hi.txt"
        stored = fake.message(world.channel.id, sent.id)["attachments"][0]
        assert fake.file_bytes(stored["url"]) == b"hello"
        assert await sent.attachments[0].read() == b"hello"


async def test_a_forward_carries_a_snapshot_of_the_original(world: World) -> None:
    fake = world.fake
    elsewhere = fake.add_text_channel(world.guild, "elsewhere")
    async with connected(fake) as client:
        original = fake.user_sends(elsewhere.id, world.alice, "worth sharing")
        await next_item(client.received)
        fake.user_forwards(world.channel.id, world.alice, elsewhere.id, int(original["id"]))
        message = await next_item(client.received)
        assert message.content == ""
        assert message.reference is not None
        assert message.reference.type is discord.MessageReferenceType.forward
        assert message.reference.message_id == int(original["id"])
        [snapshot] = message.message_snapshots
        assert snapshot.content == "worth sharing"
