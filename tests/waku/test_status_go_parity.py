"""Where the bridge used to disagree with status-go on what it receives, judged by the
status-go-faithful control node and members of tests/fakes/status_node.py: every message here is
made by the fake (from status-go's vendored .proto files), a fake member says whether status-go
shows it, and the bridge (the Waku adapter on a real embedded node) must relay exactly that.

Delivery from the node is in order, so once a final marker message reaches the sink every
earlier message has been handled."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bots.waku.adapter import WakuAdapter, WakuRoomConfig
from bridge.model import (
    ChatId,
    ChatRef,
    Command,
    DeleteMessage,
    EditMessage,
    Inbound,
    NewMessage,
    WakuChatId,
)
from bridge.router import Room, Router
from bridge.status.community import Membership
from bridge.store import Store
from bridge.waku.community import CommunityRoom
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from crypto.keccak import keccak256
from crypto.keys import generate_private_key, public_key, to_address
from tests.fakes import status_node as sg
from tests.fakes.status_proto import chat_message_pb2, communities_pb2, enums_pb2, sds_pb2
from tests.waku.support import store_views

SHARD = sg.DEFAULT_SHARD
BRIDGE_KEY = generate_private_key()
ROOM = "status:general"
RAW = "parley-raw-chat"
WAKU = ChatRef.waku(WakuChatId(ROOM))
RAW_WAKU = ChatRef.waku(WakuChatId(RAW))
TELEGRAM = ChatRef("telegram", ChatId("-1001"))
ChatMessage = chat_message_pb2.ChatMessage
CT = ChatMessage.ContentType


class _NoWaku(sg.RestWaku):
    """The fake's own REST publishing is not used: its bytes go to the node directly."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")


def to_waku(wire: sg.WireMessage) -> WakuMessage:
    return WakuMessage(
        wire.payload, wire.content_topic, version=wire.version, timestamp=wire.timestamp
    )


class Sink:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.events: list[Inbound] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        if not isinstance(event, Command):
            await self.router.handle(event)
        self.events.append(event)
        self.changed.set()

    async def until(self, predicate: Callable[[Inbound], bool]) -> list[Inbound]:
        """Every event so far, once one matches ``predicate``."""
        async with asyncio.timeout(10):
            while not any(predicate(e) for e in self.events):
                self.changed.clear()
                await self.changed.wait()
        return list(self.events)


def text_of(event: Inbound) -> str:
    return event.text.text if isinstance(event, NewMessage) else ""


