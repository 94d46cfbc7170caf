"""Community rooms through the Waku adapter and a real embedded node.

The community side is made here from status-go's vendored .proto messages, signed with coincurve
(c72f491 WrapMessageV1: signature over keccak256(payload), v in {0,1}) and read back by
decrypting as status-go's transport does; only the Waku payload crypto (checked against js-waku
in tests/crypto) is shared with the bridge. The status-go-faithful control node and the end to
end runs through the whole bridge live in tests/fakes and tests/e2e.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import coincurve
import pytest

from bots.waku.adapter import WakuAdapter, WakuRoomConfig
from bridge.model import (
    Author,
    ChatId,
    ChatRef,
    NewMessage,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    RichText,
    UserId,
    WakuChatId,
)
from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import chat_message_pb2 as chat_pb
from bridge.proto import communities_pb2 as pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.proto import sds_message_pb2 as sds_pb
from bridge.router import Room, Router
from bridge.status import chat_key, chat_topic
from bridge.status.community import Membership
from bridge.status.links import CommunityRef
from bridge.store import Store
from bridge.waku.community import CommunityRoom, community_room
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from crypto.keccak import keccak256
from crypto.keys import generate_private_key
from crypto.payload import decrypt_asymmetric, decrypt_symmetric, encrypt_symmetric
from tests.waku.support import Inbox, store_views

SHARD = "/waku/2/rs/16/32"
REQUESTS = "/waku/2/rs/16/64"
CONTENT_SHARD = "/waku/2/rs/16/256"
COMMUNITY = coincurve.PrivateKey(generate_private_key())
OWNER = generate_private_key()  # the control node's own identity: signs at the Waku layer
BRIDGE_KEY = generate_private_key()
ALICE = coincurve.PrivateKey(generate_private_key())
MALLORY = coincurve.PrivateKey(generate_private_key())
CID = "0x" + COMMUNITY.public_key.format().hex()
GENERAL = "0b6c1f3e-2a4d-4e5f-8a9b-1c2d3e4f5a6b"
ROOM = "status:general"
WAKU = ChatRef.waku(WakuChatId(ROOM))
TELEGRAM = ChatRef("telegram", ChatId("-1001"))
BRIDGE_NAME = "Parley Bridge"


def key_hex(key: coincurve.PrivateKey | bytes) -> str:
    if isinstance(key, bytes):
        key = coincurve.PrivateKey(key)
    return "0x" + key.public_key.format(compressed=False).hex()


def app_message(payload: bytes, message_type: int, key: coincurve.PrivateKey) -> bytes:
    return app_pb.ApplicationMetadataMessage(
        signature=key.sign_recoverable(keccak256(payload), hasher=None),
        payload=payload,
        type=app_pb.ApplicationMetadataMessage.Type.ValueType(message_type),
    ).SerializeToString()


def description(clock: int, members: list[str], banned: list[str] = ()) -> pb.CommunityDescription:  # type: ignore[assignment]
    d = pb.CommunityDescription(clock=clock, ID=CID)
    d.identity.display_name = "Parley Friends"
    d.permissions.access = pb.CommunityPermissions.Access.MANUAL_ACCEPT
    for member in members:
        d.members[member].CopyFrom(pb.CommunityMember())
    for member in banned:
        d.banned_members[member].CopyFrom(pb.CommunityBanInfo())
    d.chats[GENERAL].identity.display_name = "general"
    # ValidateCommunityDescription: every chat needs permissions.
    d.chats[GENERAL].permissions.access = pb.CommunityPermissions.Access.AUTO_ACCEPT
    return d


def description_message(
    d: pb.CommunityDescription, signer: coincurve.PrivateKey = COMMUNITY
) -> WakuMessage:
    """publishOrg: SendPublic(community id) without the encryption layer."""
    raw = app_message(d.SerializeToString(), 25, signer)
    payload = encrypt_symmetric(raw, chat_key(CID), OWNER)
    return WakuMessage(payload, chat_topic(CID), version=1, timestamp=time.time_ns())


def member_message(
    text: str,
    key: coincurve.PrivateKey,
    *,
    display_name: str = "Alice Example",
    topic_chat: str = CID + "-memberUpdate",
    sds: bool = False,
) -> WakuMessage:
    ms = time.time_ns() // 1_000_000
    chat = chat_pb.ChatMessage(
        clock=ms,
        timestamp=ms,
        text=text,
        chat_id=CID + GENERAL,
        message_type=chat_pb.MessageType.COMMUNITY_CHAT,
        content_type=chat_pb.ChatMessage.ContentType.TEXT_PLAIN,
        display_name=display_name,
    )
    app = app_message(chat.SerializeToString(), 1, key)
    if sds:
        app = sds_pb.SdsMessage(
            message_id="0x" + keccak256(app).hex(), lamport_timestamp=9, channel_id=CID, content=app
        ).SerializeToString()
    outer = proto_pb.ProtocolMessage(installation_id="phone", public_message=app)
    payload = encrypt_symmetric(outer.SerializeToString(), chat_key(topic_chat), key.secret)
    return WakuMessage(payload, chat_topic(topic_chat), version=1, timestamp=time.time_ns())


class Sink:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.events: list[NewMessage] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: object) -> None:
        await self.router.handle(event)  # type: ignore[arg-type]
        assert isinstance(event, NewMessage)
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, n: int) -> list[NewMessage]:
        async with asyncio.timeout(10):
            while len(self.events) < n:
                self.changed.clear()
                await self.changed.wait()
        return self.events


async def eventually(predicate: Callable[[], bool]) -> None:
    """Wait for the adapter's state, which it changes as messages arrive from the node."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 (state of the adapter, no event to wait on)
            await asyncio.sleep(0.02)


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
    return Sink(Router(store, [Room("general", (WAKU, TELEGRAM))]))


