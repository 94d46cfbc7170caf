"""The Telegram stand-in works with the real python-telegram-bot, unpatched."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image
from telegram import Bot, Message, MessageEntity, ReactionTypeEmoji, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    filters,
)

from tests.fakes.telegram import REACTION_EMOJI, FakeBot, FakeChat, FakeTelegram, FakeUser
from tests.fakes.telegram_entities import (
    EntityParseError,
    detect_entities,
    parse_html,
    parse_markdown_v2,
    utf16_slice,
)

App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def world(tg: FakeTelegram) -> tuple[FakeBot, FakeUser, FakeChat]:
    bot = tg.add_bot("parley_bot")
    alice = tg.add_user("Alice", username="alice_tg")
    group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
    return bot, alice, group


def build(tg: FakeTelegram, bot: FakeBot, *, limiter: AIORateLimiter | None = None) -> App:
    builder = ApplicationBuilder().token(bot.token)
    builder = builder.base_url(tg.base_url).base_file_url(tg.base_file_url)
    if limiter is None:
        return builder.build()
    limited: App = builder.rate_limiter(limiter).build()
    return limited


@contextlib.asynccontextmanager
async def polling(
    app: App, *, allowed_updates: list[str] | None = None, poll_timeout: int = 5
) -> AsyncIterator[App]:
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(
            poll_interval=0, timeout=poll_timeout, allowed_updates=allowed_updates
        )
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# ------------------------------------------------------------------------ receiving


async def test_command_handler_replies_to_help(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    app = build(tg, bot)

    async def help_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"help for {context.args}")

    app.add_handler(CommandHandler("help", help_cmd))
    async with polling(app):
        asked = tg.user_sends(group, alice, "/help")
        reply = await tg.wait_for_sent(lambda m: m.content == "help for []", chat=group)
        assert reply.reply_to is asked  # reply_text quotes in groups
        asked2 = tg.user_sends(group, alice, "/help@parley_bot me")
        reply2 = await tg.wait_for_sent(lambda m: m.content == "help for ['me']")
        assert reply2.reply_to is asked2
        assert asked.entities == [{"type": "bot_command", "offset": 0, "length": 5}]
    # the bot never hears its own messages, and everything it fetched was confirmed
    assert tg.pending_updates(bot) == []
    last_poll = tg.calls("getUpdates")[-1]
    assert last_poll.params["timeout"] == "0" and last_poll.status == 200


async def test_text_entities_have_utf16_offsets(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    app = build(tg, bot)
    got: list[Message] = []

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        got.append(update.message)

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    async with polling(app):
        text = "😀👍🏽 hi @bob_smith see https://example.org/x?y=1, #tag_1 and /help"
        tg.user_sends(group, alice, text)
        await tg.wait_until(lambda: got)
    parsed = {e.type: t for e, t in got[0].parse_entities().items()}
    assert parsed == {
        MessageEntity.MENTION: "@bob_smith",
        MessageEntity.URL: "https://example.org/x?y=1",
        MessageEntity.HASHTAG: "#tag_1",
        MessageEntity.BOT_COMMAND: "/help",
    }
    assert got[0].entities[0].offset == 10  # 😀 and 👍🏽 are 2 UTF-16 units each
    assert got[0].from_user is not None and got[0].from_user.username == "alice_tg"


async def test_edited_message_and_reply_arrive(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    app = build(tg, bot)
    edits: list[Message] = []
    replies: list[Message] = []

    async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.edited_message is not None
        edits.append(update.edited_message)

    async def on_new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        replies.append(update.message)

    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, on_new))
    async with polling(app):
        original = tg.user_sends(group, alice, "helo")
        tg.user_edits(group, original, "hello")
        tg.user_sends(group, alice, "answer", reply_to=original)
        await tg.wait_until(lambda: edits and len(replies) == 2)
    assert edits[0].text == "hello" and edits[0].edit_date is not None
    assert edits[0].message_id == original.message_id
    assert replies[1].reply_to_message is not None
    assert replies[1].reply_to_message.message_id == original.message_id
    assert original.history == [("helo", [])]


async def test_message_reaction_only_when_asked(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    seen: list[str] = []

    async def on_reaction(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message_reaction is not None
        new = update.message_reaction.new_reaction
        seen.append("+" + "".join(r.emoji for r in new if isinstance(r, ReactionTypeEmoji)))

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        seen.append(update.message.text or "")

    for allowed in (None, Update.ALL_TYPES):
        seen.clear()
        app = build(tg, bot)
        app.add_handler(MessageReactionHandler(on_reaction))
        app.add_handler(MessageHandler(filters.TEXT, on_text))
        async with polling(app, allowed_updates=allowed):
            msg = tg.user_sends(group, alice, "react to me")
            tg.user_reacts(group, alice, msg, "👍")
            tg.user_sends(group, alice, "done")
            await tg.wait_until(lambda: "done" in seen)
        if allowed is None:
            assert seen == ["react to me", "done"]
        else:
            assert seen == ["react to me", "+👍", "done"]


# -------------------------------------------------------------------------- sending


async def test_html_and_markdown_become_entities(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, _, group = world
    async with build(tg, bot) as app:
        html = (
            "😀<b>bold</b> <i>it</i> <u>under</u> <s>gone</s> <tg-spoiler>secret</tg-spoiler> "
            '<a href="https://x.org/">link</a> <code>a&lt;b</code> '
            '<pre><code class="language-python">x = 1</code></pre> @carol_tg'
        )
        sent = await app.bot.send_message(group.id, html, parse_mode=ParseMode.HTML)
        stored = tg.sent_messages(group)[-1]
        assert stored.text == sent.text == "😀bold it under gone secret link a<b x = 1 @carol_tg"
        assert stored.entity_texts() == [
            ("bold", "bold"),
            ("italic", "it"),
            ("underline", "under"),
            ("strikethrough", "gone"),
            ("spoiler", "secret"),
            ("text_link", "link"),
            ("code", "a<b"),
            ("pre", "x = 1"),
            ("mention", "@carol_tg"),
        ]
        assert stored.entities[0]["offset"] == 2
        assert stored.entities[5]["url"] == "https://x.org/"
        assert stored.entities[7]["language"] == "python"

        md = await app.bot.send_message(
            group.id,
            r"*b* _i_ __u__ ~s~ ||sp|| [l](https://y.org) `c` 1\.5",
            parse_mode="MarkdownV2",
        )
        assert md.text == "b i u s sp l c 1.5"
        assert [e.type for e in md.entities] == [
            "bold",
            "italic",
            "underline",
            "strikethrough",
            "spoiler",
            "text_link",
            "code",
        ]
        with pytest.raises(
            BadRequest, match=r"(?i)can't parse entities: Character '\.' is reserved"
        ):
            await app.bot.send_message(group.id, "1.5", parse_mode="MarkdownV2")
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Unsupported start tag"):
            await app.bot.send_message(group.id, "<blink>x</blink>", parse_mode="HTML")

        raw = await app.bot.send_message(
            group.id, "😀 raw", entities=[MessageEntity("bold", offset=3, length=3)]
        )
        assert raw.parse_entities() == {raw.entities[0]: "raw"}
        request = tg.calls("sendMessage")[-1]
        assert request.params["entities"] == [{"type": "bold", "offset": 3, "length": 3}]


async def test_reply_parameters_link_a_reply(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    original = tg.user_sends(group, alice, "question?")
    async with build(tg, bot) as app:
        sent = await app.bot.send_message(
            group.id, "answer", reply_parameters=ReplyParameters(original.message_id)
        )
        assert sent.reply_to_message is not None
        assert sent.reply_to_message.text == "question?"
        legacy = await app.bot.send_message(
            group.id, "again", reply_to_message_id=original.message_id
        )
        assert legacy.reply_to_message is not None
        with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
            await app.bot.send_message(group.id, "x", reply_parameters=ReplyParameters(9999))
    assert [m.reply_to for m in tg.sent_messages(group)] == [original, original]


async def test_long_text_edit_delete_and_reactions(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    users_msg = tg.user_sends(group, alice, "hi")
    async with build(tg, bot) as app:
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await app.bot.send_message(group.id, "x" * 4097)
        sent = await app.bot.send_message(group.id, "é" * 4096)
        edited = await app.bot.edit_message_text(
            "<b>new</b>", group.id, sent.message_id, parse_mode="HTML"
        )
        assert isinstance(edited, Message) and edited.edit_date is not None
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await app.bot.edit_message_text(
                "<b>new</b>", group.id, sent.message_id, parse_mode="HTML"
            )
        with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
            await app.bot.edit_message_text("no", group.id, users_msg.message_id)
        assert await app.bot.set_message_reaction(group.id, users_msg.message_id, "👍")
        with pytest.raises(BadRequest, match=r"(?i)REACTION_INVALID"):
            await app.bot.set_message_reaction(group.id, users_msg.message_id, "🚀")
        with pytest.raises(BadRequest, match=r"(?i)REACTION_INVALID"):
            await app.bot.set_message_reaction(
                group.id, users_msg.message_id, [ReactionTypeEmoji("❤️")]
            )
        assert await app.bot.delete_message(group.id, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
            await app.bot.delete_message(group.id, sent.message_id)
    assert "🚀" not in REACTION_EMOJI
    [stored] = tg.sent_messages(group)
    assert stored.deleted and stored.text == "new" and stored.history == [("é" * 4096, [])]
    assert users_msg.reactions == {bot.id: ["👍"]}


async def test_photo_upload_and_download(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    image = png(640, 480)
    async with build(tg, bot) as app:
        with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
            await app.bot.send_photo(group.id, image, caption="c" * 1025)
        sent = await app.bot.send_photo(group.id, image, caption="<b>pic</b>", parse_mode="HTML")
        largest = sent.photo[-1]
        assert (largest.width, largest.height) == (640, 480)
        assert sent.photo[0].width == 320 and sent.caption == "pic"
        file = await app.bot.get_file(largest.file_id)
        assert bytes(await file.download_as_bytearray()) == image

        doc = await app.bot.send_document(group.id, b"%PDF-1.4 tiny", filename="notes.pdf")
        assert doc.document is not None and doc.document.file_name == "notes.pdf"
        assert doc.document.mime_type == "application/pdf"

        # files users send: downloadable up to 20 MB
        small = tg.user_sends(group, alice, photo=png(50, 40), caption="mine")
        small_file = await app.bot.get_file(small.photo[-1].file_id)
        assert bytes(await small_file.download_as_bytearray()) == small.photo[-1].data
        big = tg.user_sends(
            group, alice, document=b"\0" * (20 * 1024 * 1024 + 1), file_name="big.bin"
        )
        assert big.document is not None
        with pytest.raises(BadRequest, match=r"(?i)file is too big"):
            await app.bot.get_file(big.document.file_id)
    stored = tg.sent_messages(group)[0]
    assert stored.file is not None and stored.file.data == image
    assert stored.caption_entities == [{"type": "bold", "offset": 0, "length": 3}]


# ---------------------------------------------------------------------------- faults


async def test_429_is_retried_by_the_rate_limiter(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, _, group = world
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=3)
    tg.fail_next("sendMessage", 429, retry_after=1)
    async with build(tg, bot, limiter=limiter) as app:
        sent = await app.bot.send_message(group.id, "once")
    assert [m.text for m in tg.sent_messages(group)] == ["once"]
    assert sent.message_id == tg.sent_messages(group)[0].message_id
    statuses = [r.status for r in tg.calls("sendMessage")]
    assert statuses == [429, 200]
    first = tg.calls("sendMessage")[0].response
    assert first is not None and first["parameters"] == {"retry_after": 1}


async def test_429_without_limiter_and_5xx_reach_the_caller(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, _, group = world
    async with build(tg, bot) as app:
        tg.fail_next("sendMessage", 429, retry_after=7)
        with pytest.raises(RetryAfter) as info:
            await app.bot.send_message(group.id, "x")
        assert info.value.retry_after.total_seconds() == 7  # type: ignore[union-attr]
        tg.fail_next("sendMessage", 500, count=2)
        for _ in range(2):
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await app.bot.send_message(group.id, "x")
        tg.fail_next("sendMessage", 502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await app.bot.send_message(group.id, "x")
        tg.set_delay("sendMessage", 1.0)
        with pytest.raises(TimedOut):
            await app.bot.send_message(group.id, "slow", read_timeout=0.2)
        tg.set_delay("sendMessage", None)
        await app.bot.send_message(group.id, "fine")
        with pytest.raises(EndPointNotFound):
            await app.bot.do_api_request("noSuchMethod")
    await tg.wait_until(lambda: len(tg.sent_messages(group)) == 2)  # the slow one landed late
    assert sorted(m.content for m in tg.sent_messages(group)) == ["fine", "slow"]


async def test_second_poller_gets_409(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    app = build(tg, bot)
    got: list[str] = []

    async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        got.append(update.message.text or "")

    app.add_handler(MessageHandler(filters.TEXT, on_text))
    async with polling(app, poll_timeout=30):
        await tg.wait_until(lambda: bot.poll_task is not None)
        async with Bot(bot.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as rival:
            with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
                await rival.get_updates(timeout=0)
        tg.user_sends(group, alice, "still here")
        await tg.wait_until(lambda: got)
    assert got == ["still here"]
    # stopping cancels the long poll; the final confirming poll is not a conflict
    assert [r.status for r in tg.calls("getUpdates")][-1] == 200


async def test_private_chat_needs_start_and_tokens_are_checked(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, _ = world
    app = build(tg, bot)
    started: list[int] = []

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        started.append(update.effective_chat.id)
        await context.bot.send_message(update.effective_chat.id, "welcome")

    app.add_handler(CommandHandler("start", on_start))
    async with polling(app):
        with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation with a user"):
            await app.bot.send_message(alice.id, "hello?")
        tg.user_starts_bot(alice)
        dm = await tg.wait_for_sent(lambda m: m.content == "welcome")
        assert dm.chat.type == "private" and dm.chat.id == alice.id
        await app.bot.send_message(alice.id, "your link: https://parley.example/link/abc")
    assert started == [alice.id]
    assert [m.content for m in tg.sent_messages(alice.id)][-1].startswith("your link")

    with pytest.raises(InvalidToken):
        async with Bot("123:nope", base_url=tg.base_url):
            pass


async def test_group_migrates_to_supergroup(tg: FakeTelegram) -> None:
    bot = tg.add_bot("parley_bot")
    alice = tg.add_user("Alice")
    group = tg.add_chat("group", "Small", members=[alice], bots=[bot])
    assert group.id > -1_000_000_000
    async with build(tg, bot) as app:
        await app.bot.send_message(group.id, "before")
        new = tg.migrate_to_supergroup(group)
        with pytest.raises(ChatMigrated) as info:
            await app.bot.send_message(group.id, "after")
        assert info.value.new_chat_id == new.id
        await app.bot.send_message(new.id, "after")
        updates = await app.bot.get_updates(timeout=0)
    assert [(u.message.chat.type, u.message.migrate_to_chat_id) for u in updates if u.message] == [
        ("group", new.id),
        ("supergroup", None),
    ]
    assert updates[1].message is not None and updates[1].message.migrate_from_chat_id == group.id


async def test_commands_chat_info_and_members(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    bob = tg.add_user("Bob")
    tg.set_member(group, bob)
    async with build(tg, bot) as app:
        assert await app.bot.set_my_commands([("help", "Show help"), ("link", "Link a wallet")])
        assert [c.command for c in await app.bot.get_my_commands()] == ["help", "link"]
        with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
            await app.bot.set_my_commands([("Bad-Name", "x")])
        assert await app.bot.delete_my_commands()
        assert await app.bot.get_my_commands() == ()

        info = await app.bot.get_chat(group.id)
        assert info.title == "Room" and info.max_reaction_count == 11
        owner = await app.bot.get_chat_member(group.id, alice.id)
        assert owner.status == "creator"
        me = await app.bot.get_chat_member(group.id, bot.id)
        assert me.status == "administrator" and me.can_delete_messages
        assert (await app.bot.get_chat_member(group.id, bob.id)).status == "member"
        admins = await app.bot.get_chat_administrators(group.id)
        assert {a.user.id for a in admins} == {alice.id, bot.id}
        assert await app.bot.send_chat_action(group.id, "typing")
        assert group.actions == [(bot.id, "typing")]
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await app.bot.get_chat(-1009999)
        stranger = tg.add_chat("supergroup", "Elsewhere", members=[bob])
        with pytest.raises(Forbidden, match=r"(?i)bot is not a member of the supergroup chat"):
            await app.bot.send_message(stranger.id, "hi")
    assert tg.calls("setMyCommands")[0].params["commands"][0] == {
        "command": "help",
        "description": "Show help",
    }


async def test_privacy_mode_hides_plain_group_chatter(tg: FakeTelegram) -> None:
    bot = tg.add_bot("shy_bot", privacy_mode=True)
    alice = tg.add_user("Alice")
    group = tg.add_chat("group", "G", members=[alice], bots=[bot], bot_status="member")
    tg.user_sends(group, alice, "chatter")
    tg.user_sends(group, alice, "/help")
    tg.user_sends(group, alice, "hey @shy_bot")
    async with build(tg, bot) as app:
        updates = await app.bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["/help", "hey @shy_bot"]


async def test_long_poll_waits_for_new_updates(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    async with build(tg, bot) as app:
        poll = asyncio.create_task(app.bot.get_updates(timeout=30))
        await tg.wait_until(lambda: bot.poll_task is not None)
        assert not poll.done()
        tg.user_sends(group, alice, "wake up")
        updates = await poll
        assert [u.message.text for u in updates if u.message] == ["wake up"]
        # not confirmed yet: delivered again; confirming with offset drops it
        again = await app.bot.get_updates(timeout=0)
        assert [u.update_id for u in again] == [updates[0].update_id]
        assert await app.bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert tg.pending_updates(bot) == []


# ----------------------------------------------------------------------- formatting


def test_html_parser_details() -> None:
    text, entities = parse_html("<b>a <i>b</i></b> &amp; <blockquote expandable>q</blockquote>")
    assert text == "a b & q"
    assert [(e["type"], e["offset"], e["length"]) for e in entities] == [
        ("bold", 0, 3),
        ("italic", 2, 1),
        ("expandable_blockquote", 6, 1),
    ]
    with pytest.raises(EntityParseError, match="Unmatched end tag"):
        parse_html("<b>x</i>")
    with pytest.raises(EntityParseError, match="Can't find end tag"):
        parse_html("<b>x")


def test_markdown_v2_parser_details() -> None:
    text, entities = parse_markdown_v2("```py\nprint(1)\n``` *a\\*b* [x\\]](https://e.org/a\\)b)")
    assert text == "print(1)\n a*b x]"
    assert entities[0] == {"type": "pre", "offset": 0, "length": 9, "language": "py"}
    assert entities[1]["type"] == "bold" and utf16_slice(text, 10, 3) == "a*b"
    assert entities[2]["url"] == "https://e.org/a)b"
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity"):
        parse_markdown_v2("*open")
    quoted, quote_entities = parse_markdown_v2(">line one\n>line two\nafter")
    assert quoted == "line one\nline two\nafter"
    assert quote_entities == [{"type": "blockquote", "offset": 0, "length": 18}]


def test_detected_entities_skip_code_and_links() -> None:
    text = "mail me@example.com or visit www.example.com /cmd@some_bot $USD"
    found = {utf16_slice(text, e["offset"], e["length"]): e["type"] for e in detect_entities(text)}
    assert found == {
        "me@example.com": "email",
        "www.example.com": "url",
        "/cmd@some_bot": "bot_command",
        "$USD": "cashtag",
    }
    assert detect_entities("@someone", [{"type": "code", "offset": 0, "length": 8}]) == []


async def test_profile_photos_animations_and_raw_updates(
    tg: FakeTelegram, world: tuple[FakeBot, FakeUser, FakeChat]
) -> None:
    bot, alice, group = world
    image = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 10)).save(image, "PNG")
    async with Bot(bot.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as client:
        none = await client.get_user_profile_photos(alice.id)
        assert none.total_count == 0 and none.photos == ()
        tg.set_profile_photo(alice, image.getvalue())
        found = await client.get_user_profile_photos(alice.id, limit=1)
        assert found.total_count == 1
        sizes = found.photos[0]
        assert [p.width for p in sizes] == [320, 640]  # a thumbnail and the original
        file = await client.get_file(sizes[-1].file_id)
        assert bytes(await file.download_as_bytearray()) == image.getvalue()
        with pytest.raises(BadRequest, match=r"(?i)user not found"):
            await client.get_user_profile_photos(1)

        gif = io.BytesIO()
        Image.new("RGB", (20, 10), (0, 0, 0)).save(gif, "GIF")
        sent = await client.send_animation(group.id, gif.getvalue(), caption="moving")
        assert sent.animation is not None and sent.animation.width == 20
        assert sent.document is not None and sent.caption == "moving"

        # An update the library cannot parse comes back exactly as pushed.
        update_id = tg.push_raw_update("message_reaction", {"chat": group.to_api(), "date": 1})
        raw = await client.do_api_request(
            "getupdates", api_kwargs={"timeout": 0, "allowed_updates": ["message_reaction"]}
        )
        assert raw == [
            {"update_id": update_id, "message_reaction": {"chat": group.to_api(), "date": 1}}
        ]
        with pytest.raises(TypeError):
            Update.de_json(raw[0], client)
