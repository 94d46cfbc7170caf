"""The Discord adapter, with the real discord.py against the protocol-level Discord stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from aiohttp import web

from bots.base import (
    Attachment,
    Author,
    ChatRef,
    DeleteMessage,
    EditMessage,
    Inbound,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    Reaction,
    RetryableError,
    RichText,
    Span,
    UserId,
)
from bots.discord.adapter import DiscordAdapter
from bots.discord.common import webhook_username
from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.commands import Command, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.nft.safe_fetch import ATTACHMENT_POLICY, loopback_policy
from tests.fakes.discord import (
    EVERYONE_PERMISSIONS,
    FakeChannel,
    FakeDiscord,
    FakeGuild,
    FakeUser,
)

TIMEOUT = 10.0
T = TypeVar("T")
E = TypeVar("E", bound=Inbound)
AVATAR = "https://example.org/bob.png"


class Sink:
    """The router's stand-in: records what the adapter hands over."""

    def __init__(self, commands: Commands | None = None) -> None:
        self.events: list[Inbound] = []
        self._commands = commands
        self._changed = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        if isinstance(event, Command) and self._commands is not None:
            await self._commands.run(event)  # as the relay's sink does
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, predicate: Callable[[], T]) -> T:
        async with asyncio.timeout(TIMEOUT):
            while not (result := predicate()):
                self._changed.clear()
                await self._changed.wait()
        return result

    async def message(self, text: str) -> NewMessage:
        """Wait for the NewMessage whose text is ``text``."""
        found = await self.wait_for(lambda: [m for m in self.of(NewMessage) if m.text.text == text])
        return found[0]


class MemoryCursor:
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}
        self.writes = 0

    async def get(self, channel_id: int) -> int | None:
        return self.seen.get(channel_id)

    async def set(self, channel_id: int, message_id: int) -> None:
        self.seen[channel_id] = message_id
        self.writes += 1

    async def set_many(self, positions: Mapping[int, int]) -> None:
        self.seen.update(positions)
        self.writes += 1


@dataclass
class World:
    fake: FakeDiscord
    guild: FakeGuild
    channel: FakeChannel
    alice: FakeUser
    bob: FakeUser


@pytest.fixture
async def world() -> AsyncIterator[World]:
    fake = FakeDiscord()
    guild = fake.add_guild("Parley")
    channel = fake.add_text_channel(guild, "general")
    alice = fake.add_member(guild, "alice", global_name="Alice")
    bob = fake.add_member(guild, "bob", global_name="Bobby")
    async with fake.running():
        yield World(fake, guild, channel, alice, bob)


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord,
    channels: list[int],
    *,
    sink: Sink | None = None,
    commands: Commands | None = None,
    **options: Any,
) -> AsyncIterator[tuple[DiscordAdapter, Sink]]:
    commands = commands or Commands()
    sink = sink or Sink(commands)
    adapter = DiscordAdapter(
        token=fake.token,
        commands=commands.specs(),
        channels=channels,
        api_base_url=fake.api_base,
        gateway_url=fake.gateway_url,
        guild_ready_timeout=0.05,
        # The fake's CDN is on 127.0.0.1: admitted unless a test asks for the production policy.
        **({"fetch_policy": loopback_policy()} | options),
    )
    await adapter.start(sink)
    try:
        await fake.wait_for(adapter.is_connected, TIMEOUT)
        yield adapter, sink
    finally:
        await adapter.stop()


def chat(channel: FakeChannel) -> ChatRef:
    return discord_channel(DiscordChannelId(channel.id))


def outbound(
    channel: FakeChannel,
    text: str | RichText,
    *,
    name: str = "Bob",
    reply_to: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    key: str = "delivery-1",
) -> OutboundMessage:
    return OutboundMessage(
        target=chat(channel),
        idempotency_key=key,
        room="lobby",
        source=telegram_chat(TelegramChatId(-1001)),
        author=Author("telegram", UserId("42"), name, "bob_tg", AVATAR),
        text=text if isinstance(text, RichText) else RichText(text),
        sent_at=datetime.now(UTC),
        reply_to=NativeId(reply_to) if reply_to is not None else None,
        attachments=attachments,
    )


def contents(fake: FakeDiscord, channel: FakeChannel) -> list[str]:
    return [m["content"] for m in fake.messages(channel.id)]


# ---------------------------------------------------------------------- inbound