def make_adapter(node: EmbeddedNode, store: Store, channel: str = "general") -> WakuAdapter:
    config = WakuRoomConfig(
        chat_id=ROOM,
        pubsub_topic=SHARD,
        community=CommunityRoom(CID, channel, None, SHARD, also_listen=(CONTENT_SHARD,)),
    )
    adapter = WakuAdapter(
        node=node,
        **store_views(store),
        identity_key=BRIDGE_KEY,
        rooms={ROOM: config},
        bridge_name=BRIDGE_NAME,
    )
    assert adapter.communities is not None
    adapter.communities._tick = 0.05  # requests are due at once in tests
    return adapter


def delivery(key: str = "row-1") -> OutboundMessage:
    return OutboundMessage(
        target=WAKU,
        idempotency_key=key,
        room="general",
        source=TELEGRAM,
        author=Author("telegram", UserId("42"), "Ann", username="ann"),
        text=RichText.plain("hello Status"),
        sent_at=datetime.now(UTC),
    )


async def test_join_then_post_as_status_go_reads_it(
    node: EmbeddedNode, store: Store, sink: Sink
) -> None:
    requests, channel = Inbox(), Inbox()
    await node.subscribe([REQUESTS], requests)
    await node.subscribe([SHARD], channel)
    adapter = make_adapter(node, store)
    await adapter.start(sink)
    try:
        communities = adapter.communities
        assert communities is not None
        assert communities.membership(ROOM) is Membership.UNKNOWN
        assert adapter.hold_reason(WAKU) is not None

        # The control node publishes its description; the bridge is not in it: it asks to join.
        await node.publish(SHARD, description_message(description(1, [key_hex(ALICE)])))
        received = (await requests.wait_for(1))[0].message
        assert received.content_topic == chat_topic(key_hex(COMMUNITY)[2:])
        opened = decrypt_asymmetric(received.payload, COMMUNITY.secret)
        assert opened.signer is not None and "0x" + opened.signer.hex() == key_hex(BRIDGE_KEY)
        app = app_pb.ApplicationMetadataMessage()
        app.ParseFromString(opened.payload)  # no ProtocolMessage layer (SkipEncryptionLayer)
        assert app.type == 27
        request = pb.CommunityRequestToJoin()
        request.ParseFromString(app.payload)
        assert request.display_name == BRIDGE_NAME and request.community_id.hex() == CID[2:]
        assert abs(request.clock - time.time()) < 60 and len(request.revealed_accounts) == 1
        await eventually(lambda: communities.membership(ROOM) is Membership.REQUESTED)
        assert "owner must accept" in communities.describe(ROOM)

        # A description signed by someone else changes nothing.
        await node.publish(
            SHARD, description_message(description(5, [key_hex(BRIDGE_KEY)]), MALLORY)
        )
        await asyncio.sleep(0.2)
        assert communities.membership(ROOM) is Membership.REQUESTED

        # Accepted: the bridge may post, on the universal and the per-channel topic.
        members = [key_hex(ALICE), key_hex(BRIDGE_KEY)]
        await node.publish(SHARD, description_message(description(2, members)))
        await eventually(lambda: communities.membership(ROOM) is Membership.CAN_POST)
        assert adapter.hold_reason(WAKU) is None
        seen_before = len(channel.items)
        native = await adapter.send(delivery())
        copies = (await channel.wait_for(seen_before + 2))[seen_before:]
        topics = {c.message.content_topic: c.message for c in copies}
        # SDS-wrapped on the universal topic (current status-go), plain on the channel's own
        # topic (status-go c72f491, which has no SDS); the same Status message either way.
        for chat, wrapped in ((CID + "-memberUpdate", True), (CID + GENERAL, False)):
            message = topics[chat_topic(chat)]
            plain = decrypt_symmetric(message.payload, chat_key(chat))
            outer = proto_pb.ProtocolMessage()
            outer.ParseFromString(plain.payload)
            app_bytes = outer.public_message
            if wrapped:
                sds = sds_pb.SdsMessage()
                sds.ParseFromString(outer.public_message)
                assert sds.channel_id == CID
                assert sds.message_id == "0x" + keccak256(sds.content).hex()
                app_bytes = sds.content
            app = app_pb.ApplicationMetadataMessage()
            app.ParseFromString(app_bytes)
            signer = coincurve.PublicKey.from_signature_and_message(
                app.signature, keccak256(app.payload), hasher=None
            )
            assert "0x" + signer.format(compressed=False).hex() == key_hex(BRIDGE_KEY)
            # status-go's message id: keccak256(signer ‖ ApplicationMetadataMessage).
            assert native == "0x" + keccak256(signer.format(compressed=False) + app_bytes).hex()
            chat_message = chat_pb.ChatMessage()
            chat_message.ParseFromString(app.payload)
            assert chat_message.chat_id == CID + GENERAL
            assert chat_message.message_type == chat_pb.MessageType.COMMUNITY_CHAT
            assert chat_message.display_name == BRIDGE_NAME
            assert chat_message.bridge_message.userName == "Ann"
            assert chat_message.bridge_message.content == "hello Status"

        # A reaction is status-go's own EmojiReaction for the channel, on both topics too.
        seen_before = len(channel.items)
        await adapter.react(
            OutboundReaction(
                target=WAKU,
                idempotency_key="r-1",
                native_id=native,
                emoji="👍",
                added=True,
                author=Author("telegram", UserId("42"), "Ann"),
            )
        )
        for got in (await channel.wait_for(seen_before + 2))[seen_before:]:
            chat = next(
                c
                for c in (CID + "-memberUpdate", CID + GENERAL)
                if chat_topic(c) == got.message.content_topic
            )
            outer = proto_pb.ProtocolMessage()
            outer.ParseFromString(decrypt_symmetric(got.message.payload, chat_key(chat)).payload)
            public = outer.public_message
            if chat.endswith("-memberUpdate"):
                sds = sds_pb.SdsMessage()
                sds.ParseFromString(public)
                public = sds.content
            app = app_pb.ApplicationMetadataMessage()
            app.ParseFromString(public)
            assert app.type == 22
            reaction = chat_pb.EmojiReaction()
            reaction.ParseFromString(app.payload)
            assert (reaction.chat_id, reaction.message_id) == (CID + GENERAL, native)
            assert reaction.type == chat_pb.EmojiReaction.Type.THUMBS_UP
            assert reaction.message_type == chat_pb.MessageType.COMMUNITY_CHAT

        # Removed from the description: no more posting, and the reason says so.
        await node.publish(SHARD, description_message(description(3, [key_hex(ALICE)])))
        await eventually(lambda: communities.membership(ROOM) is Membership.KICKED)
        with pytest.raises(PermanentError, match="kicked"):
            await adapter.send(delivery("row-2"))
    finally:
        await adapter.stop()

    # A restart knows the state without the network (the store kept the description).
    again = make_adapter(node, store)
    assert again.communities is not None
    await again.communities.load()
    assert again.communities.membership(ROOM) is Membership.KICKED