async def eventually(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 (adapter state, no event to wait on)
            await asyncio.sleep(0.02)


@dataclasses.dataclass
class World:
    node: EmbeddedNode
    adapter: WakuAdapter
    sink: Sink
    owner: sg.ControlNode
    general: str
    random: str
    alice: sg.Member
    moderator: sg.Member
    carol: sg.Member  # the judge: a status-go member who reads everything

    async def publish(self, wire: sg.WireMessage) -> sg.Verdict | None:
        """Publish to the bridge's node; return what status-go makes of it."""
        await self.node.publish(SHARD, to_waku(wire))
        return self.carol.judge(SHARD, wire)

    async def publish_description(self) -> sg.Verdict | None:
        return await self.publish(self.owner.description_message())

    async def marker(self, text: str, member: sg.Member | None = None) -> list[Inbound]:
        verdict = await self.post(member or self.alice, text)
        assert verdict is not None and verdict.shown, verdict
        return await self.sink.until(lambda e: text_of(e) == text)

    async def post(self, member: sg.Member, body: str, /, **changes: Any) -> sg.Verdict | None:
        message = member.chat_message(body, self.general)
        for name, value in changes.items():
            setattr(message, name, value)
        wire, _ = member.envelope(message.SerializeToString(), sg.AppType.CHAT_MESSAGE)
        return await self.publish(wire)


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
async def world(node: EmbeddedNode, store: Store) -> AsyncIterator[World]:
    owner = sg.ControlNode(
        _NoWaku(), community_key=generate_private_key(), owner_key=generate_private_key()
    )
    general = owner.add_channel("general")
    random = owner.add_channel("random")
    pub = owner.community.community_pub
    alice, moderator, carol = (
        sg.Member(_NoWaku(), key=generate_private_key(), community_pub=pub, display_name=name)
        for name in ("Alice Status", "Mod Erator", "Carol Status")
    )
    for member in (alice, moderator, carol):
        owner.add_member(member.pub)
    owner.add_member(public_key(BRIDGE_KEY))
    admin = owner.description.members[sg.pubkey_hex(moderator.pub)]
    admin.roles.append(communities_pb2.CommunityMember.ROLE_ADMIN)
    sink = Sink(Router(store, [Room("general", (WAKU, TELEGRAM))]))
    adapter = WakuAdapter(
        node=node,
        **store_views(store),
        identity_key=BRIDGE_KEY,
        rooms={
            ROOM: WakuRoomConfig(
                chat_id=ROOM,
                pubsub_topic=SHARD,
                community=CommunityRoom(owner.id, "general", None, SHARD),
            )
        },
        bridge_name="Parley Bridge",
    )
    w = World(node, adapter, sink, owner, general, random, alice, moderator, carol)
    verdict = await w.publish_description()
    assert verdict is not None and verdict.shown, verdict
    await adapter.start(sink)
    try:
        communities = adapter.communities
        assert communities is not None
        await eventually(lambda: communities.membership(ROOM) is Membership.CAN_POST)
        yield w
    finally:
        await adapter.stop()


async def test_what_status_go_hides_in_a_community_room_is_not_relayed(world: World) -> None:
    w = world
    hidden: dict[str, dict[str, Any]] = {
        "alias": {"display_name": "Hard Tame Brownbutterfly"},
        "alias, lower case": {"display_name": "hard tame brownbutterfly"},
        "transaction command": {"content_type": CT.TRANSACTION_COMMAND},
        "private group system message": {"content_type": CT.SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP},
        "mutual event sent": {"content_type": CT.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT},
        "mutual event accepted": {"content_type": CT.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED},
        "mutual event removed": {"content_type": CT.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED},
        "image without payload": {"content_type": CT.IMAGE, "text": ""},
        "image text, no payload": {"content_type": CT.IMAGE},
        "sticker without payload": {"content_type": CT.STICKER},
        "public group with the channel's chat id": {"message_type": enums_pb2.PUBLIC_GROUP},
    }
    for case, changes in hidden.items():
        verdict = await w.post(w.alice, f"hidden: {case}", **changes)
        assert verdict is not None and not verdict.shown, f"status-go shows {case!r}"
    # What status-go does show still comes through: an image with its payload.
    image = w.alice.chat_message("", w.general, content_type=CT.IMAGE)
    image.image.payload = b"\x89PNG fake"
    image.image.format = enums_pb2.PNG
    wire, _ = w.alice.envelope(image.SerializeToString(), sg.AppType.CHAT_MESSAGE)
    verdict = await w.publish(wire)
    assert verdict is not None and verdict.shown, verdict
    events = await w.marker("visible marker")
    assert [text_of(e) for e in events] == ["[image]", "visible marker"]
    stats = w.adapter.stats
    assert stats["refused_display_name"] == 2
    assert stats["refused_message_type"] == 1
    assert stats["malformed"] == len(hidden) - 3


async def test_a_moderator_may_delete_anyones_message_edits_stay_the_authors(
    world: World,
) -> None:
    w = world
    original = await w.post(w.alice, "alice wrote this")
    assert original is not None and original.opened is not None
    target = original.opened.message_id_hex
    await w.sink.until(lambda e: text_of(e) == "alice wrote this")

    def delete(member: sg.Member) -> sg.WireMessage:
        inner = chat_message_pb2.DeleteMessage(
            clock=member.next_clock()[0],
            chat_id=w.owner.id + w.general,
            message_id=target,
            message_type=enums_pb2.COMMUNITY_CHAT,
        )
        return member.envelope(inner.SerializeToString(), sg.AppType.DELETE_MESSAGE)[0]

    def edit(member: sg.Member) -> sg.WireMessage:
        inner = chat_message_pb2.EditMessage(
            clock=member.next_clock()[0],
            text="rewritten by the moderator",
            chat_id=w.owner.id + w.general,
            message_id=target,
            message_type=enums_pb2.COMMUNITY_CHAT,
            content_type=CT.TEXT_PLAIN,
        )
        return member.envelope(inner.SerializeToString(), sg.AppType.EDIT_MESSAGE)[0]

    verdicts = [
        await w.publish(delete(w.carol)),  # a plain member: refused
        await w.publish(edit(w.moderator)),  # a moderator's edit: refused
        await w.publish(delete(w.moderator)),  # a moderator's delete: applied
    ]
    assert [v.reason if v else None for v in verdicts] == [
        "invalid delete permission",
        "invalid edit, not the right author",
        "",
    ]
    events = await w.sink.until(lambda e: isinstance(e, DeleteMessage))
    assert not any(isinstance(e, EditMessage) for e in events)
    (deleted,) = [e for e in events if isinstance(e, DeleteMessage)]
    assert deleted.native_id == target
    assert w.adapter.stats["not_author"] == 2


async def test_sds_with_the_older_bare_id_causal_history_is_read(world: World) -> None:
    w = world
    message = w.alice.chat_message("older sds form", w.general)
    amm = sg.wrap_v1(message.SerializeToString(), sg.AppType.CHAT_MESSAGE, w.alice.key)
    legacy = sds_pb2.LegacySdsMessage(
        message_id="0x" + keccak256(amm).hex(),
        lamport_timestamp=int(time.time()),
        causal_history=["0x" + "bb" * 32, "0x" + "cc" * 32],
        channel_id=w.owner.id,
        content=amm,
    ).SerializeToString()
    payload = sg.public_protocol_message(legacy, w.alice.installation_id)
    wire = sg.seal(payload, sg.universal_chat_id(w.owner.id), w.alice.key)
    verdict = await w.publish(wire)
    assert verdict is not None and verdict.shown, verdict
    assert verdict.opened is not None and verdict.opened.sds is not None
    events = await w.marker("after the older form")
    assert [text_of(e) for e in events] == ["older sds form", "after the older form"]


async def test_a_description_with_the_same_clock_is_taken_as_status_go_does(
    world: World,
) -> None:
    w = world
    # The control node drops Alice and republishes without moving the clock on.
    w.owner.remove_member(w.alice.pub)
    w.owner.description.clock -= 1
    verdict = await w.publish_description()
    assert verdict is not None and verdict.shown, verdict
    assert not w.carol.community.is_member(w.alice.pub)
    stats = w.adapter.stats
    taken, stale = stats["community_description"], stats["community_stale"]
    await eventually(lambda: stats["community_description"] == taken + 1)
    # Republishing the very same description changes nothing (and is not counted as news).
    await w.publish_description()
    await eventually(lambda: stats["community_stale"] == stale + 1)
    assert (await w.post(w.alice, "alice, no longer a member")) is not None
    events = await w.marker("moderator marker", w.moderator)
    assert [text_of(e) for e in events] == ["moderator marker"]
    assert w.adapter.stats["refused_not_member"] == 1


async def test_an_invalid_description_changes_nothing(world: World) -> None:
    w = world
    communities = w.adapter.communities
    assert communities is not None
    stats = w.adapter.stats
    other = stats["community_other"]
    w.owner.remove_member(public_key(BRIDGE_KEY))
    w.owner.description.chats[w.random].ClearField("permissions")
    verdict = await w.publish_description()
    assert verdict is not None and verdict.reason.startswith("invalid community description")
    await eventually(lambda: stats["community_other"] == other + 1)
    assert communities.membership(ROOM) is Membership.CAN_POST
    w.owner.description.chats[
        w.random
    ].permissions.access = communities_pb2.CommunityPermissions.AUTO_ACCEPT
    w.owner.description.chats[w.random].category_id = "no such category"
    w.owner.description.clock += 1
    verdict = await w.publish_description()
    assert verdict is not None and verdict.reason == (
        "invalid community description: unknown chat category"
    )
    await eventually(lambda: stats["community_other"] == other + 2)
    assert communities.membership(ROOM) is Membership.CAN_POST
    # Valid again (and newer): now the bridge is out.
    w.owner.description.chats[w.random].category_id = ""
    w.owner.description.clock += 1
    verdict = await w.publish_description()
    assert verdict is not None and verdict.shown, verdict
    await eventually(lambda: communities.membership(ROOM) is Membership.KICKED)


async def test_clock_drift_is_measured_from_the_whole_second(world: World) -> None:
    w = world
    second = time.time_ns() // 1_000_000_000
    timestamp_ns = second * 1_000_000_000 + 999_000_000
    # 120 s ahead of the exact timestamp (allowed), 120.999 s ahead of the whole second.
    clock = second * 1000 + 999 + 120_000
    message = w.alice.chat_message("clock just too far ahead", w.general)
    message.clock = clock
    amm = sg.wrap_v1(message.SerializeToString(), sg.AppType.CHAT_MESSAGE, w.alice.key)
    payload = sg.public_protocol_message(amm, w.alice.installation_id)
    wire = sg.seal(
        payload, sg.universal_chat_id(w.owner.id), w.alice.key, timestamp_ns=timestamp_ns
    )
    verdict = await w.publish(wire)
    assert verdict is not None and verdict.reason == "clock value too high"
    events = await w.marker("clock marker")
    assert [text_of(e) for e in events] == ["clock marker"]


# --- a raw Waku chat (waku_chat): the same validator ------------------------------------


@pytest.fixture
async def raw(node: EmbeddedNode, store: Store) -> AsyncIterator[tuple[WakuAdapter, Sink]]:
    sink = Sink(Router(store, [Room("raw", (RAW_WAKU, TELEGRAM))]))
    adapter = WakuAdapter(
        node=node,
        **store_views(store),
        identity_key=BRIDGE_KEY,
        rooms={RAW: WakuRoomConfig(chat_id=RAW)},
    )
    await adapter.start(sink)
    yield adapter, sink
    await adapter.stop()


def raw_message(key: bytes, text: str, **changes: Any) -> sg.WireMessage:
    now = time.time_ns() // 1_000_000
    message = ChatMessage(
        clock=now,
        timestamp=now,
        text=text,
        chat_id=RAW,
        message_type=enums_pb2.COMMUNITY_CHAT,
        content_type=CT.TEXT_PLAIN,
        display_name="Alice Status",
    )
    for name, value in changes.items():
        setattr(message, name, value)
    amm = sg.wrap_v1(message.SerializeToString(), sg.AppType.CHAT_MESSAGE, key)
    return sg.seal(sg.public_protocol_message(amm, "phone"), RAW, key)


def status_go_shows(wire: sg.WireMessage) -> str:
    """status-go's verdict on a raw chat message: "" or its reason."""
    opened = sg.open_message(SHARD, wire, key=sg.sym_key(RAW))
    try:
        sg.validate_received_chat_message(
            ChatMessage.FromString(opened.app_payload), opened.whisper_timestamp_ms
        )
    except sg.StatusDrop as exc:
        return exc.reason
    return ""


async def test_a_raw_waku_chat_applies_status_gos_validator(
    node: EmbeddedNode, raw: tuple[WakuAdapter, Sink]
) -> None:
    adapter, sink = raw
    dropped = [
        raw_message(generate_private_key(), "tx", content_type=CT.TRANSACTION_COMMAND),
        raw_message(generate_private_key(), "s", content_type=CT.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT),
        raw_message(generate_private_key(), "", content_type=CT.IMAGE),
        raw_message(generate_private_key(), "st", content_type=CT.STICKER),
    ]
    for wire in dropped:
        assert status_go_shows(wire) != ""
        await node.publish(SHARD, to_waku(wire))
    # Names status-go refuses: the message is relayed, under the signer's address instead.
    named: list[tuple[str, bytes]] = []
    for name in ("bot", "my.bridge", "x_eth", "Hard Tame Brownbutterfly"):
        key = generate_private_key()
        wire = raw_message(key, f"from {name}", display_name=name)
        assert status_go_shows(wire) != ""
        named.append((name, key))
        await node.publish(SHARD, to_waku(wire))
    good = raw_message(generate_private_key(), "raw marker")
    assert status_go_shows(good) == ""
    await node.publish(SHARD, to_waku(good))
    events = await sink.until(lambda e: text_of(e) == "raw marker")
    assert [text_of(e) for e in events] == [f"from {n}" for n, _ in named] + ["raw marker"]
    for event, (name, key) in zip(events, named, strict=False):
        assert isinstance(event, NewMessage)
        address = to_address(public_key(key))
        assert event.author.display_name == f"{address[:6]}…{address[-4:]}", name
    assert isinstance(events[-1], NewMessage)
    assert events[-1].author.display_name == "Alice Status"
    assert adapter.stats["malformed"] == len(dropped)