async def test_a_user_message_becomes_a_new_message(world: World) -> None:
    fake, channel = world.fake, world.channel
    role = fake.add_role(world.guild, "mods")
    async with running(fake, [channel.id], max_attachment_bytes=1000) as (_adapter, sink):
        parent = fake.user_sends(channel.id, world.bob, "question?")
        await sink.message("question?")
        sent = fake.user_sends(
            channel.id,
            world.alice,
            f"**hi** <@{world.bob.id}> in <#{channel.id}> <@&{role.id}>",
            reply_to=int(parent["id"]),
            attachments=[("cat.png", b"\x89PNG small"), ("big.bin", b"x" * 2000)],
        )
        message = await sink.message(
            "hi @Bobby in #general @mods\n[file too large to relay: big.bin (2 KiB)]"
        )
        assert message.native_id == sent["id"]
        assert message.source == chat(channel)
        assert message.text.spans == (Span("bold", 0, 2),)
        assert message.reply_to == parent["id"]
        assert message.author.user_id == str(world.alice.id)
        assert message.author.display_name == "Alice"
        assert message.author.username == "alice"
        assert message.author.avatar_url is not None
        assert message.author.avatar_url.startswith("https://")
        assert not message.author.is_bot
        [picture] = message.attachments
        assert (picture.filename, picture.kind, picture.mime) == ("cat.png", "photo", "image/png")
        assert picture.data == b"\x89PNG small" and picture.size == len(b"\x89PNG small")

        # Discord has no text commands: a "/" message is an ordinary message.
        fake.user_sends(channel.id, world.alice, "/help")
        await sink.message("/help")


async def test_messages_in_other_channels_are_not_relayed(world: World) -> None:
    fake = world.fake
    other = fake.add_text_channel(world.guild, "off-topic")
    async with running(fake, [world.channel.id]) as (_adapter, sink):
        fake.user_sends(other.id, world.alice, "not bridged")
        fake.user_sends(world.channel.id, world.alice, "bridged")
        await sink.message("bridged")
        assert [m.text.text for m in sink.of(NewMessage)] == ["bridged"]


async def test_a_chat_joined_and_left_at_run_time(world: World) -> None:
    # /room join and /room leave reach the adapter through the contract's join_chat/leave_chat.
    fake = world.fake
    other = fake.add_text_channel(world.guild, "off-topic")
    async with running(fake, [world.channel.id]) as (adapter, sink):
        fake.user_sends(other.id, world.alice, "before the join")
        fake.user_sends(world.channel.id, world.alice, "bridged")
        await sink.message("bridged")  # the gateway is in order: "before the join" came first
        adapter.join_chat(chat(other))
        fake.user_sends(other.id, world.alice, "after the join")
        await sink.message("after the join")
        adapter.leave_chat(chat(other))
        fake.user_sends(other.id, world.alice, "after the leave")
        fake.user_sends(world.channel.id, world.alice, "still bridged")
        await sink.message("still bridged")
        texts = [m.text.text for m in sink.of(NewMessage)]
        assert texts == ["bridged", "after the join", "still bridged"]


async def test_edits_deletes_and_reactions(world: World) -> None:
    fake, channel = world.fake, world.channel
    async with running(fake, [channel.id]) as (_adapter, sink):
        sent = fake.user_sends(channel.id, world.alice, "typo")
        await sink.message("typo")
        mid = int(sent["id"])

        fake.user_edits(channel.id, mid, "fixed *now*")
        [edit] = await sink.wait_for(lambda: sink.of(EditMessage))
        assert edit.native_id == sent["id"] and edit.source == chat(channel)
        assert edit.text == RichText("fixed now", (Span("italic", 6, 9),))

        fake.user_reacts(channel.id, mid, world.bob, "🎉")
        [added] = await sink.wait_for(lambda: sink.of(Reaction))
        assert (added.native_id, added.emoji, added.added) == (sent["id"], "🎉", True)
        assert added.author.user_id == str(world.bob.id)
        fake.user_unreacts(channel.id, mid, world.bob, "🎉")
        removed = (await sink.wait_for(lambda: sink.of(Reaction)[1:]))[0]
        assert (removed.emoji, removed.added, removed.author.user_id) == (
            "🎉",
            False,
            str(world.bob.id),
        )

        fake.user_deletes(channel.id, mid)
        [deleted] = await sink.wait_for(lambda: sink.of(DeleteMessage))
        assert deleted == DeleteMessage(chat(channel), NativeId(sent["id"]))


