"""The bridge's Status community pieces judged by the status-go stand-in
(tests/fakes/status_node.py): what the bridge builds must pass status-go's control node, and
what a status-go control node publishes must mean to the bridge what it means to status-go."""

from __future__ import annotations

import time

import pytest

from bridge.status.community import (
    CommunityView,
    Membership,
    build_request_to_join,
    member_key,
    parse_description,
)
from bridge.status.links import LinkError, parse_community
from bridge.status.names import display_name_problem
from bridge.status.sds import SdsChannel, unwrap
from bridge.status.types import StatusDecodeError
from crypto.keys import generate_private_key, public_key, to_address
from crypto.payload import decrypt_symmetric
from tests.fakes import status_node as sg
from tests.fakes.status_proto import communities_pb2

BRIDGE = generate_private_key()


class _NoWaku(sg.RestWaku):
    """The control node's publishing is not exercised here: only its bytes are."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")


def owner_with(*members: bytes) -> sg.ControlNode:
    owner = sg.ControlNode(
        _NoWaku(), community_key=generate_private_key(), owner_key=generate_private_key()
    )
    owner.add_channel("general")
    owner.add_channel("Random Talk")
    for member in members:
        owner.add_member(member)
    return owner


def bridge_view(owner: sg.ControlNode, *, sds: bool = False) -> CommunityView:
    """Hand the bridge the decrypted Waku payload of the control node's description."""
    wire = owner.description_message(sds=sds)
    payload = decrypt_symmetric(wire.payload, sg.sym_key(owner.id)).payload
    return parse_description(payload, owner.id)


def status_go_view(owner: sg.ControlNode) -> sg.Community:
    """The same description as a status-go member takes it in."""
    wire = owner.description_message()
    community = sg.Community(owner.community.community_pub)
    community.accept_description(sg.open_message(sg.DEFAULT_SHARD, wire, key=sg.sym_key(owner.id)))
    return community


def test_the_bridges_request_to_join_passes_status_gos_control_node() -> None:
    owner = owner_with()
    body = build_request_to_join(BRIDGE, owner.id, "Parley Bridge", int(time.time()))
    request = communities_pb2.CommunityRequestToJoin.FromString(body)
    assert owner.validate_request(public_key(BRIDGE), request) == "pending"
    assert request.display_name == "Parley Bridge"
    (account,) = request.revealed_accounts
    assert account.address == to_address(public_key(BRIDGE))
    # The clock is status-go's: Unix seconds (a millisecond clock would never expire).
    assert abs(request.clock - time.time()) < 60


@pytest.mark.parametrize("sds", [False, True])
def test_the_bridge_reads_a_control_nodes_description_as_status_go_does(sds: bool) -> None:
    alice, banned, stranger = (public_key(generate_private_key()) for _ in range(3))
    owner = owner_with(alice, public_key(BRIDGE), banned)
    owner.ban(banned)
    view = bridge_view(owner, sds=sds)
    status_go = status_go_view(owner)
    assert view.clock == owner.description.clock
    assert {c.name for c in view.channels.values()} == {"general", "Random Talk"}
    assert view.channel("general") is not None and view.channel("#random talk") is not None
    control = public_key(owner.community_key)
    for who in (alice, banned, stranger, public_key(BRIDGE), control):
        for uuid in owner.channels.values():
            for app_type in (sg.AppType.CHAT_MESSAGE, sg.AppType.EMOJI_REACTION):
                assert view.can_post(member_key(who), uuid, app_type) == status_go.can_post(
                    who, uuid, app_type
                ), (who == control, uuid, app_type)
    general = owner.channels["general"]
    assert view.membership(member_key(public_key(BRIDGE)), general, was_member=False) == (
        Membership.CAN_POST
    )
    assert view.membership(member_key(banned), general, was_member=True) == Membership.BANNED
    assert view.membership(member_key(stranger), general, was_member=True) == Membership.KICKED