async def test_only_members_reach_the_platforms(
    node: EmbeddedNode, store: Store, sink: Sink
) -> None:
    members = [key_hex(ALICE), key_hex(BRIDGE_KEY)]
    await node.publish(
        SHARD, description_message(description(4, members, banned=[key_hex(MALLORY)]))
    )
    adapter = make_adapter(node, store, channel=GENERAL)  # by UUID this time
    await adapter.start(sink)
    try:
        communities = adapter.communities
        assert communities is not None
        await eventually(lambda: communities.membership(ROOM) is Membership.CAN_POST)
        await node.publish(SHARD, member_message("plain, universal topic", ALICE))
        await node.publish(
            SHARD, member_message("sds, channel topic", ALICE, topic_chat=CID + GENERAL, sds=True)
        )
        await node.publish(SHARD, member_message("banned", MALLORY))
        stranger = coincurve.PrivateKey(generate_private_key())
        await node.publish(SHARD, member_message("not a member", stranger))
        await node.publish(SHARD, member_message("bad name", ALICE, display_name="Al"))
        await node.publish(CONTENT_SHARD, member_message("on the shared content shard", ALICE))
        await node.publish(SHARD, member_message("last", ALICE))
        events = await sink.wait_for(4)
        assert [e.text.text for e in events] == [
            "plain, universal topic",
            "sds, channel topic",
            "on the shared content shard",
            "last",
        ]
        assert events[0].author.display_name == "Alice Example"
        await eventually(lambda: adapter.stats["refused_display_name"] == 1)
        assert adapter.stats["refused_banned"] == 1
        assert adapter.stats["refused_not_member"] == 1
    finally:
        await adapter.stop()


