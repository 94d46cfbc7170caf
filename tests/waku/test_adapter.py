"""The Waku adapter against a real embedded node. The Status client on the other side is
tests/fakes/status_node.py, built from status-go's own .proto files and rules (never from the
bridge's encoders): what the bridge publishes must be readable and valid the way status-go reads
it, and only what status-go would accept may reach the router."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bots.waku.adapter import (
    WakuAdapter,
    WakuRoomConfig,
    emoji_for_reaction,
    reaction_for_emoji,
)
from bridge.model import (
    Attachment,
    Author,
    ChatId,
    ChatRef,
    Command,
    DeleteMessage,
    EditMessage,
    Feature,
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
    WakuChatId,
)
from bridge.router import Room, Router
from bridge.status import ChatType, ReactionType
from bridge.store import Store, kv, waku_messages
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.node import NodeError, ReceivedMessage
from bridge.waku.rest_client import NwakuRestClient
from bridge.waku.rest_server import RestServer, create_rest_app
from crypto.keys import generate_private_key, public_key, to_address
from crypto.payload import DecryptionError, decrypt_symmetric, encrypt_symmetric
from tests.fakes import status_node as sg
from tests.fakes.status_proto import chat_message_pb2 as sg_chat
from tests.fakes.status_proto import emoji_reaction_pb2 as sg_emoji
from tests.fakes.status_proto import enums_pb2 as sg_enums
from tests.waku.support import Inbox, store_views

TOPIC = "/waku/2/rs/16/32"
CHAT = "parley-test-room"
SECRET_CHAT = "parley-secret-room"
WAKU = ChatRef.waku(WakuChatId(CHAT))
TELEGRAM = ChatRef("telegram", ChatId("-1001"))
BRIDGE_KEY = generate_private_key()
ALICE = generate_private_key()
MALLORY = generate_private_key()
SECRET_KEY = os.urandom(32)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- the Status client (tests/fakes/status_node.py) ---------------------------------------

AppType = sg.AppType
SgChatMessage = sg_chat.ChatMessage
TEXT_PLAIN = SgChatMessage.ContentType.TEXT_PLAIN
BRIDGE_MESSAGE = SgChatMessage.ContentType.BRIDGE_MESSAGE
_INNER: dict[int, Any] = {
    AppType.CHAT_MESSAGE: SgChatMessage,
    AppType.EDIT_MESSAGE: sg_chat.EditMessage,
    AppType.DELETE_MESSAGE: sg_chat.DeleteMessage,
    AppType.EMOJI_REACTION: sg_emoji.EmojiReaction,
}


def chat_key(chat_id: str) -> bytes:
    return sg.sym_key(chat_id)


def chat_topic(chat_id: str) -> str:
    return sg.content_topic(chat_id)


@dataclasses.dataclass(frozen=True)
class Read:
    """What a status-go client makes of a message: its layers and the decoded inner message."""

    opened: sg.Opened
    content: Any

    @property
    def message_type(self) -> int:
        return self.opened.app_type

    @property
    def message_id_hex(self) -> str:
        return self.opened.message_id_hex

    @property
    def installation_id(self) -> str:
        assert self.opened.protocol is not None
        return str(self.opened.protocol.installation_id)


def read_status(received: ReceivedMessage, key: bytes | None = None) -> Read:
    """Open a message the way status-go does, insisting on the bridge's signature, and apply
    status-go's ValidateReceivedChatMessage to chat messages."""
    message = received.message
    assert message.version == 1 and message.timestamp and not message.ephemeral
    wire = sg.WireMessage(
        message.payload, message.content_topic, message.timestamp, version=message.version or 0
    )
    opened = sg.open_message(received.pubsub_topic, wire, key=key or chat_key(CHAT))
    assert opened.transport_signer == opened.signer == public_key(BRIDGE_KEY)
    content = _INNER[opened.app_type].FromString(opened.app_payload)
    if opened.app_type == AppType.CHAT_MESSAGE:
        sg.validate_received_chat_message(content, opened.whisper_timestamp_ms)
    return Read(opened, content)


def chat_message(
    text: str,
    *,
    chat_id: str = CHAT,
    display_name: str = "",
    response_to: str = "",
    content_type: int = TEXT_PLAIN,
) -> bytes:
    ms = now_ms()
    return SgChatMessage(
        clock=ms,
        timestamp=ms,
        text=text,
        chat_id=chat_id,
        response_to=response_to,
        message_type=sg_enums.COMMUNITY_CHAT,
        content_type=SgChatMessage.ContentType.ValueType(content_type),
        display_name=display_name,
    ).SerializeToString()


def status_waku_message(
    inner: bytes,
    message_type: int = AppType.CHAT_MESSAGE,
    *,
    key: bytes = ALICE,
    waku_signer: bytes | None = ALICE,
    room_key: bytes | None = None,
    chat_id: str = CHAT,
) -> tuple[WakuMessage, NativeId]:
    """A status-go client's message: AMM signed by ``key`` in a ProtocolMessage, sealed with
    the chat's key and signed at the Waku layer by ``waku_signer``."""
    app = sg.wrap_v1(inner, message_type, key)
    payload = sg.public_protocol_message(app, "alice-phone")
    sealed = encrypt_symmetric(payload, room_key or chat_key(chat_id), waku_signer)
    message = WakuMessage(sealed, chat_topic(chat_id), version=1, timestamp=time.time_ns())
    return message, NativeId("0x" + sg.message_id(public_key(key), app).hex())