async def test_the_bridges_own_messages_are_not_relayed_back(world: World) -> None:
    fake, channel = world.fake, world.channel
    hook = fake.add_webhook(channel.id)
    weak_guild = fake.add_guild("Weak", bot_permissions=EVERYONE_PERMISSIONS)
    locked = fake.add_text_channel(weak_guild, "locked")
    fake.add_member(weak_guild, "carol")
    async with running(
        fake, [channel.id, locked.id], webhooks={channel.id: (hook.id, hook.token)}
    ) as (adapter, sink):
        via_webhook = await adapter.send(outbound(channel, "from telegram"))
        by_bot = await adapter.send(outbound(locked, "also from telegram"))
        await adapter.edit(
            OutboundEdit(
                chat(channel),
                "edit-1",
                via_webhook,
                "lobby",
                telegram_chat(TelegramChatId(-1001)),
                Author("telegram", UserId("42"), "Bob"),
                RichText("edited on telegram"),
            )
        )
        await adapter.react(
            OutboundReaction(
                chat(locked), "react-1", by_bot, "👍", True, Author("telegram", UserId("42"), "Bob")
            )
        )
        await adapter.delete(OutboundDelete(chat(channel), "delete-1", via_webhook))
        # Events are handled in order per channel: once these arrive, the echoes were seen.
        fake.user_sends(channel.id, world.alice, "sentinel")
        fake.user_sends(locked.id, fake.owner, "sentinel 2")
        await sink.message("sentinel")
        await sink.message("sentinel 2")
        assert [type(e).__name__ for e in sink.events] == ["NewMessage", "NewMessage"]
        assert fake.events("MESSAGE_CREATE")  # the echoes were there to be dropped
        assert fake.events("MESSAGE_DELETE") and fake.events("MESSAGE_REACTION_ADD")


async def test_echoes_of_our_webhook_copies_are_not_built_into_messages(world: World) -> None:
    # One echo comes back for every copy: it is taken from the raw payload, so discord.py's
    # message cache keeps people's messages only, and a person's reply to a copy still counts.
    fake, channel = world.fake, world.channel
    hook = fake.add_webhook(channel.id)
    async with running(fake, [channel.id], webhooks={channel.id: (hook.id, hook.token)}) as (
        adapter,
        sink,
    ):
        copies = [await adapter.send(outbound(channel, f"copy {i}", key=f"e{i}")) for i in range(3)]
        fake.user_sends(channel.id, world.alice, "answer", reply_to=int(copies[0]))
        answer = await sink.message("answer")
        assert answer.reply_to == copies[0]
        assert adapter.inbound.newest_seen(channel.id) == int(answer.native_id)
        client = adapter.state.client
        assert client is not None
        cached = [m.content for m in client.cached_messages]
        assert cached == ["answer"]
        assert [type(e).__name__ for e in sink.events] == ["NewMessage"]


async def test_other_bots_and_webhooks_are_relayed(world: World) -> None:
    fake, channel = world.fake, world.channel
    robot = fake.add_member(world.guild, "robot", bot=True)
    async with running(fake, [channel.id]) as (_adapter, sink):
        fake.user_sends(channel.id, robot, "beep")
        message = await sink.message("beep")
        assert message.author.is_bot


# ---------------------------------------------------------------------- outbound


async def test_send_through_a_configured_webhook(world: World) -> None:
    fake, channel = world.fake, world.channel
    hook = fake.add_webhook(channel.id)
    async with running(fake, [channel.id], webhooks={channel.id: (hook.id, hook.token)}) as (
        adapter,
        _sink,
    ):
        native = await adapter.send(outbound(channel, "@everyone **literal**", name="Bob"))
        [execution] = fake.webhook_executions
        assert execution.webhook_id == hook.id
        assert execution.username == "Bob (telegram)"
        assert execution.avatar_url == AVATAR
        assert execution.allowed_mentions == {"parse": []}
        assert execution.content == "@\u200beveryone \\*\\*literal\\*\\*"
        stored = fake.message(channel.id, int(native))
        assert stored["webhook_id"] == str(hook.id) and stored["mention_everyone"] is False
        assert not fake.requests("POST /channels/*/webhooks")

        # Names Discord refuses are made acceptable rather than failing the delivery.
        await adapter.send(outbound(channel, "hi", name="Discord Clyde\nadmin", key="d2"))
        assert fake.webhook_executions[-1].username == "Disc0rd Cl¡de admin (telegram)"


def test_webhook_usernames_are_valid() -> None:
    assert webhook_username("x" * 200, "waku") == "x" * 73 + " (waku)"
    assert webhook_username("  ", "telegram") == "someone (telegram)"
    assert webhook_username("discord", "discord") == "disc0rd (disc0rd)"
    assert len(webhook_username("名" * 100, "telegram")) == 80