def test_roles_and_gates_agree_with_status_go() -> None:
    viewer = public_key(generate_private_key())
    owner = owner_with(viewer, public_key(BRIDGE))
    general = owner.channels["general"]
    gate = owner.description.token_permissions["view-general"]
    gate.type = communities_pb2.CommunityTokenPermission.CAN_VIEW_AND_POST_CHANNEL
    gate.chat_ids.append(owner.community.chat_id(general))
    gate.token_criteria.add(symbol="PRL", amountInWei="1")
    owner.add_member(viewer, viewer_in=[general])
    view, status_go = bridge_view(owner), status_go_view(owner)
    assert view.channels[general].encrypted == status_go.channel_encrypted(general) is True
    assert view.can_post(member_key(viewer), general, sg.AppType.CHAT_MESSAGE) is False
    assert status_go.can_post(viewer, general, sg.AppType.CHAT_MESSAGE) is False
    # A CAN_VIEW_CHANNEL permission without criteria makes the channel public again.
    public = owner.description.token_permissions["everyone"]
    public.type = communities_pb2.CommunityTokenPermission.CAN_VIEW_CHANNEL
    public.chat_ids.append(owner.community.chat_id(general))
    owner.description.clock += 1
    view, status_go = bridge_view(owner), status_go_view(owner)
    assert view.channels[general].encrypted == status_go.channel_encrypted(general) is False
    owner.gate_with_token()
    view, status_go = bridge_view(owner), status_go_view(owner)
    assert view.encrypted == status_go.encrypted() is True
    assert view.membership(member_key(public_key(BRIDGE)), general, was_member=True) == (
        Membership.TOKEN_GATED
    )


def test_a_description_not_signed_by_the_community_key_changes_nothing() -> None:
    owner = owner_with(public_key(BRIDGE))
    amm = owner.description_amm()
    from tests.fakes.status_proto import application_metadata_message_pb2 as amm_pb

    inner = amm_pb.ApplicationMetadataMessage.FromString(amm).payload
    forged = sg.wrap_v1(inner, sg.AppType.COMMUNITY_DESCRIPTION, owner.owner_key)
    with pytest.raises(StatusDecodeError):
        parse_description(forged, owner.id)
    other = owner_with()
    with pytest.raises(StatusDecodeError):
        parse_description(owner.description_amm(), other.id)


def test_sds_between_the_bridge_and_nim_sds() -> None:
    content = b"\x0a\x41" + b"s" * 65 + b"\x12\x03abc\x18\x01"
    state = sg.SdsChannel()
    nim_wrapped = sg.sds_wrap(content, "0x" + "ab" * 32, "0x02" + "cd" * 32, state)
    assert unwrap(nim_wrapped)[0] == content
    bridge = SdsChannel("0x02" + "cd" * 32)
    wrapped = bridge.wrap(content, int(time.time()))
    message = sg.sds_unwrap(wrapped)
    assert message is not None and message.content == content
    assert message.channel_id == "0x02" + "cd" * 32
    assert message.lamport_timestamp >= int(time.time())