# --- the bridge side ---------------------------------------------------------------------


class Sink:
    """The router as the adapter's sink, recording every event it was given."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.events: list[Inbound] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        if not isinstance(event, Command):
            await self.router.handle(event)
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, n: int) -> list[Inbound]:
        async with asyncio.timeout(10):
            while len(self.events) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.events


class Clock:
    """A frozen Unix-ns clock (at real time, so the node archives what the adapter sends)."""

    def __init__(self) -> None:
        self.now = time.time_ns()

    def __call__(self) -> int:
        return self.now


ROOMS = {
    CHAT: WakuRoomConfig(chat_id=CHAT),
    SECRET_CHAT: WakuRoomConfig(chat_id=SECRET_CHAT, key=SECRET_KEY),
}
AdapterFactory = Callable[..., Awaitable[WakuAdapter]]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "parley.db")
    yield s
    await s.close()


@pytest.fixture
async def node(store: Store) -> AsyncIterator[EmbeddedNode]:
    n = EmbeddedNode(store)
    await n.start()
    yield n
    await n.stop()


@pytest.fixture
def sink(store: Store) -> Sink:
    rooms = [
        Room("main", (WAKU, TELEGRAM)),
        Room("secret", (ChatRef.waku(WakuChatId(SECRET_CHAT)), ChatRef("discord", ChatId("7")))),
    ]
    return Sink(Router(store, rooms))


@pytest.fixture
async def make_adapter(
    node: EmbeddedNode, store: Store, sink: Sink
) -> AsyncIterator[AdapterFactory]:
    started: list[WakuAdapter] = []

    async def make(**kw: object) -> WakuAdapter:
        options: dict[str, object] = {
            "node": node,
            **store_views(store),
            "identity_key": BRIDGE_KEY,
            "rooms": ROOMS,
        }
        options.update(kw)
        adapter = WakuAdapter(**options)  # type: ignore[arg-type]
        await adapter.start(sink)
        started.append(adapter)
        return adapter

    yield make
    for adapter in started:
        await adapter.stop()


@pytest.fixture
async def adapter(make_adapter: AdapterFactory) -> WakuAdapter:
    return await make_adapter()


@pytest.fixture
async def status(node: EmbeddedNode) -> Inbox:
    inbox = Inbox()
    await node.subscribe([TOPIC], inbox)
    return inbox


AUTHOR = Author(
    "telegram",
    UserId("42"),
    "Ann\u202e Example",
    username="ann",
    avatar_url="https://example.org/ann.png",
)


def outbound(
    text: str = "hello *Status*",
    *,
    key: str = "row-1",
    reply_to: NativeId | None = None,
    attachments: tuple[Attachment, ...] = (),
    target: ChatRef = WAKU,
) -> OutboundMessage:
    return OutboundMessage(
        target=target,
        idempotency_key=key,
        room="main",
        source=TELEGRAM,
        author=AUTHOR,
        text=RichText(text, (Span("bold", 0, 5),)) if len(text) >= 5 else RichText(text),
        sent_at=datetime.now(UTC),
        reply_to=reply_to,
        attachments=attachments,
    )


# --- outbound ----------------------------------------------------------------------------


async def test_send_is_a_signed_bridge_message_that_status_can_read(
    adapter: WakuAdapter, status: Inbox
) -> None:
    photo = Attachment("photo", "cat.jpg", "image/jpeg", url="https://files.example/cat.jpg")
    first = await adapter.send(outbound(attachments=(photo,)))
    reply = await adapter.send(outbound("a reply", key="row-2", reply_to=first))
    one, two = await status.wait_for(2)
    assert one.pubsub_topic == TOPIC and one.message.content_topic == chat_topic(CHAT)

    envelope = read_status(one)
    assert envelope.message_type == AppType.CHAT_MESSAGE
    assert envelope.message_id_hex == first
    content = envelope.content
    assert content.chat_id == CHAT and content.message_type == sg_enums.COMMUNITY_CHAT
    assert content.content_type == BRIDGE_MESSAGE
    assert content.display_name == "parley" and content.response_to == ""
    assert content.WhichOneof("payload") == "bridge_message"
    assert content.bridge_message == sg_chat.BridgeMessage(
        bridgeName="telegram",
        userName="Ann Example",  # the bidi override is gone
        # Status markdown (status-im/markdown, the parser status-go's PrepareContent runs):
        # "**" is bold, and the text's own asterisks are escaped so that Status shows them.
        content="**hello** \\*Status\\*\n[photo: cat.jpg] https://files.example/cat.jpg",
        userAvatar="https://example.org/ann.png",
        userID="42",
        messageID="telegram:-1001:row-1",
    )
    # for clients without bridge support (status-go parses Text as markdown too)
    assert content.text.startswith("Ann Example: **hello**")

    second = read_status(two)
    assert second.message_id_hex == reply
    assert second.content.response_to == first
    assert second.content.clock > content.clock
    # One stable installation id, UUID-shaped like status-go's.
    assert envelope.installation_id == second.installation_id
    assert len(envelope.installation_id) == 36


async def test_clock_keeps_increasing_across_a_restart(
    make_adapter: AdapterFactory, status: Inbox
) -> None:
    clock = Clock()  # frozen: only the persisted Lamport clock can make the values grow
    first = await make_adapter(clock=clock)
    await first.send(outbound(key="a"))
    await first.send(outbound(key="b"))
    await first.stop()
    second = await make_adapter(clock=clock)
    await second.send(outbound(key="c"))
    clocks = []
    for received in await status.wait_for(3):
        clocks.append(read_status(received).content.clock)
    start = clock.now // 1_000_000
    assert clocks == [start, start + 1, start + 2]


async def test_a_clock_stored_before_the_platform_kv_is_continued(
    make_adapter: AdapterFactory, status: Inbox, store: Store
) -> None:
    # The row as the adapter wrote it when it reached the kv table itself (issue 9).
    clock = Clock()
    start = clock.now // 1_000_000
    await kv.write(store, f"waku.clock.{CHAT}", start + 50)
    adapter = await make_adapter(clock=clock)
    await adapter.send(outbound(key="a"))
    [received] = await status.wait_for(1)
    assert read_status(received).content.clock == start + 51
    assert await kv.get(store.db, f"waku.clock.{CHAT}") == str(start + 51)


def _words(count: int) -> str:
    return " ".join(f"w{i}" for i in range(count))


async def test_long_text_goes_out_in_parts_at_status_gos_limit(
    adapter: WakuAdapter, status: Inbox
) -> None:
    """status-go drops a ChatMessage whose text is over 4096 runes (protocol/message_validator.go
    maxChatMessageTextLength / ValidateText at c72f491); the bridge's copy of a longer message
    is several messages, each within that limit, together the whole text."""
    text = _words(2000)  # 9,889 characters
    first = await adapter.send(outbound(text, key="long"))
    received = await status.wait_for(3)
    envelopes = [read_status(r) for r in received]
    assert envelopes[0].message_id_hex == first
    now = now_ms()
    parts = []
    for envelope in envelopes:
        message = envelope.content
        sg.validate_received_chat_message(message, now)
        # status-go's own limit, counted in runes as it does (Python str: code points)
        assert len(message.bridge_message.content) <= 4096
        parts.append(message.bridge_message.content)
    # The first part carries the bold "w0 w1" of ``outbound``: **w0 w**1 is not Status markup.
    assert " ".join(parts).replace("**", "").split() == text.split()
    ids = [e.content.bridge_message.messageID for e in envelopes]
    assert ids == ["telegram:-1001:long", "telegram:-1001:long#2", "telegram:-1001:long#3"]


class _RefusesOnce(EmbeddedNode):
    """The embedded node, whose relay refuses one publish (the ``refuse_at``-th)."""

    def __init__(self, store: Store, refuse_at: int) -> None:
        super().__init__(store)
        self.publishes = 0
        self.refuse_at = refuse_at

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> bytes:
        self.publishes += 1
        if self.publishes == self.refuse_at:
            raise NodeError("no peers to relay to")
        return await super().publish(pubsub_topic, message)


async def test_a_retried_long_send_posts_each_part_once(
    store: Store, make_adapter: AdapterFactory
) -> None:
    flaky = _RefusesOnce(store, refuse_at=2)
    await flaky.start()
    try:
        inbox = Inbox()
        await flaky.subscribe([TOPIC], inbox)
        adapter = await make_adapter(node=flaky)
        delivery = outbound(_words(2000), key="retried")
        with pytest.raises(RetryableError):
            await adapter.send(delivery)  # the first part went out, the second did not
        first = await adapter.send(delivery)  # the outbox's retry
        received = [read_status(r) for r in await inbox.wait_for(3)]
        await asyncio.sleep(0.1)
        assert len(inbox.items) == 3
        assert received[0].message_id_hex == first
        ids = [r.content.bridge_message.messageID for r in received]
        assert ids == [
            "telegram:-1001:retried",
            "telegram:-1001:retried#2",
            "telegram:-1001:retried#3",
        ]
    finally:
        await flaky.stop()


class _DiesAt(EmbeddedNode):
    """The embedded node, where the bridge process "dies" at the ``die_at``-th publish: just
    before the message is out, or just after. The send never returns (its task is then
    cancelled, and a new adapter on the same store takes over, as after a kill -9)."""

    def __init__(self, store: Store, die_at: int, after: bool) -> None:
        super().__init__(store)
        self.publishes = 0
        self.die_at = die_at
        self.after = after
        self.died = asyncio.Event()

    async def publish(self, pubsub_topic: str, message: WakuMessage) -> bytes:
        self.publishes += 1
        if self.publishes != self.die_at:
            return await super().publish(pubsub_topic, message)
        if self.after:
            await super().publish(pubsub_topic, message)
        self.died.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def status_go_view(received: list[ReceivedMessage]) -> list[Read]:
    """What a status-go client keeps: a message id it already has is skipped
    (protocol/messenger.go handleRetrievedMessages, "Don't process duplicates")."""
    kept: dict[str, Read] = {}
    for message in received:
        read = read_status(message)
        kept.setdefault(read.message_id_hex, read)
    return list(kept.values())


@pytest.mark.parametrize(
    ("die_at", "after"),
    [(1, False), (1, True), (2, False), (2, True), (3, False), (3, True)],
)
async def test_a_long_send_cut_short_by_a_crash_posts_each_part_once(
    store: Store, make_adapter: AdapterFactory, die_at: int, after: bool
) -> None:
    node = _DiesAt(store, die_at, after)
    await node.start()
    try:
        inbox = Inbox()
        await node.subscribe([TOPIC], inbox)
        delivery = outbound(_words(2000), key="crashed")  # three parts
        dying = await make_adapter(node=node)
        sending = asyncio.create_task(dying.send(delivery))
        async with asyncio.timeout(10):
            await node.died.wait()
        sending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sending
        node.die_at = 0

        # The outbox after a restart: it asks the adapter before sending again.
        restarted = await make_adapter(node=node)
        native = await restarted.recover(delivery)
        if native is None:
            native = await restarted.send(delivery)
        assert await restarted.recover(delivery) == native

        await inbox.wait_for(3)
        await asyncio.sleep(0.1)
        kept = status_go_view(inbox.items)
        ids = [r.content.bridge_message.messageID for r in kept]
        assert ids == [
            "telegram:-1001:crashed",
            "telegram:-1001:crashed#2",
            "telegram:-1001:crashed#3",
        ]
        assert kept[0].message_id_hex == native
        parts = [r.content.bridge_message.content for r in kept]
        assert " ".join(parts).replace("**", "").split() == _words(2000).split()
        now = now_ms()
        for read in kept:
            sg.validate_received_chat_message(read.content, now)
    finally:
        await node.stop()


async def test_replies_and_reactions_to_any_part_reach_the_whole_message(
    adapter: WakuAdapter, node: EmbeddedNode, status: Inbox, sink: Sink
) -> None:
    first = await adapter.send(outbound(_words(2000), key="long"))
    sent = [read_status(r).message_id_hex for r in await status.wait_for(3)]
    assert sent[0] == first

    reply, _ = status_waku_message(
        chat_message("agreed", display_name="Alice", response_to=sent[2])
    )
    reaction = sg_emoji.EmojiReaction(
        clock=now_ms(),
        chat_id=CHAT,
        message_id=sent[1],
        message_type=sg_enums.COMMUNITY_CHAT,
        type=sg_emoji.EmojiReaction.LOVE,
    ).SerializeToString()
    react, _ = status_waku_message(reaction, AppType.EMOJI_REACTION)
    await node.publish(TOPIC, reply)
    await node.publish(TOPIC, react)
    answered, reacted = await sink.wait_for(2)
    assert isinstance(answered, NewMessage) and answered.reply_to == first
    assert isinstance(reacted, Reaction) and reacted.native_id == first

    # After an edit made it one message, its dropped parts lead nowhere.
    await adapter.edit(OutboundEdit(WAKU, "e", first, "main", TELEGRAM, AUTHOR, RichText("short")))
    again, _ = status_waku_message(
        chat_message("still?", display_name="Alice", response_to=sent[2])
    )
    await node.publish(TOPIC, again)
    (*_, late) = await sink.wait_for(3)
    assert isinstance(late, NewMessage) and late.reply_to == sent[2]


async def test_runes_not_bytes_decide_a_split(adapter: WakuAdapter, status: Inbox) -> None:
    def plain(text: str, key: str) -> OutboundMessage:
        return dataclasses.replace(outbound(key=key), text=RichText(text))

    await adapter.send(plain("é" * 4096, "fits"))  # 8,192 bytes of UTF-8
    (one,) = await status.wait_for(1)
    assert read_status(one).content.bridge_message.content == "é" * 4096
    await adapter.send(plain("é" * 4097, "over"))
    a, b = (read_status(r).content.bridge_message.content for r in (await status.wait_for(3))[1:])
    assert len(a) == 4096 and b == "é"


async def test_edits_and_deletes_reach_every_part(adapter: WakuAdapter, status: Inbox) -> None:
    first = await adapter.send(outbound(_words(2000), key="parts"))
    sent = [read_status(r).message_id_hex for r in await status.wait_for(3)]
    assert sent[0] == first

    def edit(text: str, key: str) -> OutboundEdit:
        return OutboundEdit(WAKU, key, first, "main", TELEGRAM, AUTHOR, RichText(text))

    # Shorter: the first part is rewritten, the other two are deleted.
    await adapter.edit(edit("short now", "e1"))
    changes = [read_status(r) for r in (await status.wait_for(6))[3:]]
    assert [c.message_type for c in changes] == [
        AppType.EDIT_MESSAGE,
        AppType.DELETE_MESSAGE,
        AppType.DELETE_MESSAGE,
    ]
    assert changes[0].content.message_id == first and changes[0].content.text == "short now"
    assert [c.content.message_id for c in changes[1:]] == sent[1:]

    # Longer again: the first part is rewritten and a new part follows.
    await adapter.edit(edit(_words(1000), "e2"))
    rewrite, added = (read_status(r) for r in (await status.wait_for(8))[6:])
    assert rewrite.message_type == AppType.EDIT_MESSAGE and rewrite.content.message_id == first
    assert added.message_type == AppType.CHAT_MESSAGE
    sg.validate_received_chat_message(added.content, now_ms())
    joined = rewrite.content.text + " " + added.content.bridge_message.content
    assert joined.split() == _words(1000).split()

    # A delete removes both.
    await adapter.delete(OutboundDelete(WAKU, "d", first))
    deletes = [read_status(r) for r in (await status.wait_for(10))[8:]]
    assert {d.content.message_id for d in deletes} == {first, added.message_id_hex}


async def test_edit_delete_and_reactions_go_out_as_status_messages(
    adapter: WakuAdapter, status: Inbox
) -> None:
    target = await adapter.send(outbound())
    await adapter.edit(OutboundEdit(WAKU, "e", target, "main", TELEGRAM, AUTHOR, RichText("fixed")))
    await adapter.react(OutboundReaction(WAKU, "r1", target, "👍🏽", True, AUTHOR))
    await adapter.react(OutboundReaction(WAKU, "r2", target, "🦄", True, AUTHOR))  # skipped
    await adapter.react(OutboundReaction(WAKU, "r3", target, "❤️", False, AUTHOR))
    await adapter.delete(OutboundDelete(WAKU, "d", target))
    _, edit, up, down, delete = (read_status(r) for r in await status.wait_for(5))

    assert edit.message_type == AppType.EDIT_MESSAGE
    assert edit.content == sg_chat.EditMessage(
        clock=edit.content.clock,
        chat_id=CHAT,
        message_id=target,
        text="fixed",
        message_type=sg_enums.COMMUNITY_CHAT,
        content_type=BRIDGE_MESSAGE,
    )
    assert up.message_type == AppType.EMOJI_REACTION
    now = now_ms()
    for reaction in (up.content, down.content):
        sg.validate_received_emoji_reaction(reaction, now)
    assert (up.content.message_id, up.content.type, up.content.retracted) == (
        target,
        sg_emoji.EmojiReaction.THUMBS_UP,
        False,
    )
    assert (down.content.type, down.content.retracted) == (sg_emoji.EmojiReaction.LOVE, True)
    assert delete.message_type == AppType.DELETE_MESSAGE
    assert delete.content.message_id == target


async def test_delivery_errors(adapter: WakuAdapter, node: EmbeddedNode) -> None:
    with pytest.raises(PermanentError):
        await adapter.send(outbound(target=ChatRef.waku(WakuChatId("not-configured"))))
    with pytest.raises(PermanentError):
        await adapter.delete(OutboundDelete(WAKU, "d", NativeId("123")))
    await node.stop()
    with pytest.raises(RetryableError):
        await adapter.send(outbound())


async def test_recover_finds_a_send_by_its_bridge_message_id(adapter: WakuAdapter) -> None:
    delivery = outbound(key="in-doubt")
    native = await adapter.send(delivery)
    await adapter.send(outbound(key="another"))
    assert await adapter.recover(delivery) == native
    assert await adapter.recover(outbound(key="never-sent")) is None


def test_capabilities_and_reaction_mapping() -> None:
    caps = WakuAdapter.capabilities
    for feature in (Feature.EDIT, Feature.DELETE, Feature.REPLY, Feature.REACT, Feature.IDENTITY):
        assert feature in caps
    assert Feature.ATTACHMENTS not in caps and caps.max_text_length == 4096
    assert reaction_for_emoji("👍🏿") == ReactionType.THUMBS_UP
    assert reaction_for_emoji("❤️") == reaction_for_emoji("❤") == ReactionType.LOVE
    assert reaction_for_emoji("🦄") is None
    for reaction in set(ReactionType) - {ReactionType.UNKNOWN_EMOJI_REACTION_TYPE}:
        emoji = emoji_for_reaction(reaction)
        assert emoji is not None and reaction_for_emoji(emoji) == reaction
    with pytest.raises(ValueError):
        WakuRoomConfig(chat_id=CHAT, key=b"short")
    with pytest.raises(ValueError):
        WakuRoomConfig(chat_id=CHAT, chat_type=ChatType.ONE_TO_ONE)


# --- inbound -----------------------------------------------------------------------------


async def test_a_status_users_message_reaches_the_router(
    adapter: WakuAdapter, node: EmbeddedNode, sink: Sink
) -> None:
    parent = NativeId("0x" + "ab" * 32)
    message, native = status_waku_message(
        chat_message("gm from Status", display_name="Alice", response_to=parent)
    )
    await node.publish(TOPIC, message)
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage)
    assert event.source == WAKU and event.native_id == native and event.reply_to == parent
    assert event.text == RichText("gm from Status")
    assert event.author == Author(
        "waku",
        UserId("0x" + public_key(ALICE).hex()),
        "Alice",
        username=to_address(public_key(ALICE)),
    )
    assert event.timestamp.tzinfo is UTC

    # No display name: a short form of the address; another bridge's message: its user's name.
    anonymous, _ = status_waku_message(chat_message("hi"), key=MALLORY, waku_signer=MALLORY)
    bridged = SgChatMessage.FromString(chat_message("", content_type=BRIDGE_MESSAGE))
    bridged.bridge_message.CopyFrom(
        sg_chat.BridgeMessage(
            bridgeName="discord",
            userName="Bob",
            content="from discord",
            userAvatar="https://x.example/b.png",
        )
    )
    other_bridge, _ = status_waku_message(
        bridged.SerializeToString(), key=MALLORY, waku_signer=MALLORY
    )
    await node.publish(TOPIC, anonymous)
    await node.publish(TOPIC, other_bridge)
    _, short, bob = await sink.wait_for(3)
    address = to_address(public_key(MALLORY))
    assert isinstance(short, NewMessage) and short.author.display_name == (
        f"{address[:6]}…{address[-4:]}"
    )
    assert isinstance(bob, NewMessage) and bob.text.text == "from discord"
    assert bob.author.display_name == "Bob (discord)"
    assert bob.author.avatar_url == "https://x.example/b.png"
    assert adapter.stats["relayed"] == 3


async def test_hostile_and_foreign_messages_never_reach_the_sink(
    adapter: WakuAdapter, node: EmbeddedNode, sink: Sink
) -> None:
    inner = chat_message("evil")
    unsigned, _ = status_waku_message(inner, waku_signer=None)
    wrong_key, _ = status_waku_message(inner, room_key=os.urandom(32))
    garbage = WakuMessage(os.urandom(300), chat_topic(CHAT), version=1, timestamp=time.time_ns())
    not_status = WakuMessage(
        encrypt_symmetric(b"\x00\xff not a protobuf", chat_key(CHAT), ALICE),
        chat_topic(CHAT),
        version=1,
        timestamp=time.time_ns(),
    )
    other_topic = dataclasses.replace(unsigned, content_topic="/waku/1/0x01020304/rfc26")
    # Right topic and key, but a ChatMessage for another chat id: not this room's.
    other_chat, _ = status_waku_message(chat_message("elsewhere", chat_id="other"))
    own, _ = status_waku_message(inner, key=BRIDGE_KEY, waku_signer=BRIDGE_KEY)
    pin, _ = status_waku_message(inner, AppType.PIN_MESSAGE)
    for bad in (
        unsigned,
        wrong_key,
        garbage,
        not_status,
        other_topic,
        other_chat,
        own,
        pin,
    ):
        await node.publish(TOPIC, bad)
    good, native = status_waku_message(chat_message("the only one"))
    await node.publish(TOPIC, good)
    # Delivery is in order: once the good message is in, every bad one has been handled.
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage) and event.native_id == native
    assert adapter.stats["unsigned"] == 1
    assert adapter.stats["undecryptable"] == 2  # wrong key, garbage
    assert adapter.stats["malformed"] == 1
    assert adapter.stats["unknown_topic"] == 1
    assert adapter.stats["own"] == 1
    assert adapter.stats["unsupported"] == 1
    assert adapter.stats["other_chat"] == 1
    assert adapter.stats["relayed"] == 1


async def test_the_application_layer_signer_is_the_author(
    adapter: WakuAdapter, node: EmbeddedNode, sink: Sink
) -> None:
    """status-go takes the author from the ApplicationMetadataMessage signature and never
    compares it with the Waku-layer signer (a node may relay another's signed message)."""
    relayed_for_mallory, mallory_id = status_waku_message(
        chat_message("signed by mallory"), key=MALLORY, waku_signer=ALICE
    )
    wire = sg.WireMessage(
        relayed_for_mallory.payload,
        relayed_for_mallory.content_topic,
        relayed_for_mallory.timestamp or 0,
    )
    opened = sg.open_message(TOPIC, wire, key=chat_key(CHAT))
    assert opened.signer == public_key(MALLORY) != opened.transport_signer
    # The app-level signature covers other bytes than the payload (tampered in transit): it
    # recovers some other key, which status-go then takes as the author.
    app = sg.wrap_v1(chat_message("evil"), AppType.CHAT_MESSAGE, ALICE)
    tampered = WakuMessage(
        encrypt_symmetric(
            sg.public_protocol_message(app.replace(b"evil", b"good"), "x"), chat_key(CHAT), ALICE
        ),
        chat_topic(CHAT),
        version=1,
        timestamp=time.time_ns(),
    )
    # The bridge's own signed message republished under another node's Waku key: still ours.
    republished, _ = status_waku_message(chat_message("ours"), key=BRIDGE_KEY, waku_signer=ALICE)
    for message in (relayed_for_mallory, tampered, republished):
        await node.publish(TOPIC, message)
    good, native = status_waku_message(chat_message("marker"))
    await node.publish(TOPIC, good)
    mallory, forged, marker = await sink.wait_for(3)
    assert isinstance(mallory, NewMessage) and mallory.native_id == mallory_id
    assert mallory.author.user_id == "0x" + public_key(MALLORY).hex()
    assert isinstance(forged, NewMessage) and forged.text.text == "good"
    assert forged.author.user_id not in ("0x" + public_key(ALICE).hex(), mallory.author.user_id)
    assert isinstance(marker, NewMessage) and marker.native_id == native
    assert adapter.stats["own"] == 1 and "signer_mismatch" not in adapter.stats


async def test_the_bridges_own_messages_do_not_come_back(
    adapter: WakuAdapter, node: EmbeddedNode, sink: Sink, status: Inbox
) -> None:
    await adapter.send(outbound())
    good, _ = status_waku_message(chat_message("after"))
    await node.publish(TOPIC, good)
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage) and event.text.text == "after"
    # Skipped by hash before decrypting; the signer check is the second line (tested above).
    assert adapter.stats["repeated"] == 1