async def test_token_gated_channel_is_refused(node: EmbeddedNode, store: Store, sink: Sink) -> None:
    d = description(1, [key_hex(BRIDGE_KEY)])
    permission = d.token_permissions["gate"]
    permission.type = pb.CommunityTokenPermission.Type.CAN_VIEW_AND_POST_CHANNEL
    permission.chat_ids.append(CID + GENERAL)
    permission.token_criteria.add(symbol="SNT")
    await node.publish(SHARD, description_message(d))
    adapter = make_adapter(node, store)
    await adapter.start(sink)
    try:
        communities = adapter.communities
        assert communities is not None
        assert communities.membership(ROOM) is Membership.TOKEN_GATED
        assert "token-gated" in (communities.refusal(ROOM) or "")
        assert adapter.hold_reason(WAKU) is None  # not held: failed with the reason
        with pytest.raises(PermanentError, match="token-gated"):
            await adapter.send(delivery())
    finally:
        await adapter.stop()


async def test_unknown_channel_name_is_a_clear_error(
    node: EmbeddedNode, store: Store, sink: Sink
) -> None:
    await node.publish(SHARD, description_message(description(1, [key_hex(BRIDGE_KEY)])))
    adapter = make_adapter(node, store, channel="random")
    await adapter.start(sink)
    try:
        assert adapter.communities is not None
        problem = adapter.communities.refusal(ROOM) or ""
        assert "has no channel 'random'" in problem and "general" in problem
    finally:
        await adapter.stop()


def test_community_room_shards() -> None:
    ref = CommunityRef(CID, channel_uuid=GENERAL)
    room = community_room(ref, None, SHARD, (32, 64, 128, 256))
    assert (room.pubsub_topic, room.also_listen) == (SHARD, ("/waku/2/rs/16/128", CONTENT_SHARD))
    assert community_room(ref, None, SHARD, (32, 64)).also_listen == ()
    linked = community_room(CommunityRef(CID, shard=(16, 256)), "general", SHARD, (32, 256))
    assert (linked.pubsub_topic, linked.also_listen) == (CONTENT_SHARD, ())
    assert linked.channel == "general" and linked.channel_uuid is None
    assert community_room(ref, GENERAL, SHARD).channel_uuid == GENERAL