async def test_a_webhook_is_created_when_none_is_configured(world: World) -> None:
    fake, channel = world.fake, world.channel
    async with running(fake, [channel.id]) as (adapter, sink):
        parent = fake.user_sends(channel.id, world.alice, "parent")
        await sink.message("parent")
        first = await adapter.send(outbound(channel, "one", reply_to=parent["id"]))
        await adapter.send(outbound(channel, "two", key="d2"))
        assert len(fake.requests("POST /channels/*/webhooks")) == 1
        [created] = fake.webhooks.values()
        assert created.name == "Parley" and created.channel_id == channel.id
        assert {e.webhook_id for e in fake.webhook_executions} == {created.id}
        jump = f"https://discord.com/channels/{world.guild.id}/{channel.id}/{parent['id']}"
        assert fake.message(channel.id, int(first))["content"] == f"> ↩ replying to {jump}\none"

    # A restarted adapter finds the webhook instead of making another one.
    async with running(fake, [channel.id]) as (adapter, _sink):
        await adapter.send(outbound(channel, "three", key="d3"))
        assert len(fake.requests("POST /channels/*/webhooks")) == 1
        assert fake.webhook_executions[-1].webhook_id == created.id


async def test_without_manage_webhooks_the_bot_posts_with_a_real_reply(world: World) -> None:
    fake = world.fake
    weak = fake.add_guild("Weak", bot_permissions=EVERYONE_PERMISSIONS)
    channel = fake.add_text_channel(weak, "locked")
    carol = fake.add_member(weak, "carol")
    async with running(fake, [channel.id]) as (adapter, sink):
        parent = fake.user_sends(channel.id, carol, "parent")
        await sink.message("parent")
        text = RichText("an answer *", (Span("italic", 3, 9),))
        native = await adapter.send(outbound(channel, text, reply_to=parent["id"]))
        stored = fake.message(channel.id, int(native))
        assert stored["content"] == "**Bob** (telegram): an *answer* \\*"
        assert stored["author"]["id"] == str(fake.bot_user.id) and "webhook_id" not in stored
        assert stored["message_reference"]["message_id"] == parent["id"]
        assert stored["mentions"] == []  # the replied-to user is not pinged
        call = fake.requests("POST /channels/*/messages")[-1]
        assert call.json["allowed_mentions"]["parse"] == []
        assert not fake.webhook_executions

        # A reply to a message that is gone is still posted, without the reference.
        orphan = await adapter.send(outbound(channel, "late", reply_to="1234", key="d2"))
        assert "message_reference" not in fake.message(channel.id, int(orphan))

        await adapter.edit(
            OutboundEdit(
                chat(channel),
                "e1",
                native,
                "lobby",
                telegram_chat(TelegramChatId(-1001)),
                Author("telegram", UserId("42"), "Bob"),
                RichText("a better answer"),
            )
        )
        assert fake.message(channel.id, int(native))["content"] == (
            "**Bob** (telegram): a better answer"
        )
        await adapter.delete(OutboundDelete(chat(channel), "x1", native))
        assert int(native) not in {int(m["id"]) for m in fake.messages(channel.id)}


async def test_long_text_is_split_and_deleted_as_a_whole(world: World) -> None:
    fake, channel = world.fake, world.channel
    text = "\n".join(f"line {i} " + "word " * 30 for i in range(40))  # about 6,500 characters
    async with running(fake, [channel.id]) as (adapter, _sink):
        native = await adapter.send(outbound(channel, text))
        parts = contents(fake, channel)
        assert len(parts) == 4 and all(len(p) <= 2000 for p in parts)
        lines = [line.rstrip() for part in parts for line in part.split("\n")]
        assert lines == [line.rstrip() for line in text.split("\n")]
        assert fake.messages(channel.id)[0]["id"] == native

        await adapter.edit(
            OutboundEdit(
                chat(channel),
                "e1",
                native,
                "lobby",
                telegram_chat(TelegramChatId(-1001)),
                Author("telegram", UserId("42"), "Bob"),
                RichText("short now"),
            )
        )
        assert contents(fake, channel) == ["short now"]  # the parts no longer needed are gone

        other = await adapter.send(outbound(channel, text, key="d2"))
        assert len(fake.messages(channel.id)) == 5
        await adapter.delete(OutboundDelete(chat(channel), "x1", other))
        assert contents(fake, channel) == ["short now"]