async def test_edits_deletes_and_reactions_from_status(
    adapter: WakuAdapter, node: EmbeddedNode, sink: Sink
) -> None:
    original, target = status_waku_message(chat_message("typo", display_name="Alice"))
    await node.publish(TOPIC, original)
    await sink.wait_for(1)

    community = sg_enums.COMMUNITY_CHAT

    def edit(text: str, key: bytes) -> WakuMessage:
        inner = sg_chat.EditMessage(
            clock=now_ms(),
            text=text,
            chat_id=CHAT,
            message_id=target,
            message_type=community,
            content_type=TEXT_PLAIN,
        ).SerializeToString()
        return status_waku_message(inner, AppType.EDIT_MESSAGE, key=key, waku_signer=key)[0]

    def react(emoji: int, retracted: bool) -> WakuMessage:
        inner = sg_emoji.EmojiReaction(
            clock=now_ms(),
            chat_id=CHAT,
            message_id=target,
            message_type=community,
            type=sg_emoji.EmojiReaction.Type.ValueType(emoji),
            retracted=retracted,
        ).SerializeToString()
        return status_waku_message(inner, AppType.EMOJI_REACTION, key=MALLORY, waku_signer=MALLORY)[
            0
        ]

    delete_inner = sg_chat.DeleteMessage(
        clock=now_ms(), chat_id=CHAT, message_id=target, message_type=community
    ).SerializeToString()
    mallory_delete, _ = status_waku_message(
        delete_inner, AppType.DELETE_MESSAGE, key=MALLORY, waku_signer=MALLORY
    )
    alice_delete, _ = status_waku_message(delete_inner, AppType.DELETE_MESSAGE)
    laughing = sg_emoji.EmojiReaction.LAUGH
    for message in (
        edit("not yours", MALLORY),  # only the author may edit ...
        mallory_delete,  # ... or delete
        edit("fixed", ALICE),
        react(laughing, False),
        react(laughing, True),
        alice_delete,
    ):
        await node.publish(TOPIC, message)
    _, edited, laugh, unlaugh, deleted = await sink.wait_for(5)
    assert isinstance(edited, EditMessage)
    assert (edited.source, edited.native_id, edited.text) == (WAKU, target, RichText("fixed"))
    mallory = UserId("0x" + public_key(MALLORY).hex())
    assert isinstance(laugh, Reaction) and laugh.author.user_id == mallory
    assert laugh == Reaction(WAKU, target, "😂", True, laugh.author)
    assert isinstance(unlaugh, Reaction) and unlaugh.added is False
    assert deleted == DeleteMessage(WAKU, target)
    assert adapter.stats["not_author"] == 2


