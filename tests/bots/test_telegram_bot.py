"""The Telegram adapter against the Bot API stand-in, with the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp import web
from PIL import Image
from telegram.error import InvalidToken

from bots.base import (
    Attachment,
    Author,
    ChatId,
    ChatRef,
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
from bots.telegram.adapter import TelegramAdapter
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.commands import Command, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.formatting import utf16_len
from bridge.nft.safe_fetch import ATTACHMENT_POLICY, FetchPolicy, loopback_policy
from tests.fakes.telegram import FakeBot, FakeChat, FakeMessage, FakeTelegram, FakeUser


class Sink:
    """Collects inbound events; can be told to fail (the router's store being down). Commands
    are run with ``commands``, as the relay's sink runs them, and kept apart in ``commands``."""

    def __init__(self, commands: Commands | None = None) -> None:
        self.events: list[Inbound] = []
        self.commands: list[Command] = []
        self.failures = 0
        self.fail = False
        self._registry = commands
        self._changed = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        if self.fail:
            self.failures += 1
            self._changed.set()
            raise RuntimeError("store unavailable")
        if isinstance(event, Command):
            self.commands.append(event)
            if self._registry is not None:
                await self._registry.run(event)
        else:
            self.events.append(event)
        self._changed.set()

    async def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def next(self, count: int = 1) -> list[Inbound]:
        await self.wait_for(lambda: len(self.events) >= count)
        return self.events[:count]


@dataclass
class World:
    tg: FakeTelegram
    bot: FakeBot
    alice: FakeUser
    group: FakeChat
    commands: Commands
    sink: Sink
    adapter: TelegramAdapter

    def ref(self) -> ChatRef:
        return telegram_chat(TelegramChatId(self.group.id))


def make_adapter(
    tg: FakeTelegram,
    bot: FakeBot,
    commands: Commands,
    *,
    max_attachment_bytes: int = 20 * 1024 * 1024,
    fetch_policy: FetchPolicy = ATTACHMENT_POLICY,
) -> TelegramAdapter:
    return TelegramAdapter(
        token=bot.token,
        commands=commands.specs(),
        api_base_url=tg.base_url,
        file_base_url=tg.base_file_url,
        admins=[],
        poll_timeout=5,
        request_timeout=5.0,
        retry_delay=0.01,
        max_retry_delay=0.05,
        max_attachment_bytes=max_attachment_bytes,
        fetch_policy=fetch_policy,
    )


async def _link(request: CommandRequest) -> CommandReply:
    return CommandReply("your secret link: https://bridge.example/link/abc", private=True)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with FakeTelegram() as tg:
        bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg", last_name="Liddell")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        commands = Commands()
        commands.register(CommandSpec("link", "Link a wallet", private_reply=True), _link)
        sink = Sink(commands)
        adapter = make_adapter(tg, bot, commands)
        await adapter.start(sink)
        try:
            yield World(tg, bot, alice, group, commands, sink, adapter)
        finally:
            await adapter.stop()


def png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


BOB = Author("discord", UserId("42"), "Bob")
DISCORD = ChatRef("discord", ChatId("1"))


def outbound(w: World, text: RichText | str, **kw: object) -> OutboundMessage:
    rich = RichText.plain(text) if isinstance(text, str) else text
    return OutboundMessage(
        target=w.ref(),
        idempotency_key=f"key-{rich.text[:20]}-{len(rich.text)}",
        room="main",
        source=DISCORD,
        author=BOB,
        text=rich,
        sent_at=datetime.now(UTC),
        **kw,  # type: ignore[arg-type]
    )


def sent(w: World, native: NativeId) -> FakeMessage:
    return w.group.messages[int(native)]


# ------------------------------------------------------------------------------ inbound


async def test_text_with_entities_becomes_rich_text(world: World) -> None:
    w = world
    assert w.adapter.is_connected()
    # "😀" is one code point but two UTF-16 units: offsets must be translated.
    text = "😀 bold and a link"
    msg = w.tg.user_sends(
        w.group,
        w.alice,
        text,
        entities=[
            {"type": "bold", "offset": 3, "length": 4},
            {"type": "text_link", "offset": 14, "length": 4, "url": "https://example.org/"},
        ],
    )
    [event] = await w.sink.next()
    assert isinstance(event, NewMessage)
    assert event.source == w.ref()
    assert event.native_id == str(msg.message_id)
    assert event.author == Author(
        "telegram", UserId(str(w.alice.id)), "Alice Liddell", username="alice_tg"
    )
    assert event.text.text == text
    assert set(event.text.spans) == {
        Span("bold", 2, 6),
        Span("link", 13, 17, url="https://example.org/"),
    }
    assert event.text.text[2:6] == "bold"
    assert event.reply_to is None
    assert event.timestamp.tzinfo is not None


async def test_reply_carries_the_parent_id(world: World) -> None:
    w = world
    first = w.tg.user_sends(w.group, w.alice, "question")
    w.tg.user_sends(w.group, w.alice, "answer", reply_to=first)
    events = await w.sink.next(2)
    assert isinstance(events[1], NewMessage)
    assert events[1].reply_to == str(first.message_id)


async def test_photo_is_downloaded_into_the_attachment(world: World) -> None:
    w = world
    image = png(400)  # big enough that Telegram also makes a thumbnail
    msg = w.tg.user_sends(w.group, w.alice, photo=image, caption="look")
    [event] = await w.sink.next()
    assert isinstance(event, NewMessage)
    assert event.text.text == "look"
    [att] = event.attachments
    assert att.kind == "photo"
    assert att.data == image
    assert att.size == len(image)
    assert msg.photo[-1].data == image


async def test_file_over_the_limit_becomes_a_notice(world: World) -> None:
    w = world
    await w.adapter.stop()
    small = make_adapter(w.tg, w.bot, w.commands, max_attachment_bytes=100)
    sink = Sink()
    await small.start(sink)
    try:
        w.tg.user_sends(w.group, w.alice, document=b"x" * 5000, file_name="big.zip", caption="hi")
        [event] = await sink.next()
    finally:
        await small.stop()
    assert isinstance(event, NewMessage)
    assert event.attachments == ()
    assert event.text.text == "hi\n[file too large to relay: big.zip (5 KiB)]"


async def test_edit_becomes_edit_message(world: World) -> None:
    w = world
    msg = w.tg.user_sends(w.group, w.alice, "helo")
    await w.sink.next()
    w.tg.user_edits(w.group, msg, "hello", entities=[{"type": "italic", "offset": 0, "length": 5}])
    events = await w.sink.next(2)
    edit = events[1]
    assert isinstance(edit, EditMessage)
    assert edit.native_id == str(msg.message_id)
    assert edit.text == RichText("hello", (Span("italic", 0, 5),))


async def test_reactions_are_diffed(world: World) -> None:
    w = world
    msg = w.tg.user_sends(w.group, w.alice, "react to me")
    await w.sink.next()
    w.tg.user_reacts(w.group, w.alice, msg, "👍")
    w.tg.user_reacts(w.group, w.alice, msg, "🔥")
    events = await w.sink.next(4)
    reactions = [(e.emoji, e.added) for e in events[1:] if isinstance(e, Reaction)]
    assert reactions == [("👍", True), ("👍", False), ("🔥", True)]
    assert all(isinstance(e, Reaction) and e.native_id == str(msg.message_id) for e in events[1:])


async def test_messages_from_bots_are_ignored(world: World) -> None:
    w = world
    other = w.tg.add_bot("other_bot")
    payload = {
        "message_id": 999,
        "from": other.user.to_api(),
        "chat": w.group.to_api(),
        "date": 1_700_000_000,
        "text": "I am a bot",
    }
    w.bot.next_update_id += 1
    w.bot.updates.append({"update_id": w.bot.next_update_id, "message": payload})
    w.bot.event().set()
    w.tg.user_sends(w.group, w.alice, "I am a person")
    [event] = await w.sink.next()
    await asyncio.sleep(0)
    assert isinstance(event, NewMessage)
    assert event.text.text == "I am a person"
    assert len(w.sink.events) == 1


async def test_help_command_is_answered_not_relayed(world: World) -> None:
    w = world
    cmd = w.tg.user_sends(w.group, w.alice, "/help@parley_bot")
    reply = await w.tg.wait_for_sent(chat=w.group)
    assert reply.text is not None and reply.text.startswith("Parley commands:")
    assert "/link" in reply.text
    assert reply.reply_to is cmd
    # The next message is relayed; the command was not.
    w.tg.user_sends(w.group, w.alice, "after")
    [event] = await w.sink.next()
    assert isinstance(event, NewMessage) and event.text.text == "after"
    assert [c["command"] for c in w.bot.my_commands()] == ["help", "link"]


async def test_private_reply_needs_a_started_chat(world: World) -> None:
    w = world
    w.tg.user_sends(w.group, w.alice, "/link")
    hint = await w.tg.wait_for_sent(chat=w.group)
    assert hint.text == (
        "@alice_tg, open a private chat with @parley_bot and press Start, then try again."
    )
    assert "secret" not in (hint.text or "")

    w.tg.user_starts_bot(w.alice, w.bot)
    dm = w.tg.private_chat(w.alice, w.bot)
    welcome = await w.tg.wait_for_sent(chat=dm)
    assert (welcome.text or "").startswith("Parley commands:")
    w.tg.user_sends(w.group, w.alice, "/link")
    secret = await w.tg.wait_for_sent(lambda m: "secret" in (m.text or ""), chat=dm)
    assert secret.chat is dm
    assert all("secret" not in m.content for m in w.tg.sent_messages(w.group))


# ----------------------------------------------------------------------------- outbound


async def test_send_bolds_the_name_and_never_parses_markup(world: World) -> None:
    w = world
    text = RichText("<b>x</b> and *y* and real", (Span("italic", 21, 25),))
    native = await w.adapter.send(outbound(w, text))
    msg = sent(w, native)
    assert msg.text == "Bob (discord): <b>x</b> and *y* and real"
    assert msg.entity_texts() == [("bold", "Bob"), ("italic", "real")]
    [call] = w.tg.calls("sendMessage")
    assert "parse_mode" not in call.params


async def test_send_replies_when_the_parent_exists(world: World) -> None:
    w = world
    parent = w.tg.user_sends(w.group, w.alice, "parent")
    native = await w.adapter.send(outbound(w, "child", reply_to=NativeId(str(parent.message_id))))
    assert sent(w, native).reply_to is parent
    orphan = await w.adapter.send(outbound(w, "orphan", reply_to=NativeId("99999")))
    assert sent(w, orphan).reply_to is None
    assert sent(w, orphan).text == "Bob (discord): orphan"


async def test_long_text_is_split_and_deleted_whole(world: World) -> None:
    w = world
    body = " ".join(f"word{i}😀" for i in range(2000))
    native = await w.adapter.send(outbound(w, body))
    parts = w.tg.sent_messages(w.group)
    assert len(parts) >= 3
    assert all(utf16_len(p.content) <= 4096 for p in parts)
    assert parts[0].message_id == int(native)
    assert parts[0].entity_texts()[0] == ("bold", "Bob")
    joined = " ".join(p.content for p in parts)
    assert joined.split() == ("Bob (discord): " + body).split()

    await w.adapter.edit(
        OutboundEdit(
            target=w.ref(),
            idempotency_key="edit-long",
            native_id=native,
            room="main",
            source=DISCORD,
            author=BOB,
            text=RichText.plain("now short"),
        )
    )
    assert parts[0].text == "Bob (discord): now short"
    assert all(p.deleted for p in parts[1:])


async def test_photo_is_uploaded_with_the_caption(world: World) -> None:
    w = world
    image = png(16)
    att = Attachment("photo", "red.png", "image/png", size=len(image), data=image)
    native = await w.adapter.send(outbound(w, "a red square", attachments=(att,)))
    msg = sent(w, native)
    assert msg.photo and msg.photo[-1].data == image
    assert msg.caption == "Bob (discord): a red square"
    assert msg.entity_texts() == [("bold", "Bob")]


async def test_edit_and_delete(world: World) -> None:
    w = world
    native = await w.adapter.send(outbound(w, "first"))
    edit = OutboundEdit(
        target=w.ref(),
        idempotency_key="e1",
        native_id=native,
        room="main",
        source=DISCORD,
        author=BOB,
        text=RichText.plain("second"),
    )
    await w.adapter.edit(edit)
    assert sent(w, native).text == "Bob (discord): second"
    assert sent(w, native).entity_texts() == [("bold", "Bob")]
    await w.adapter.edit(edit)  # "message is not modified" is success

    delete = OutboundDelete(target=w.ref(), idempotency_key="d1", native_id=native)
    await w.adapter.delete(delete)
    assert sent(w, native).deleted
    await w.adapter.delete(delete)  # already gone: still success


async def test_react_with_supported_and_unsupported_emoji(world: World) -> None:
    w = world
    native = await w.adapter.send(outbound(w, "nice"))

    def reaction(emoji: str, added: bool = True) -> OutboundReaction:
        return OutboundReaction(
            target=w.ref(),
            idempotency_key=f"r-{emoji}-{added}",
            native_id=native,
            emoji=emoji,
            added=added,
            author=BOB,
        )

    await w.adapter.react(reaction("👍"))
    assert sent(w, native).reactions == {w.bot.id: ["👍"]}
    await w.adapter.react(reaction("🦀"))  # not in Telegram's set: skipped, no error
    assert sent(w, native).reactions == {w.bot.id: ["👍"]}
    assert len(w.tg.calls("setMessageReaction")) == 1
    await w.adapter.react(reaction("❤\ufe0f"))  # normalised to Telegram's spelling
    assert sent(w, native).reactions == {w.bot.id: ["❤"]}
    await w.adapter.react(reaction("❤", added=False))
    assert sent(w, native).reactions == {}


async def test_delivery_errors_are_classified(world: World) -> None:
    w = world
    w.tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryableError) as retry:
        await w.adapter.send(outbound(w, "a"))
    assert retry.value.retry_after == 7

    w.tg.fail_next("sendMessage", 500)
    with pytest.raises(RetryableError) as server:
        await w.adapter.send(outbound(w, "b"))
    assert server.value.retry_after is None

    w.tg.fail_next("sendMessage", 400, description="Bad Request: chat not found")
    with pytest.raises(PermanentError, match=r"(?i)chat not found"):
        await w.adapter.send(outbound(w, "c"))

    w.tg.fail_next("sendMessage", 403, description="Forbidden: bot was kicked")
    with pytest.raises(PermanentError, match="kicked"):
        await w.adapter.send(outbound(w, "d"))
    assert w.tg.sent_messages(w.group) == []