async def test_attachments_are_uploaded_or_named(world: World) -> None:
    fake, channel = world.fake, world.channel
    source = fake.add_text_channel(world.guild, "files")
    stored = fake.user_sends(source.id, world.alice, "x", attachments=[("doc.txt", b"by url")])
    async with running(fake, [channel.id], max_attachment_bytes=100) as (adapter, _sink):
        files = (
            Attachment("photo", "../../etc/cat.png", "image/png", data=b"\x89PNG"),
            Attachment("file", "doc.txt", "text/plain", url=stored["attachments"][0]["url"]),
            Attachment("video", "huge.mp4", "video/mp4", size=5000, url="https://example.org/v"),
            Attachment("file", "sneaky.bin", "application/x", data=b"y" * 101),
        )
        native = await adapter.send(outbound(channel, "files!", attachments=files))
        [execution] = fake.webhook_executions
        assert execution.files == [("cat.png", b"\x89PNG"), ("doc.txt", b"by url")]
        assert execution.content == (
            "files!\n\\[file too large to relay: huge.mp4 (5 KiB)\\]\n"
            "\\[file too large to relay: sneaky.bin (101 bytes)\\]"
        )
        message = fake.message(channel.id, int(native))
        assert [a["filename"] for a in message["attachments"]] == ["cat.png", "doc.txt"]

        only_files = await adapter.send(outbound(channel, "", attachments=files[:1], key="d2"))
        assert fake.message(channel.id, int(only_files))["attachments"][0]["filename"] == "cat.png"