async def test_catch_up_after_a_restart(
    make_adapter: AdapterFactory, node: EmbeddedNode, sink: Sink
) -> None:
    first = await make_adapter()
    await first.stop()
    missed, native = status_waku_message(chat_message("while you were away"))
    await node.publish(TOPIC, missed)
    second = await make_adapter()
    # start() returns after the catch-up: the missed message is already with the router.
    assert [e.native_id for e in sink.events if isinstance(e, NewMessage)] == [native]
    assert second.is_connected()
    live, live_id = status_waku_message(chat_message("live again"))
    await node.publish(TOPIC, live)
    _, event = await sink.wait_for(2)
    assert isinstance(event, NewMessage) and event.native_id == live_id
    await second.stop()
    assert not second.is_connected()


async def test_a_private_key_room(adapter: WakuAdapter, node: EmbeddedNode, sink: Sink) -> None:
    secret = ChatRef.waku(WakuChatId(SECRET_CHAT))
    inbox = Inbox()
    await node.subscribe([TOPIC], inbox)
    native = await adapter.send(outbound("for members only", target=secret))
    (received,) = await inbox.wait_for(1)
    assert received.message.content_topic == chat_topic(SECRET_CHAT)
    with pytest.raises(DecryptionError):
        decrypt_symmetric(received.message.payload, chat_key(SECRET_CHAT))
    assert read_status(received, SECRET_KEY).message_id_hex == native

    # Inbound: the public PBKDF2 key of the same chat id does not get in; the room key does.
    public, _ = status_waku_message(
        chat_message("outsider", chat_id=SECRET_CHAT), chat_id=SECRET_CHAT
    )
    member, member_id = status_waku_message(
        chat_message("insider", chat_id=SECRET_CHAT), room_key=SECRET_KEY, chat_id=SECRET_CHAT
    )
    await node.publish(TOPIC, public)
    await node.publish(TOPIC, member)
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage) and event.source == secret
    assert event.native_id == member_id and event.text.text == "insider"
    assert adapter.stats["undecryptable"] == 1


