"""The adapter conformance suite: what every platform adapter must do, whatever the platform.

Each test drives the adapter the way the bridge does (the outbox's deliveries, the router's
sink) and checks the result the way a person on the platform would see it, through the
platform's fake or real server (``driver.py``). Features an adapter does not declare in its
capabilities are not asked of it (`@pytest.mark.needs`, see `conftest.py`).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from PIL import Image

from bridge.model import (
    Attachment,
    Author,
    ChatId,
    ChatRef,
    DeleteMessage,
    EditMessage,
    Feature,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    Platform,
    Reaction,
    RetryableError,
    RichText,
    Span,
    UserId,
)
from tests.conformance.driver import SECRET, Answer, CommandDriver, Driver

KEYS = iter(range(1, 1_000_000))


def source_of(driver: Driver) -> ChatRef:
    other: Platform = "discord" if driver.chat.platform == "telegram" else "telegram"
    return ChatRef(other, ChatId("1001"))


def author(driver: Driver, name: str = "Bob Builder", avatar: str | None = None) -> Author:
    return Author(source_of(driver).platform, UserId("42"), name, avatar_url=avatar)


def message(
    driver: Driver,
    text: str | RichText,
    *,
    key: str | None = None,
    reply_to: NativeId | None = None,
    attachments: tuple[Attachment, ...] = (),
    who: Author | None = None,
) -> OutboundMessage:
    return OutboundMessage(
        target=driver.chat,
        idempotency_key=key or f"conf-{next(KEYS)}",
        room="conformance",
        source=source_of(driver),
        author=who or author(driver),
        text=text if isinstance(text, RichText) else RichText(text),
        sent_at=datetime.now(UTC),
        reply_to=reply_to,
        attachments=attachments,
    )


def png(color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return out.getvalue()


# --- text and formatting --------------------------------------------------------------------


async def test_text_out_and_in(driver: Driver) -> None:
    native = await driver.adapter.send(message(driver, "hello, bridge ✓"))
    assert (await driver.seen(native)).text == "hello, bridge ✓"
    theirs = await driver.say("hello back 👋")
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage)
    assert (event.native_id, event.text.text, event.source) == (
        theirs,
        "hello back 👋",
        driver.chat,
    )
    assert event.author.platform == driver.chat.platform and event.author.display_name


# status-im/markdown, the parser of every Status client, has no [label](url) syntax (its
# parser/parser.go registers no inline handler for "["): only bare URLs become links.
PLATFORM_CANNOT_LABEL_LINKS = frozenset({"waku"})


def formatted(driver: Driver) -> RichText:
    """The sample ``Driver.say_formatted`` posts: "bold italic link code", each word formatted
    as it says. Where the platform's markup has no labelled links (Status), the link's text is
    its URL."""
    if driver.chat.platform in PLATFORM_CANNOT_LABEL_LINKS:
        link = "https://example.org/"
        text = f"bold italic {link} code"
        return RichText(
            text,
            (
                Span("bold", 0, 4),
                Span("italic", 5, 11),
                Span("link", 12, 12 + len(link), url=link),
                Span("code", 13 + len(link), 17 + len(link)),
            ),
        )
    text = "bold italic link code"
    return RichText(
        text,
        (
            Span("bold", 0, 4),
            Span("italic", 5, 11),
            Span("link", 12, 16, url="https://example.org/"),
            Span("code", 17, 21),
        ),
    )


@pytest.mark.platform_can("formatting")
async def test_formatting_out_and_in(driver: Driver) -> None:
    rich = formatted(driver)
    text = rich.text
    seen = await driver.seen(await driver.adapter.send(message(driver, rich)))
    assert seen.text == text
    assert set(rich.spans) <= set(seen.rich.spans)
    await driver.say_formatted()
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage)
    assert event.text.text == text
    assert set(rich.spans) <= set(event.text.spans)


# --- replies, edits, deletes, reactions -----------------------------------------------------


@pytest.mark.needs(Feature.REPLY)
async def test_replies_out_and_in(driver: Driver) -> None:
    parent = await driver.adapter.send(message(driver, "parent"))
    child = await driver.adapter.send(message(driver, "child", reply_to=parent))
    assert (await driver.seen(child)).reply_to == parent
    theirs = await driver.say("reply to the bridge", reply_to=parent)
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage)
    assert (event.native_id, event.reply_to) == (theirs, parent)
    assert event.text.text == "reply to the bridge"


@pytest.mark.needs(Feature.EDIT)
async def test_edits_out_and_in(driver: Driver) -> None:
    native = await driver.adapter.send(message(driver, "first"))
    await driver.adapter.edit(
        OutboundEdit(
            target=driver.chat,
            idempotency_key=f"conf-{next(KEYS)}",
            native_id=native,
            room="conformance",
            source=source_of(driver),
            author=author(driver),
            text=RichText("second"),
        )
    )
    assert (await driver.seen(native)).text == "second"
    theirs = await driver.say("typo")
    await driver.edit(theirs, "fixed")
    await driver.sink.next(2)
    edit = driver.sink.events[1]
    assert isinstance(edit, EditMessage)
    assert (edit.native_id, edit.text.text) == (theirs, "fixed")


@pytest.mark.needs(Feature.DELETE)
async def test_deletes_out(driver: Driver) -> None:
    native = await driver.adapter.send(message(driver, "doomed"))
    delete = OutboundDelete(target=driver.chat, idempotency_key="d1", native_id=native)
    await driver.adapter.delete(delete)
    assert (await driver.seen(native)).deleted
    await driver.adapter.delete(delete)  # deleting what is gone succeeds


@pytest.mark.platform_can("see_deletes")
async def test_deletes_in(driver: Driver) -> None:
    theirs = await driver.say("oops")
    await driver.delete(theirs)
    await driver.sink.next(2)
    assert driver.sink.events[1] == DeleteMessage(driver.chat, theirs)


# People react with emoji every platform offers: Status has six reactions, Telegram a fixed set.
@pytest.mark.needs(Feature.REACT)
async def test_reactions_out_and_in(driver: Driver) -> None:
    native = await driver.adapter.send(message(driver, "react to me"))

    def reaction(added: bool) -> OutboundReaction:
        return OutboundReaction(
            target=driver.chat,
            idempotency_key=f"conf-{next(KEYS)}",
            native_id=native,
            emoji="👍",
            added=added,
            author=author(driver, "Carol"),
        )

    await driver.adapter.react(reaction(True))
    assert (await driver.seen(native)).reactions == {"👍"}
    await driver.adapter.react(reaction(True))  # twice is still one reaction
    await driver.adapter.react(reaction(False))
    assert (await driver.seen(native)).reactions == frozenset()
    await driver.react(native, "👎")
    await driver.unreact(native, "👎")
    added, removed = await driver.sink.next(2)
    assert isinstance(added, Reaction) and isinstance(removed, Reaction)
    assert (added.native_id, added.emoji, added.added) == (native, "👎", True)
    assert (removed.native_id, removed.emoji, removed.added) == (native, "👎", False)


# --- media, long text, names and avatars ----------------------------------------------------


@pytest.mark.needs(Feature.ATTACHMENTS)
async def test_media_out_and_in(driver: Driver) -> None:
    data = png("red")
    attachment = Attachment("photo", "red.png", "image/png", size=len(data), data=data)
    native = await driver.adapter.send(message(driver, "", attachments=(attachment,)))
    assert (await driver.seen(native)).files == (data,)
    blob = bytes(range(256)) * 40
    await driver.send_file("notes.bin", "application/octet-stream", blob)
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage)
    [file] = event.attachments
    assert (file.filename, file.data) == ("notes.bin", blob)


@pytest.mark.platform_can("split_long_text")
async def test_long_text_arrives_whole(driver: Driver) -> None:
    limit = driver.adapter.capabilities.max_text_length
    words = [f"w{i}" for i in range(limit // 2)]  # ~2.5 x the limit
    text = " ".join(words)
    before = set(await driver.posted())
    await driver.adapter.send(message(driver, text))
    parts = [n for n in await driver.posted() if n not in before]
    assert len(parts) >= 2
    seen = [await driver.seen(n) for n in parts]
    assert all(len(s.text) <= limit for s in seen)
    assert " ".join(s.text for s in seen).split() == words


@pytest.mark.needs(Feature.IDENTITY)
async def test_author_name_and_avatar(driver: Driver) -> None:
    picture = png("blue")
    who = author(driver, "Dana Avatar", avatar=driver.avatar_url(picture))
    seen = await driver.seen(await driver.adapter.send(message(driver, "it's me", who=who)))
    assert "Dana Avatar" in seen.sender_name
    assert seen.avatar == picture
    renamed = author(driver, "Dana Renamed", avatar=driver.avatar_url(png("green")))
    seen = await driver.seen(await driver.adapter.send(message(driver, "new name", who=renamed)))
    assert "Dana Renamed" in seen.sender_name
    assert seen.avatar == png("green")


# --- faults and restarts --------------------------------------------------------------------


async def test_server_outage_is_retryable_and_heals(driver: Driver) -> None:
    await driver.sever()
    with pytest.raises(RetryableError):
        await driver.adapter.send(message(driver, "into the void"))
    async with asyncio.timeout(20):  # at once, or at its next poll or health check
        while driver.adapter.is_connected():  # noqa: ASYNC110 - adapters have no event
            await asyncio.sleep(0.05)
    await driver.heal()
    async with asyncio.timeout(20):
        while not driver.adapter.is_connected():  # noqa: ASYNC110 - adapters have no event
            await asyncio.sleep(0.05)
    native = await driver.adapter.send(message(driver, "back"))
    assert (await driver.seen(native)).text == "back"


async def test_inbound_waits_for_a_failing_sink(driver: Driver) -> None:
    driver.sink.fail = True
    theirs = await driver.say("keep me")
    await driver.sink.wait_for(lambda: driver.sink.failures >= 1)
    driver.sink.fail = False
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage) and event.native_id == theirs


@pytest.mark.platform_can("send_exactly_once")
async def test_restart_sends_nothing_twice(driver: Driver) -> None:
    delivery = message(driver, "exactly once")
    first = await driver.adapter.send(delivery)
    # A crash after the platform took the message, before the outbox recorded it: the new
    # process tries the same delivery again.
    await driver.restart()
    recovered = await driver.adapter.recover(delivery)
    again = recovered or await driver.adapter.send(delivery)
    assert again == first
    posted = [await driver.seen(n) for n in await driver.posted()]
    assert [s.text for s in posted].count("exactly once") == 1


@pytest.mark.needs(Feature.REACT)
async def test_restart_keeps_reactions_undoable(driver: Driver) -> None:
    native = await driver.say("react, restart, un-react")
    await driver.react(native, "😢")
    await driver.sink.next(2)
    await driver.restart()
    await driver.unreact(native, "😢")
    # Replays of what came before the restart are test_restart_replays_nothing's concern.
    await driver.sink.wait_for(
        lambda: any(isinstance(e, Reaction) and not e.added for e in driver.sink.events[2:])
    )
    [removed] = [e for e in driver.sink.events[2:] if isinstance(e, Reaction) and not e.added]
    assert isinstance(removed, Reaction)
    assert (removed.native_id, removed.emoji, removed.added) == (native, "😢", False)


@pytest.mark.platform_can("replay_nothing_after_restart")
async def test_restart_replays_nothing(driver: Driver) -> None:
    before = await driver.say("handled before the restart")
    await driver.sink.next()
    await driver.restart()
    after = await driver.say("said after the restart")
    await driver.sink.wait_for(
        lambda: any(isinstance(e, NewMessage) and e.native_id == after for e in driver.sink.events)
    )
    assert [e.native_id for e in driver.sink.events if isinstance(e, NewMessage)] == [
        before,
        after,
    ]


async def test_restart_catches_up_on_what_was_said_meanwhile(driver: Driver) -> None:
    said: list[NativeId] = []

    async def talk() -> None:
        said.append(await driver.say("while you were out"))

    await driver.restart(while_down=talk)
    [event] = await driver.sink.next()
    assert isinstance(event, NewMessage) and event.native_id == said[0]


# --- commands ---------------------------------------------------------------------------------


async def _answers(driver: CommandDriver, check: Callable[[list[Answer]], bool]) -> list[Answer]:
    async with asyncio.timeout(20):
        while True:
            answers = await driver.answers()
            if check(answers):
                return answers
            await asyncio.sleep(0.05)


@pytest.mark.platform_can("commands")
async def test_a_command_arrives_as_an_event_and_is_answered_where_asked(driver: Driver) -> None:
    assert isinstance(driver, CommandDriver)
    await driver.command("echo", "hello there")
    await driver.sink.wait_for(lambda: any(c.request.name == "echo" for c in driver.sink.commands))
    [command] = [c for c in driver.sink.commands if c.request.name == "echo"]
    request = command.request
    assert (request.chat, request.raw_args) == (driver.chat, "hello there")
    assert request.author.platform == driver.chat.platform and request.author.display_name
    assert not request.is_private
    # The sink ran it (as the relay's does) and the adapter showed the reply in the chat.
    answers = await _answers(driver, bool)
    assert answers == [Answer("echo: hello there", private=False)]
    assert not driver.sink.events  # a command is not conversation: nothing to relay


@pytest.mark.platform_can("commands")
async def test_a_private_answer_reaches_only_the_one_who_asked(driver: Driver) -> None:
    assert isinstance(driver, CommandDriver)
    await driver.command("secret")
    if Feature.PRIVATE_MESSAGES in driver.adapter.capabilities:
        answers = await _answers(driver, lambda found: Answer(SECRET, private=True) in found)
    else:
        # No private channel (Status): the chat is told where to ask instead, and that is all.
        answers = await _answers(driver, bool)
        assert all(not a.private and "privately" in a.text for a in answers)
    assert not [a for a in answers if not a.private and SECRET in a.text]
    # Nor anywhere else the bridge posted in the chat.
    for native in await driver.posted():
        assert SECRET not in (await driver.seen(native)).text