async def test_a_retried_send_does_not_repeat_posted_parts(world: World) -> None:
    w = world
    image = png(16)
    att = Attachment("photo", "red.png", "image/png", data=image)
    body = "\n\n".join("x" * 900 for _ in range(3))  # too long for one caption
    msg = outbound(w, body, attachments=(att,))
    w.tg.fail_next("sendMessage", 500)  # the photo goes out, the text after it fails
    with pytest.raises(RetryableError):
        await w.adapter.send(msg)
    [photo] = w.tg.sent_messages(w.group)
    native = await w.adapter.send(msg)
    parts = w.tg.sent_messages(w.group)
    assert parts[0] is photo and photo.message_id == int(native)
    assert len(parts) == 2
    assert (photo.caption or "").startswith("Bob (discord): ")
    assert utf16_len(photo.caption or "") <= 1024
    assert " ".join(p.content for p in parts).split() == ("Bob (discord): " + body).split()


# ------------------------------------------------------------------------------ polling


async def test_an_update_the_sink_rejects_is_delivered_again(world: World) -> None:
    w = world
    w.sink.fail = True
    msg = w.tg.user_sends(w.group, w.alice, "precious")
    await w.sink.wait_for(lambda: w.sink.failures >= 2)
    await w.adapter.stop()
    # Never confirmed: Telegram still holds it.
    assert [u["message"]["message_id"] for u in w.tg.pending_updates(w.bot)] == [msg.message_id]

    fresh = Sink()
    again = make_adapter(w.tg, w.bot, w.commands)
    await again.start(fresh)
    try:
        [event] = await fresh.next()
        assert isinstance(event, NewMessage) and event.text.text == "precious"
        w.tg.user_sends(w.group, w.alice, "next")
        await fresh.next(2)
    finally:
        await again.stop()
    # Confirmed on stop: a third start sees nothing old.
    assert w.tg.pending_updates(w.bot) == []