async def test_through_an_nwaku_rest_api(node: EmbeddedNode, store: Store, sink: Sink) -> None:
    """The same adapter over the REST client, as it runs against a real nwaku."""
    server = RestServer(create_rest_app(node, cache_capacity=100))
    await server.start()
    client = NwakuRestClient(server.url, poll_interval=0.01, request_timeout=5, max_backoff=0.05)
    await client.start()
    adapter = WakuAdapter(node=client, **store_views(store), identity_key=BRIDGE_KEY, rooms=ROOMS)
    try:
        await adapter.start(sink)
        assert adapter.is_connected()
        status = Inbox()
        await node.subscribe([TOPIC], status)
        native = await adapter.send(outbound())
        (received,) = await status.wait_for(1)
        assert read_status(received).message_id_hex == native
        message, inbound_id = status_waku_message(chat_message("via REST"))
        await node.publish(TOPIC, message)
        (event,) = await sink.wait_for(1)
        assert isinstance(event, NewMessage) and event.native_id == inbound_id
    finally:
        await adapter.stop()
        await client.stop()
        await server.stop()


async def test_the_first_start_does_not_replay_the_rooms_history(
    node: EmbeddedNode, make_adapter: AdapterFactory, sink: Sink
) -> None:
    old, _ = status_waku_message(chat_message("before the bridge existed"))
    await node.publish(TOPIC, old)
    await make_adapter()
    new, native = status_waku_message(chat_message("after"))
    await node.publish(TOPIC, new)
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage) and event.native_id == native


