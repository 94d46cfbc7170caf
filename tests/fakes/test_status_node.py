"""Self-tests of the status-go stand-in (tests/fakes/status_node.py): its rules against
status-go's own test vectors where status-go has them, and a whole community (control node,
members) talking through an embedded node's nwaku REST API."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from bridge.store import Store
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.rest_server import RestServer, create_rest_app
from crypto.keccak import keccak256
from crypto.keys import generate_private_key, public_key
from tests.fakes.status_node import (
    ALL_SHARDS,
    DEFAULT_SHARD,
    AppType,
    ChatMessage,
    Community,
    ControlNode,
    Member,
    RestWaku,
    StatusDrop,
    Verdict,
    WireMessage,
    community_link,
    content_topic,
    deserialize_compressed_key,
    is_alias,
    open_message,
    personal_ec_recover,
    personal_sign,
    pubkey_hex,
    seal,
    serialize_compressed_key,
    sym_key,
    universal_chat_id,
    validate_display_name,
    validate_received_chat_message,
    wrap_v1,
)
from tests.fakes.status_proto import chat_message_pb2, communities_pb2, enums_pb2, sds_pb2

# protocol/messenger_share_urls_test.go
STATUS_GO_COMMUNITY_URL = "https://status.app/c#zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"
STATUS_GO_CHANNEL_URL = (
    "https://status.app/cc/003cdcd5-e065-48f9-b166-b1a94ac75a11"
    "#zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"
)


def test_the_committed_modules_are_what_generate_produces(tmp_path: Path) -> None:
    from tests.fakes.status_proto.generate import HERE, generate

    produced = generate(tmp_path)
    assert len(produced) == 2 * len(list(HERE.glob("*.proto")))
    for fresh in produced:
        assert (HERE / fresh.name).read_bytes() == fresh.read_bytes(), f"{fresh.name} is stale"


# --- pure rules ---------------------------------------------------------------------------


def test_shared_link_keys_round_trip_status_gos_vectors() -> None:
    key = STATUS_GO_COMMUNITY_URL.split("#", 1)[1]
    compressed = deserialize_compressed_key(key)
    assert len(compressed) == 33 and compressed[0] in (2, 3)
    assert len(public_key_of(compressed)) == 65  # a point on the curve
    assert serialize_compressed_key(compressed) == key
    community_id = "0x" + compressed.hex()
    assert community_link(community_id) == STATUS_GO_COMMUNITY_URL
    assert community_link(community_id, "003cdcd5-e065-48f9-b166-b1a94ac75a11") == (
        STATUS_GO_CHANNEL_URL
    )
    with pytest.raises(ValueError):
        deserialize_compressed_key("Q3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11")


def public_key_of(compressed: bytes) -> bytes:
    from crypto.keys import decompress_public_key

    return decompress_public_key(compressed)


def test_topics_and_keys_follow_status_go() -> None:
    # docs/PROTOCOL.md §10.1's example, and a 32-byte PBKDF2 key that depends on the chat id.
    assert content_topic("status") == "/waku/1/0xcd423760/rfc26"
    assert len(sym_key("status")) == 32 and sym_key("status") != sym_key("statuss")
    assert universal_chat_id("0x02ab") == "0x02ab-memberUpdate"


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", None),
        ("  Alice Status  ", None),
        ("parley-bridge_1", None),
        ("bot", "only letters"),  # fewer than 5
        ("my.bridge", "only letters"),
        ("x" * 25, "only letters"),
        ("Zoë Status", "only letters"),  # Go's \w is ASCII
        ("Bob\vStatus", "only letters"),  # Go's \s has no \v
        ("vitalik_eth", 'ending with "eth"'),
        ("vitalik-eth", 'ending with "eth"'),
        # protocol/identity/alias/generate_test.go: generated three-word names are refused.
        ("Hard Tame Brownbutterfly", "not allowed"),
        ("hard tame brownbutterfly", "not allowed"),  # strings.Title before the lookup
        ("Darkorange Blue Bubblefish", "only letters"),  # 26 characters: the length rule first
        ("Hard Tame Person", None),
    ],
)
def test_display_names_as_status_go_validates_them(name: str, error: str | None) -> None:
    if error is None:
        assert validate_display_name(name) == name.strip()
    else:
        with pytest.raises(StatusDrop, match=error):
            validate_display_name(name)
    assert is_alias("Darkorange Blue Bubblefish")


def chat(**changes: object) -> chat_message_pb2.ChatMessage:
    now = time.time_ns() // 1_000_000
    message = ChatMessage(
        clock=now,
        timestamp=now,
        text="gm",
        chat_id="0x02" + "11" * 32 + "c0ffee",
        message_type=enums_pb2.COMMUNITY_CHAT,
        content_type=ChatMessage.ContentType.TEXT_PLAIN,
        display_name="Alice Status",
    )
    for name, value in changes.items():
        setattr(message, name, value)
    return message


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({}, None),
        ({"clock": 0}, "clock can't be 0"),
        ({"clock": "5 minutes ahead"}, "clock value too high"),
        ({"timestamp": 0}, "timestamp can't be 0"),
        ({"text": "  "}, "text can't be empty"),
        ({"text": "x" * 4097}, "longer than 4096"),
        ({"chat_id": ""}, "chatId can't be empty"),
        ({"message_type": enums_pb2.UNKNOWN_MESSAGE_TYPE}, "unknown message type"),
        ({"content_type": ChatMessage.ContentType.UNKNOWN_CONTENT_TYPE}, "unknown content type"),
        ({"content_type": ChatMessage.ContentType.BRIDGE_MESSAGE}, "no bridge message content"),
        ({"display_name": "bot"}, "only letters"),
        ({"content_type": ChatMessage.ContentType.STICKER}, "no sticker content"),
        ({"content_type": ChatMessage.ContentType.AUDIO}, "no audio content"),
        ({"content_type": ChatMessage.ContentType.IMAGE}, "no image content"),
    ],
)
def test_validate_received_chat_message(changes: dict[str, object], error: str | None) -> None:
    now = time.time_ns() // 1_000_000
    if changes.get("clock") == "5 minutes ahead":
        # Here, not at collection: a long run would bring the clock back within the drift.
        changes = {"clock": now + 300_000}
    message = chat(**changes)
    if error is None:
        validate_received_chat_message(message, now)
    else:
        with pytest.raises(StatusDrop, match=error):
            validate_received_chat_message(message, now)


def test_stickers_images_and_audio_need_their_payloads() -> None:
    """message_validator.go: a sticker needs a hash, an image and an audio message a payload and
    a known format or type."""
    now = time.time_ns() // 1_000_000
    ct = ChatMessage.ContentType
    sticker = chat(content_type=ct.STICKER)
    sticker.sticker.hash = "Qm-sticker"
    image = chat(content_type=ct.IMAGE, text="")
    image.image.payload = b"\x89PNG"
    audio = chat(content_type=ct.AUDIO)
    audio.audio.payload = b"aac"
    with pytest.raises(StatusDrop, match="image type unknown"):
        validate_received_chat_message(image, now)
    with pytest.raises(StatusDrop, match="audio type unknown"):
        validate_received_chat_message(audio, now)
    image.image.format = enums_pb2.PNG
    audio.audio.type = chat_message_pb2.AudioMessage.AAC
    for message in (sticker, image, audio):
        validate_received_chat_message(message, now)


def test_a_bridge_message_needs_user_bridge_and_content() -> None:
    now = time.time_ns() // 1_000_000
    message = chat(content_type=ChatMessage.ContentType.BRIDGE_MESSAGE, text="")
    message.bridge_message.bridgeName = "telegram"
    message.bridge_message.userName = "Ann"
    message.bridge_message.content = "hi"
    validate_received_chat_message(message, now)  # no text needed for a bridge message
    message.bridge_message.userName = ""
    with pytest.raises(StatusDrop, match="no username"):
        validate_received_chat_message(message, now)


def test_revealed_address_signatures_are_geths_personal_ec_recover() -> None:
    wallet = generate_private_key()
    data = keccak256(b"challenge")
    signature = personal_sign(data, wallet)
    assert signature[64] in (27, 28)
    from crypto.keys import to_address

    assert personal_ec_recover(data, signature) == to_address(public_key(wallet))
    # go-ethereum's EcRecover refuses the 0/1 recovery ids that crypto.Sign produces.
    raw = signature[:64] + bytes((signature[64] - 27,))
    with pytest.raises(StatusDrop, match="V is not 27 or 28"):
        personal_ec_recover(data, raw)


def test_sds_field_numbers_are_nim_sds() -> None:
    """sds/protobuf.nim: 1 messageId, 2 lamportTimestamp, 3 causalHistory, 4 channelId,
    5 content, 6 bloomFilter (the draft spec numbers them differently)."""
    wire = sds_pb2.SdsMessage(
        message_id="m",
        lamport_timestamp=7,
        causal_history=[sds_pb2.HistoryEntry(message_id="p")],
        channel_id="c",
        content=b"x",
        bloom_filter=b"b",
    ).SerializeToString()
    assert wire == bytes.fromhex("0a016d10071a030a01702201632a0178320162")


def test_sds_reads_the_older_causal_history_form() -> None:
    from tests.fakes.status_node import sds_unwrap

    old = sds_pb2.LegacySdsMessage(
        message_id="0x" + "aa" * 32,
        lamport_timestamp=1_700_000_000,
        causal_history=["0x" + "bb" * 32],
        channel_id="0x02" + "cc" * 32,
        content=b"\x0a\x01x",
    ).SerializeToString()
    unwrapped = sds_unwrap(old)
    assert unwrapped is not None and unwrapped.content == b"\x0a\x01x"


# --- a community over REST ----------------------------------------------------------------


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[EmbeddedNode]:
    store = await Store.open(tmp_path / "parley.db")
    n = EmbeddedNode(store)
    await n.start()
    yield n
    await n.stop()
    await store.close()


Connect = Callable[[], Awaitable[RestWaku]]


@pytest.fixture
async def connect(node: EmbeddedNode) -> AsyncIterator[Connect]:
    """One REST endpoint per participant: polling drains a REST cache, as in nwaku."""
    servers: list[RestServer] = []
    clients: list[RestWaku] = []

    async def make() -> RestWaku:
        server = RestServer(create_rest_app(node, cache_capacity=200))
        await server.start()
        servers.append(server)
        client = RestWaku(server.url)
        await client.subscribe(ALL_SHARDS)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
    for server in servers:
        await server.stop()


@dataclasses.dataclass
class World:
    owner: ControlNode
    general: str
    alice: Member
    carol: Member


@pytest.fixture
async def world(connect: Connect) -> World:
    owner = ControlNode(
        await connect(), community_key=generate_private_key(), owner_key=generate_private_key()
    )
    general = owner.add_channel("general")
    community_pub = owner.community.community_pub
    alice = Member(await connect(), key=generate_private_key(), community_pub=community_pub)
    carol = Member(
        await connect(),
        key=generate_private_key(),
        community_pub=community_pub,
        display_name="Carol Status",
    )
    owner.add_member(alice.pub)
    owner.add_member(carol.pub)
    await owner.publish_description()
    for member in (alice, carol):
        verdict = await wait(member, lambda v: v.opened is not None)
        assert verdict.shown and verdict.opened is not None
        assert verdict.opened.app_type == AppType.COMMUNITY_DESCRIPTION
    return World(owner, general, alice, carol)


async def wait(member: Member, predicate: Callable[[Verdict], bool]) -> Verdict:
    async with asyncio.timeout(10):
        return await member.wait_for(predicate)


def chat_text(verdict: Verdict) -> str:
    assert isinstance(verdict.content, chat_message_pb2.ChatMessage)
    return verdict.content.text


async def test_members_see_each_others_posts_plain_and_sds(world: World) -> None:
    plain = await world.alice.post("plain gm", world.general)
    seen = await wait(world.carol, lambda v: v.opened is not None)
    assert seen.shown and chat_text(seen) == "plain gm"
    assert seen.opened is not None and seen.opened.message_id_hex == plain
    assert seen.opened.sds is None and seen.opened.protocol is not None
    assert seen.opened.wire.content_topic == content_topic(universal_chat_id(world.owner.id))

    wrapped = await world.alice.post("sds gm", world.general, sds=True)
    seen = await wait(world.carol, lambda v: v.opened is not None)
    assert seen.shown and chat_text(seen) == "sds gm"
    assert seen.opened is not None and seen.opened.sds is not None
    # The SDS layer does not change the message id: it is computed on the unwrapped AMM.
    assert seen.opened.message_id_hex == wrapped
    assert seen.opened.sds.channel_id == world.owner.id

    legacy = await world.alice.post("old client", world.general, legacy_topic=True)
    seen = await wait(world.carol, lambda v: v.opened is not None)
    assert seen.shown and seen.opened is not None and seen.opened.message_id_hex == legacy


async def test_edits_and_deletes_follow_the_original_author_or_a_moderator(
    world: World, connect: Connect
) -> None:
    alice, carol, owner = world.alice, world.carol, world.owner
    target = await alice.post("typo", world.general)
    await wait(carol, lambda v: v.shown and v.opened is not None)
    moderator = Member(
        await connect(),
        key=owner.owner_key,
        community_pub=owner.community.community_pub,
        display_name="The Owner",
    )

    def edit(member: Member, text: str) -> WireMessage:
        inner = chat_message_pb2.EditMessage(
            clock=member.next_clock()[0],
            text=text,
            chat_id=owner.community.chat_id(world.general),
            message_id=target,
            message_type=enums_pb2.COMMUNITY_CHAT,
        )
        return member.envelope(inner.SerializeToString(), AppType.EDIT_MESSAGE)[0]

    def delete(member: Member) -> WireMessage:
        inner = chat_message_pb2.DeleteMessage(
            clock=member.next_clock()[0],
            chat_id=owner.community.chat_id(world.general),
            message_id=target,
            message_type=enums_pb2.COMMUNITY_CHAT,
        )
        return member.envelope(inner.SerializeToString(), AppType.DELETE_MESSAGE)[0]

    expected = [
        (edit(carol, "not yours"), "invalid edit, not the right author"),
        (edit(moderator, "not yours either"), "invalid edit, not the right author"),
        (edit(alice, "fixed"), ""),
        (delete(carol), "invalid delete permission"),
        (delete(moderator), ""),  # the owner may delete for everyone
    ]
    for wire, reason in expected:
        await alice.waku.publish(DEFAULT_SHARD, wire)
        seen = await wait(carol, lambda v: v.opened is not None)
        assert seen.reason == reason


async def test_non_members_banned_and_viewers_are_hidden(world: World, connect: Connect) -> None:
    mallory = Member(
        await connect(),
        key=generate_private_key(),
        community_pub=world.owner.community.community_pub,
    )
    await mallory.post("let me in", world.general)
    seen = await wait(world.carol, lambda v: v.opened is not None)
    assert seen.reason == "user can't post in community"

    world.owner.ban(world.alice.pub)
    await world.owner.publish_description()
    await wait(world.carol, lambda v: v.shown and v.opened is not None)
    assert world.carol.community.is_banned(world.alice.pub)
    await world.alice.post("still here?", world.general)
    seen = await wait(world.carol, lambda v: v.opened is not None)
    assert seen.reason == "user can't post in community"

    # Channel roles travel only for channels with token permissions: status-go strips the
    # members of every other channel and receivers copy the community's members back in as
    # posters (dehydrate/hydrateChannelsMembers).
    owner = world.owner
    owner.add_member(mallory.pub, viewer_in=[world.general])
    owner.description.chats[world.general].viewers_can_post_reactions = True
    await owner.publish_description()
    await wait(world.carol, lambda v: v.shown and v.opened is not None)
    community = world.carol.community
    assert community.can_post(mallory.pub, world.general, AppType.CHAT_MESSAGE)
    # With a view-only token permission on the channel, a viewer may react but not post.
    permission = owner.description.token_permissions["view"]
    permission.type = communities_pb2.CommunityTokenPermission.CAN_VIEW_CHANNEL
    permission.chat_ids.append(owner.community.chat_id(world.general))
    permission.token_criteria.add(symbol="PRL", amountInWei="1")
    owner.description.clock += 1
    await owner.publish_description()
    await wait(world.carol, lambda v: v.shown and v.opened is not None)
    assert community.channel_encrypted(world.general)
    assert not community.can_post(mallory.pub, world.general, AppType.CHAT_MESSAGE)
    assert community.can_post(mallory.pub, world.general, AppType.EMOJI_REACTION)


async def test_wrong_chat_bad_name_and_forged_descriptions(world: World) -> None:
    alice, carol = world.alice, world.carol
    message = alice.chat_message("nowhere", world.general)
    message.chat_id = world.owner.id + "00000000-0000-4000-8000-000000000000"
    wire, _ = alice.envelope(message.SerializeToString(), AppType.CHAT_MESSAGE)
    await alice.waku.publish(DEFAULT_SHARD, wire)
    seen = await wait(carol, lambda v: v.opened is not None)
    assert seen.reason == "received community chat chatEntity for non-existing chat"

    bad_name = alice.chat_message("hello", world.general, display_name="my.bridge")
    wire, _ = alice.envelope(bad_name.SerializeToString(), AppType.CHAT_MESSAGE)
    await alice.waku.publish(DEFAULT_SHARD, wire)
    seen = await wait(carol, lambda v: v.opened is not None)
    assert seen.reason == "only letters, numbers, underscores and hyphens allowed"

    # Signed by the owner's identity instead of the community key: not the control node.
    forged = world.owner.description_amm()
    from tests.fakes.status_proto import application_metadata_message_pb2 as amm_pb

    payload = amm_pb.ApplicationMetadataMessage.FromString(forged).payload
    forged = wrap_v1(payload, AppType.COMMUNITY_DESCRIPTION, world.owner.owner_key)
    await world.owner.waku.publish(
        DEFAULT_SHARD, seal(forged, world.owner.id, world.owner.owner_key)
    )
    seen = await wait(carol, lambda v: v.opened is not None)
    assert seen.reason == "not authorized"

    # An older clock changes nothing.
    world.owner.description.intro_message = "welcome"
    world.owner.description.clock += 1
    old = world.owner.description_message()
    world.owner.description.clock += 5
    await world.owner.publish_description(sds=True)
    await wait(carol, lambda v: v.opened is not None and v.opened.sds is not None)
    await world.owner.waku.publish(DEFAULT_SHARD, old)
    seen = await wait(carol, lambda v: v.opened is not None)
    assert seen.reason == "clock for community description is outdated"


async def test_requests_to_join_as_the_control_node_judges_them(
    world: World, connect: Connect
) -> None:
    owner = world.owner
    dave = Member(
        await connect(),
        key=generate_private_key(),
        community_pub=owner.community.community_pub,
        display_name="Dave Status",
    )
    wallet = generate_private_key()
    await dave.waku.publish("/waku/2/rs/16/64", dave.request_to_join(wallet))
    await dave.waku.publish("/waku/2/rs/16/64", dave.request_to_join(wallet, sds=True))
    async with asyncio.timeout(10):
        while len(owner.requests) < 2:
            await owner.poll_requests()
            await asyncio.sleep(0.05)
    plain, wrapped = owner.requests
    assert plain.state == wrapped.state == "pending"
    assert plain.signer == wrapped.signer == dave.pub
    assert wrapped.opened.sds is not None and plain.opened.sds is None
    assert plain.request.display_name == "Dave Status"

    owner.accept(plain)
    await owner.publish_description()
    await wait(dave, lambda v: v.opened is not None)
    assert dave.community.can_post(dave.pub, world.general, AppType.CHAT_MESSAGE)

    # What the control node refuses.
    stale = dave.request_to_join(wallet, clock=int(time.time()) - 8 * 24 * 3600)
    assert owner.handle_request_message(stale).state == "rejected: request is expired"
    someone = generate_private_key()
    request = owner.handle_request_message(dave.request_to_join(wallet)).request
    request.revealed_accounts[0].address = "0x" + "00" * 20
    assert owner.validate_request(dave.pub, request) == "declined"
    signature = request.revealed_accounts[0].signature
    request.revealed_accounts[0].signature = signature[:64] + bytes((signature[64] - 27,))
    assert owner.validate_request(dave.pub, request) == (
        "rejected: invalid Ethereum signature (V is not 27 or 28)"
    )
    del request.revealed_accounts[:]
    assert owner.validate_request(someone, request) == "rejected: no addresses revealed"
    owner.ban(public_key(someone))
    request = owner.handle_request_message(dave.request_to_join(wallet)).request
    assert owner.validate_request(public_key(someone), request) == "rejected: can't request access"


async def test_layers_status_go_refuses(world: World) -> None:
    alice, carol = world.alice, world.carol
    inner = alice.chat_message("x", world.general).SerializeToString()
    universal = universal_chat_id(world.owner.id)
    unsigned = dataclasses.replace(
        seal(wrap_v1(inner, AppType.CHAT_MESSAGE, alice.key), universal, alice.key),
        payload=b"",
    )
    with pytest.raises(StatusDrop):
        open_message(DEFAULT_SHARD, unsigned, key=sym_key(universal))
    from crypto.payload import encrypt_symmetric

    no_waku_signature = dataclasses.replace(
        unsigned,
        payload=encrypt_symmetric(
            wrap_v1(inner, AppType.CHAT_MESSAGE, alice.key), sym_key(universal)
        ),
    )
    with pytest.raises(StatusDrop, match="failed to get signature"):
        open_message(DEFAULT_SHARD, no_waku_signature, key=sym_key(universal))
    # An SDS message without a Lamport timestamp is not SDS to nim-sds: the bytes are then
    # read as an ApplicationMetadataMessage, which they are not.
    no_lamport = sds_pb2.SdsMessage(message_id="m", channel_id="c", content=b"\x01")
    wire = seal(no_lamport.SerializeToString(), universal, alice.key)
    with pytest.raises(StatusDrop):
        open_message(DEFAULT_SHARD, wire, key=sym_key(universal))
    assert carol.community.id == Community(world.owner.community.community_pub).id
    assert pubkey_hex(alice.pub).startswith("0x04") and len(pubkey_hex(alice.pub)) == 132