async def test_polling_survives_server_errors_and_conflicts(world: World) -> None:
    w = world
    w.tg.fail_next("getUpdates", 500, count=2)
    w.tg.fail_next("getUpdates", 409, description="Conflict: terminated by other getUpdates")
    # Wake the running long poll so that the next polls meet the faults.
    w.tg.user_sends(w.group, w.alice, "one")
    await w.sink.next()
    w.tg.user_sends(w.group, w.alice, "two")
    events = await w.sink.next(2)
    assert [e.text.text for e in events if isinstance(e, NewMessage)] == ["one", "two"]
    assert w.adapter.is_connected()
    assert sum(1 for c in w.tg.calls("getUpdates") if c.status != 200) == 3


@contextlib.asynccontextmanager
async def file_server(data: bytes) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=data, content_type="application/pdf")

    app = web.Application()
    app.router.add_get("/doc.pdf", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/doc.pdf"
    finally:
        await runner.cleanup()


async def test_attachment_urls_are_fetched_but_never_from_private_addresses(world: World) -> None:
    w = world
    data = b"%PDF-1.4 tiny"
    async with file_server(data) as url:
        att = Attachment("file", "doc.pdf", "application/pdf", url=url)
        # By default a URL into the bridge's own network is refused: a notice instead.
        native = await w.adapter.send(outbound(w, "the doc", attachments=(att,)))
        msg = sent(w, native)
        assert msg.document is None
        assert msg.text == "Bob (discord): the doc\n[file could not be relayed: doc.pdf]"
        assert w.tg.calls("sendDocument") == []

        trusting = make_adapter(w.tg, w.bot, w.commands, fetch_policy=loopback_policy())
        await trusting.start(Sink())
        try:
            native = await trusting.send(outbound(w, "the doc again", attachments=(att,)))
        finally:
            await trusting.stop()
        msg = sent(w, native)
        assert msg.document is not None and msg.document.data == data
        assert msg.document.file_name == "doc.pdf"
        assert msg.caption == "Bob (discord): the doc again"


async def test_a_wrong_token_fails_the_start() -> None:
    async with FakeTelegram() as tg:
        real = tg.add_bot("parley_bot")
        adapter = TelegramAdapter(
            token="123:not-a-known-token",
            api_base_url=tg.base_url,
            file_base_url=tg.base_file_url,
        )
        with pytest.raises(InvalidToken):
            await adapter.start(Sink())
        assert not adapter.is_connected()
        assert tg.calls("getUpdates", bot=real) == []