async def test_catch_up_when_the_node_becomes_ready_again(
    node: EmbeddedNode, store: Store, make_adapter: AdapterFactory, sink: Sink
) -> None:
    adapter = await make_adapter(health_interval=0.01)
    await node.stop()
    for _ in range(1000):  # the health loop notices within a few of its 10 ms rounds
        if not adapter.is_connected():
            break
        await asyncio.sleep(0.01)
    assert not adapter.is_connected()
    # What the network's store nodes kept while our relay link was down.
    missed, native = status_waku_message(chat_message("during the outage"))
    await waku_messages.insert(
        store, message_hash(TOPIC, missed), TOPIC, missed, missed.timestamp or 0
    )
    await node.start()
    (event,) = await sink.wait_for(1)
    assert isinstance(event, NewMessage) and event.native_id == native
    assert adapter.is_connected()


async def test_a_community_channel_on_the_universal_topic(
    node: EmbeddedNode, store: Store, status: Inbox
) -> None:
    community = "0x02" + "11" * 32
    channel = community + "c0ffee00-0000-4000-8000-000000000000"
    universal = community + "-memberUpdate"
    config = WakuRoomConfig(chat_id=channel, topic_chat_id=universal)
    events: list[Inbound] = []
    got = asyncio.Event()

    async def record(event: Inbound) -> None:
        events.append(event)
        got.set()

    adapter = WakuAdapter(
        node=node, **store_views(store), identity_key=BRIDGE_KEY, rooms={channel: config}
    )
    await adapter.start(record)
    try:
        await adapter.send(outbound(target=ChatRef.waku(WakuChatId(channel))))
        (received,) = await status.wait_for(1)
        # Sent on the community's shared topic and key, naming the channel inside.
        assert received.message.content_topic == chat_topic(universal)
        content = read_status(received, chat_key(universal)).content
        assert content.chat_id == channel
        # Older clients still send on the channel's own topic: heard too.
        legacy, native = status_waku_message(
            chat_message("old client", chat_id=channel), chat_id=channel
        )
        await node.publish(TOPIC, legacy)
        async with asyncio.timeout(10):
            await got.wait()
        assert [e.native_id for e in events if isinstance(e, NewMessage)] == [native]
    finally:
        await adapter.stop()


async def test_the_clock_is_committed_by_one_statement_before_publishing(
    adapter: WakuAdapter, store: Store, node: EmbeddedNode
) -> None:
    statements: list[str] = []
    await store.db.set_trace_callback(statements.append)
    published = node.publish
    seen_at_publish: list[str | None] = []

    async def publish(pubsub_topic: str, message: WakuMessage) -> bytes:
        # Another connection sees the clock already: a crash from here cannot reuse it.
        other = await Store.open(store.path, checkpoint_interval=None)
        try:
            seen_at_publish.append(await kv.get(other.db, f"waku.clock.{CHAT}"))
        finally:
            await other.close()
        return await published(pubsub_topic, message)

    node.publish = publish  # type: ignore[method-assign]
    await adapter.send(outbound())
    await store.db.set_trace_callback(lambda _sql: None)
    assert seen_at_publish and seen_at_publish[0] is not None
    at = next(i for i, sql in enumerate(statements) if "waku.clock." in sql)
    # Its own transaction, committed by SQLite: no BEGIN/COMMIT round trips around it.
    assert not statements[at - 1].startswith("BEGIN") and statements[at + 1 :][:1] != ["COMMIT"]