async def test_attachment_urls_into_the_bridges_network_are_refused(world: World) -> None:
    fake, channel = world.fake, world.channel
    hits: list[str] = []

    async def secret(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(body=b"internal only", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{name}", secret)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with running(fake, [channel.id], fetch_policy=ATTACHMENT_POLICY) as (adapter, _):
            files = (
                Attachment("file", "a.txt", "text/plain", url=f"http://127.0.0.1:{port}/a.txt"),
                Attachment("file", "b.txt", "text/plain", url="http://localhost/b.txt"),
                Attachment("file", "c.txt", "text/plain", url="http://169.254.169.254/c.txt"),
                Attachment("file", "d.txt", "text/plain", url="http://[::1]/d.txt"),
            )
            await adapter.send(outbound(channel, "internal files", attachments=files))
        [execution] = fake.webhook_executions
        assert execution.files == []
        assert (execution.content or "").count("file could not be relayed") == 4
        assert hits == []
    finally:
        await runner.cleanup()


async def test_edit_and_delete_of_a_webhook_copy(world: World) -> None:
    fake, channel = world.fake, world.channel
    hook = fake.add_webhook(channel.id)
    hooks = {channel.id: (hook.id, hook.token)}
    async with running(fake, [channel.id], webhooks=hooks) as (adapter, sink):
        parent = fake.user_sends(channel.id, world.alice, "parent")
        await sink.message("parent")
        native = await adapter.send(outbound(channel, "first", reply_to=parent["id"]))

    def edit(text: str) -> OutboundEdit:
        return OutboundEdit(
            chat(channel),
            "e1",
            native,
            "lobby",
            telegram_chat(TelegramChatId(-1001)),
            Author("telegram", UserId("42"), "Bob"),
            RichText(text),
        )

    # A new adapter (as after a restart) reads back how the copy was posted.
    async with running(fake, [channel.id], webhooks=hooks) as (adapter, _sink):
        await adapter.edit(edit("second"))
        content = fake.message(channel.id, int(native))["content"]
        assert content.startswith("> ↩ replying to https://discord.com/channels/")
        assert content.endswith("\nsecond")
        assert fake.requests(f"PATCH /webhooks/{hook.id}/*/messages/{native}")

        await adapter.delete(OutboundDelete(chat(channel), "x1", native))
        assert [m["content"] for m in fake.messages(channel.id)] == ["parent"]
        await adapter.delete(OutboundDelete(chat(channel), "x1", native))  # already gone: fine
        with pytest.raises(PermanentError):
            await adapter.edit(edit("third"))


async def test_reactions_out(world: World) -> None:
    fake, channel = world.fake, world.channel
    async with running(fake, [channel.id]) as (adapter, sink):
        sent = fake.user_sends(channel.id, world.alice, "react to me")
        await sink.message("react to me")
        author = Author("telegram", UserId("42"), "Bob")
        mid = NativeId(sent["id"])
        await adapter.react(OutboundReaction(chat(channel), "r1", mid, "🔥", True, author))
        reactions = fake.message(channel.id, int(mid))["reactions"]
        assert [(r["emoji"]["name"], r["me"]) for r in reactions] == [("🔥", True)]
        await adapter.react(OutboundReaction(chat(channel), "r2", mid, ":party:", True, author))
        await adapter.react(OutboundReaction(chat(channel), "r3", mid, "🔥", False, author))
        assert fake.message(channel.id, int(mid))["reactions"] == []
        assert len(fake.requests("*/reactions/*")) == 2


async def test_rate_limits_and_errors(world: World) -> None:
    fake, channel = world.fake, world.channel
    weak = fake.add_guild("Weak", bot_permissions=EVERYONE_PERMISSIONS)
    locked = fake.add_text_channel(weak, "locked")
    hook = fake.add_webhook(channel.id)
    hooks = {channel.id: (hook.id, hook.token)}
    async with running(fake, [channel.id, locked.id], webhooks=hooks) as (adapter, _sink):
        # 429 with Via: discord.py waits and retries by itself; the message arrives once.
        fake.fail_next("POST /webhooks/*", 429, retry_after=0.01)
        await adapter.send(outbound(channel, "patient"))
        assert [c.status for c in fake.requests("POST /webhooks/*")] == [429, 200]
        assert contents(fake, channel) == ["patient"]

        # 429 without Via (a Cloudflare ban): the outbox is told when to try again.
        fake.fail_next("POST /channels/*/messages", 429, retry_after=3, via=False)
        with pytest.raises(RetryableError) as limited:
            await adapter.send(outbound(locked, "banned", key="d2"))
        assert limited.value.retry_after == 3

        fake.fail_next("POST /channels/*/messages", 503)  # discord.py does not retry a 503
        with pytest.raises(RetryableError):
            await adapter.send(outbound(locked, "unavailable", key="d3"))

        fake.fail_next("POST /webhooks/*", 403, body={"message": "Missing Access", "code": 50001})
        with pytest.raises(PermanentError):
            await adapter.send(outbound(channel, "forbidden", key="d4"))

        with pytest.raises(PermanentError):
            await adapter.send(outbound(channel, "", key="d5"))  # nothing to post
        assert contents(fake, channel) == ["patient"]
        assert contents(fake, locked) == []


async def test_a_deleted_webhook_is_replaced(world: World) -> None:
    fake, channel = world.fake, world.channel
    async with running(fake, [channel.id]) as (adapter, _sink):
        await adapter.send(outbound(channel, "one"))
        fake.webhooks.clear()  # a moderator deleted it
        with pytest.raises(RetryableError):
            await adapter.send(outbound(channel, "two", key="d2"))
        await adapter.send(outbound(channel, "two", key="d2"))
        assert contents(fake, channel) == ["one", "two"]
        assert len(fake.requests("POST /channels/*/webhooks")) == 2


async def test_a_send_whose_answer_was_lost_is_recovered_not_repeated(world: World) -> None:
    fake, channel = world.fake, world.channel
    long_text = "\n".join(f"line {i} " + "word " * 30 for i in range(40))  # four parts
    parent = fake.user_sends(channel.id, world.alice, "parent")
    short = outbound(channel, "hello *there*", reply_to=parent["id"])
    long = outbound(channel, long_text, key="d2")
    async with running(fake, [channel.id]) as (adapter, _sink):
        native = await adapter.send(short)
        long_native = await adapter.send(long)
    posted = len(fake.webhook_executions)

    # The bridge crashed before it stored these ids: a new adapter finds the copies.
    async with running(fake, [channel.id]) as (adapter, _sink):
        assert await adapter.recover(short) == native
        assert await adapter.recover(long) == long_native
        # Deliveries that were never posted are not taken for them: the same text from
        # someone else, another text, or the same text of a later message.
        other_author = outbound(channel, "hello *there*", name="Carol", reply_to=parent["id"])
        assert await adapter.recover(other_author) is None
        assert await adapter.recover(outbound(channel, "something else", key="d3")) is None
        later = dataclasses.replace(short, sent_at=short.sent_at + timedelta(minutes=1))
        assert await adapter.recover(later) is None
        # The later parts were recovered too: a delete removes all four.
        await adapter.delete(OutboundDelete(chat(channel), "x1", long_native))
        assert [m["id"] for m in fake.messages(channel.id)] == [parent["id"], native]
        # A failed look-up answers None (the outbox then sends again).
        fake.fail_next("GET /channels/*/messages", 403)
        assert await adapter.recover(short) is None
    assert len(fake.webhook_executions) == posted  # recover never posts


async def test_a_copy_cut_short_between_parts_is_removed(world: World) -> None:
    fake, channel = world.fake, world.channel
    long = outbound(channel, "\n".join(f"line {i} " + "word " * 30 for i in range(40)))
    async with running(fake, [channel.id]) as (adapter, _sink):
        await adapter.send(long)
    # The crash came after the first two of four parts.
    for message in fake.messages(channel.id)[2:]:
        fake.user_deletes(channel.id, int(message["id"]))
    async with running(fake, [channel.id]) as (adapter, _sink):
        assert await adapter.recover(long) is None
        assert fake.messages(channel.id) == []  # the resend will be whole, and alone


async def test_a_bot_posted_copy_is_recovered(world: World) -> None:
    fake = world.fake
    weak = fake.add_guild("Weak", bot_permissions=EVERYONE_PERMISSIONS)
    channel = fake.add_text_channel(weak, "locked")
    delivery = outbound(channel, "an answer")
    async with running(fake, [channel.id]) as (adapter, _sink):
        native = await adapter.send(delivery)
    async with running(fake, [channel.id]) as (adapter, _sink):
        assert await adapter.recover(delivery) == native
        assert await adapter.recover(outbound(channel, "an answer", name="Carol")) is None
        assert not fake.webhook_executions


# ---------------------------------------------------------------------- commands


async def test_slash_commands(world: World) -> None:
    fake, channel = world.fake, world.channel
    commands = Commands()
    seen: list[CommandRequest] = []
    release = asyncio.Event()

    async def whoami(request: CommandRequest) -> CommandReply:
        seen.append(request)
        return CommandReply(f"you are {request.author.display_name} {request.args}")

    async def slow(request: CommandRequest) -> CommandReply:
        await release.wait()
        return CommandReply("done slowly")

    commands.register(CommandSpec("whoami", "Who am I", private_reply=True), whoami)
    commands.register(CommandSpec("slow", "Takes a while"), slow)
    async with running(
        fake, [channel.id], commands=commands, admins=[world.bob.id], command_defer_after=0.05
    ) as (_adapter, _sink):
        await fake.wait_for(lambda: fake.requests("PUT /applications/*/guilds/*/commands"))
        registered = fake.commands[world.guild.id]
        assert [c["name"] for c in registered] == ["help", "slow", "whoami"]
        help_options = registered[0]["options"]
        assert help_options == [
            {"type": 3, "name": "command", "description": "a command to explain", "required": False}
        ]

        interaction = fake.user_invokes_command("help", {}, channel.id, world.alice)
        await fake.wait_for(lambda: interaction.responses)
        [response] = interaction.responses
        assert response.type == 4 and not response.ephemeral
        assert response.content is not None and "/whoami" in response.content

        interaction = fake.user_invokes_command(
            "help", {"command": "whoami"}, channel.id, world.alice
        )
        await fake.wait_for(lambda: interaction.responses)
        assert interaction.responses[0].content == "/whoami\nWho am I"

        interaction = fake.user_invokes_command("whoami", {}, channel.id, world.bob)
        await fake.wait_for(lambda: interaction.responses)
        assert interaction.responses[0].ephemeral
        assert interaction.responses[0].content == "you are Bobby ()"
        assert seen[-1].is_admin and not seen[-1].is_private
        assert seen[-1].chat == chat(channel)
        fake.user_invokes_command("whoami", {}, channel.id, world.alice)
        await fake.wait_for(lambda: len(seen) == 2)
        assert not seen[-1].is_admin

        deferred = fake.user_invokes_command("slow", {}, channel.id, world.alice)
        await fake.wait_for(lambda: deferred.responses)
        assert deferred.responses[0].type == 5
        release.set()
        await fake.wait_for(lambda: len(deferred.responses) == 2)
        assert deferred.responses[1].content == "done slowly"


async def test_a_command_the_sink_cannot_take_is_still_answered(world: World) -> None:
    fake, channel = world.fake, world.channel

    class Down(Sink):
        async def __call__(self, event: Inbound) -> None:
            raise RuntimeError("store unavailable")

    async with running(fake, [channel.id], sink=Down()) as (_adapter, _sink):
        await fake.wait_for(lambda: fake.requests("PUT /applications/*/guilds/*/commands"))
        interaction = fake.user_invokes_command("help", {}, channel.id, world.alice)
        await fake.wait_for(lambda: interaction.responses)
        # Discord would show "The application did not respond" to someone left unanswered.
        [response] = interaction.responses
        assert response.content == "/help failed; try again later."


# ---------------------------------------------------------------------- durability


async def test_a_dropped_gateway_resumes_and_loses_nothing(world: World) -> None:
    fake, channel = world.fake, world.channel
    async with running(fake, [channel.id]) as (adapter, sink):
        fake.drop_gateway()
        fake.user_sends(channel.id, world.alice, "while you were away")
        await sink.message("while you were away")
        await fake.wait_for(lambda: fake.events("RESUMED"))
        await fake.wait_for(adapter.is_connected)
        fake.user_sends(channel.id, world.alice, "settled")
        await sink.message("settled")
        assert [m.text.text for m in sink.of(NewMessage)] == ["while you were away", "settled"]
        assert len(fake.identifies) == 1


async def test_catch_up_after_a_restart(world: World) -> None:
    fake, channel = world.fake, world.channel
    cursor = MemoryCursor()
    hook = fake.add_webhook(channel.id)
    hooks = {channel.id: (hook.id, hook.token)}
    fake.user_sends(channel.id, world.alice, "before the bridge existed")
    async with running(fake, [channel.id], history_cursor=cursor, webhooks=hooks) as (
        adapter,
        sink,
    ):
        await fake.wait_for(lambda: cursor.seen)
        fake.user_sends(channel.id, world.alice, "live")
        await sink.message("live")
        copy = await adapter.send(outbound(channel, "a copy"))
    assert [m.text.text for m in sink.of(NewMessage)] == ["live"]

    fake.user_sends(channel.id, world.alice, "while stopped 1")
    fake.user_sends(channel.id, world.bob, "while stopped 2")
    async with running(fake, [channel.id], history_cursor=cursor, webhooks=hooks) as (_a, sink):
        await sink.message("while stopped 2")
        fake.user_sends(channel.id, world.alice, "after")
        await sink.message("after")
        assert [m.text.text for m in sink.of(NewMessage)] == [
            "while stopped 1",
            "while stopped 2",
            "after",
        ]
        assert cursor.seen[channel.id] > int(copy)


async def test_the_cursor_is_not_written_for_each_echo_of_our_copies(world: World) -> None:
    fake, channel = world.fake, world.channel
    cursor = MemoryCursor()
    hook = fake.add_webhook(channel.id)
    hooks = {channel.id: (hook.id, hook.token)}
    async with running(fake, [channel.id], history_cursor=cursor, webhooks=hooks) as (
        adapter,
        sink,
    ):
        await fake.wait_for(lambda: cursor.seen)
        first = cursor.writes
        for i in range(5):
            await adapter.send(outbound(channel, f"copy {i}", key=f"d{i}"))
        fake.user_sends(channel.id, world.alice, "said by a person")
        await sink.message("said by a person")
        # The person's message is stored at once, and it covers the echoes before it.
        assert cursor.writes == first + 1
        last = max(int(m["id"]) for m in fake.messages(channel.id))
        assert cursor.seen[channel.id] == last
        # Echoes after it: stored a little later, once for all of them.
        copies = [
            await adapter.send(outbound(channel, f"later {i}", key=f"l{i}")) for i in range(3)
        ]
        await fake.wait_for(lambda: cursor.seen[channel.id] == int(copies[-1]), TIMEOUT)
        assert cursor.writes == first + 2
        copy = await adapter.send(outbound(channel, "just before stopping", key="s"))
        await fake.wait_for(lambda: adapter.inbound.newest_seen(channel.id) == int(copy))
        assert cursor.seen[channel.id] < int(copy)
    # ... and at stop, without waiting.
    assert cursor.seen[channel.id] == int(copy)


async def test_operator_mistakes_are_reported() -> None:
    fake = FakeDiscord(granted_intents=0)  # MESSAGE_CONTENT not enabled in the portal
    channel = fake.add_text_channel(fake.add_guild(), "general")
    async with fake.running():
        for token in ("not-the-token", fake.token):
            adapter = DiscordAdapter(
                token=token,
                channels=[channel.id],
                api_base_url=fake.api_base,
                gateway_url=fake.gateway_url,
            )
            await adapter.start(Sink())
            try:
                await fake.wait_for(lambda: adapter.last_error)  # noqa: B023 - awaited here
                assert not adapter.is_connected()
                with pytest.raises(RetryableError):
                    await adapter.send(outbound(channel, "hello"))
            finally:
                await adapter.stop()
            if token == fake.token:
                assert adapter.last_error is not None and "MESSAGE_CONTENT" in adapter.last_error
            else:
                assert adapter.last_error is not None and "token" in adapter.last_error