def test_links_as_status_go_parses_them() -> None:
    key = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"  # messenger_share_urls_test.go
    community_id = "0x" + sg.deserialize_compressed_key(key).hex()
    assert parse_community(f"https://status.app/c#{key}").community_id == community_id
    channel = parse_community(
        sg.community_link(community_id, "003cdcd5-e065-48f9-b166-b1a94ac75a11")
    )
    assert channel.community_id == community_id
    assert channel.channel_uuid == "003cdcd5-e065-48f9-b166-b1a94ac75a11"
    mine = owner_with()
    assert parse_community(sg.community_link(mine.id)).community_id == mine.id
    assert parse_community(mine.id).community_id == mine.id
    for bad in (
        f"https://status.appc/#{key}",
        f"https://status.app/cc#{key}",
        f"https://status.app/a#{key}",
        f"https://status.im/u#{key}",
        f"https://status.app/u#{key}",
        mine.id[:-2],
        "0x04" + "00" * 32,
    ):
        with pytest.raises(LinkError):
            parse_community(bad)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "parley",
        "Parley Bridge",
        "bot",
        "my.bridge",
        "Zoë Bridge",
        "bridge_eth",
        "x" * 25,
        "  padded name  ",
        "tab\tname",
        # protocol/identity/alias: generated three-word aliases (title-cased before lookup).
        "Hard Tame Brownbutterfly",
        "hard tame brownbutterfly",
        "  Able Calm Aardvark ",
        "Hard Tame Person",
        "Hard Brownbutterfly",
        "\xa0Parley Bridge",
    ],
)
def test_the_bridge_name_check_is_status_gos(name: str) -> None:
    try:
        sg.validate_display_name(name)
        status_go_accepts = True
    except sg.StatusDrop:
        status_go_accepts = False
    assert (display_name_problem(name) is None) == status_go_accepts


def _chat(**changes: object) -> bytes:
    from tests.fakes.status_proto import chat_message_pb2, enums_pb2

    now = time.time_ns() // 1_000_000
    message = chat_message_pb2.ChatMessage(
        clock=now,
        timestamp=now,
        text="gm",
        chat_id="0x02" + "11" * 32 + "c0ffee",
        message_type=enums_pb2.COMMUNITY_CHAT,
        content_type=chat_message_pb2.ChatMessage.ContentType.TEXT_PLAIN,
    )
    for name, value in changes.items():
        if "." in name:
            field, sub = name.split(".")
            setattr(getattr(message, field), sub, value)
        else:
            setattr(message, name, value)
    return message.SerializeToString()


def _content_cases() -> list[dict[str, object]]:
    from tests.fakes.status_proto import chat_message_pb2, enums_pb2

    ct = chat_message_pb2.ChatMessage.ContentType
    cases: list[dict[str, object]] = [{"content_type": value} for value in ct.values()]
    cases += [{"content_type": value, "text": ""} for value in ct.values()]
    cases += [
        {"content_type": ct.STICKER, "sticker.hash": "Qm"},
        {"content_type": ct.STICKER, "sticker.pack": 1},
        {"content_type": ct.IMAGE, "text": "", "image.payload": b"x", "image.format": 1},
        {"content_type": ct.IMAGE, "image.payload": b"x", "image.format": 1},
        {"content_type": ct.IMAGE, "image.payload": b"x"},
        {"content_type": ct.IMAGE, "text": "", "image.format": 2},
        {"content_type": ct.AUDIO, "audio.payload": b"x", "audio.type": 1},
        {"content_type": ct.AUDIO, "audio.payload": b"x"},
        {"content_type": ct.AUDIO, "sticker.hash": "Qm"},
        {"content_type": ct.BRIDGE_MESSAGE, "bridge_message.userName": "u"},
        {"message_type": enums_pb2.SYSTEM_MESSAGE_PRIVATE_GROUP},
        {"message_type": enums_pb2.PUBLIC_GROUP},
    ]
    return cases


@pytest.mark.parametrize("changes", _content_cases())
def test_chat_message_rules_are_status_gos(changes: dict[str, object]) -> None:
    """The bridge's parse_chat_message refuses exactly what ValidateReceivedChatMessage does
    (the display name and the clock drift are checked elsewhere, per room)."""
    from bridge.status.chat import parse_chat_message
    from tests.fakes.status_proto import chat_message_pb2

    data = _chat(**changes)
    try:
        sg.validate_received_chat_message(
            chat_message_pb2.ChatMessage.FromString(data), time.time_ns() // 1_000_000
        )
        status_go_accepts = True
    except sg.StatusDrop:
        status_go_accepts = False
    try:
        parse_chat_message(data)
        bridge_accepts = True
    except StatusDecodeError:
        bridge_accepts = False
    assert bridge_accepts == status_go_accepts
