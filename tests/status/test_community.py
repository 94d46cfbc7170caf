"""Community descriptions, CanPost and requests to join, built with status-go's own .proto
messages and signed with coincurve directly (not with the bridge's encoders), and checked
against status-go c72f491's rules (community.go CanView/CanPost, manager.go's
revealed-address check, request_to_join.go)."""

from __future__ import annotations

import coincurve
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import communities_pb2 as pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.proto import sds_message_pb2 as sds_pb
from bridge.status.community import (
    Membership,
    build_request_to_join,
    member_key,
    parse_description,
)
from bridge.status.types import StatusDecodeError
from crypto.keccak import keccak256

COMMUNITY_KEY = coincurve.PrivateKey(b"\x11" * 32)
BRIDGE_KEY = b"\x22" * 32
BRIDGE_PUB = coincurve.PrivateKey(BRIDGE_KEY).public_key.format(compressed=False)
OTHER_PUB = coincurve.PrivateKey(b"\x33" * 32).public_key.format(compressed=False)
COMMUNITY_ID = "0x" + COMMUNITY_KEY.public_key.format().hex()
GENERAL = "3f1c2a4b-5d6e-4f70-8a9b-0c1d2e3f4a5b"
NEWS = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
BRIDGE = member_key(BRIDGE_PUB)
OTHER = member_key(OTHER_PUB)


def sign_app(payload: bytes, message_type: int, key: coincurve.PrivateKey) -> bytes:
    """status-go WrapMessageV1: signature = crypto.Sign(keccak256(payload)), v in {0,1}."""
    signature = key.sign_recoverable(keccak256(payload), hasher=None)
    return app_pb.ApplicationMetadataMessage(
        signature=signature,
        payload=payload,
        type=app_pb.ApplicationMetadataMessage.Type.ValueType(message_type),
    ).SerializeToString()


def description(**changes: object) -> pb.CommunityDescription:
    d = pb.CommunityDescription(clock=7, ID=COMMUNITY_ID)
    d.identity.display_name = "Parley Friends"
    d.permissions.access = pb.CommunityPermissions.Access.MANUAL_ACCEPT
    d.members[BRIDGE].CopyFrom(pb.CommunityMember())
    d.chats[GENERAL].identity.display_name = "general"
    # ValidateCommunityDescription: every chat needs permissions.
    d.chats[GENERAL].permissions.access = pb.CommunityPermissions.Access.AUTO_ACCEPT
    d.chats[NEWS].identity.display_name = "news"
    # ValidateCommunityDescription: every chat needs permissions.
    d.chats[NEWS].permissions.access = pb.CommunityPermissions.Access.AUTO_ACCEPT
    for key, value in changes.items():
        setattr(d, key, value)
    return d


def signed(d: pb.CommunityDescription, key: coincurve.PrivateKey = COMMUNITY_KEY) -> bytes:
    return sign_app(d.SerializeToString(), 25, key)


def test_description_signed_by_the_community_key_is_accepted() -> None:
    view = parse_description(signed(description()), COMMUNITY_ID)
    assert view.clock == 7 and view.name == "Parley Friends"
    assert view.channel("general") is not None and view.channel("#General") is not None
    assert view.channel(GENERAL) == view.channel("general")
    assert view.channel("random") is None
    assert view.membership(BRIDGE, GENERAL, was_member=False) is Membership.CAN_POST


def test_description_from_another_key_changes_nothing() -> None:
    with pytest.raises(StatusDecodeError, match="community key"):
        parse_description(signed(description(), coincurve.PrivateKey(b"\x44" * 32)), COMMUNITY_ID)


def test_sds_wrapped_and_protocol_wrapped_descriptions() -> None:
    raw = signed(description())
    sds = sds_pb.SdsMessage(
        message_id="0x" + keccak256(raw).hex(),
        lamport_timestamp=5,
        channel_id=COMMUNITY_ID,
        content=raw,
    ).SerializeToString()
    assert parse_description(sds, COMMUNITY_ID).clock == 7
    outer = proto_pb.ProtocolMessage(installation_id="x", public_message=raw).SerializeToString()
    assert parse_description(outer, COMMUNITY_ID).clock == 7


def test_non_member_banned_and_kicked() -> None:
    view = parse_description(signed(description()), COMMUNITY_ID)
    assert not view.can_post(OTHER, GENERAL, 1)
    assert view.membership(OTHER, GENERAL, was_member=False) is Membership.UNKNOWN
    assert view.membership(OTHER, GENERAL, was_member=True) is Membership.KICKED
    banned = description()
    banned.banned_members[BRIDGE].CopyFrom(pb.CommunityBanInfo())
    view = parse_description(signed(banned), COMMUNITY_ID)
    assert view.membership(BRIDGE, GENERAL, was_member=True) is Membership.BANNED
    assert not view.can_post(BRIDGE, GENERAL, 1)
    legacy = description()
    legacy.ban_list.append(BRIDGE)
    assert parse_description(signed(legacy), COMMUNITY_ID).is_banned(BRIDGE)


def test_channel_roles_and_permissions() -> None:
    d = description()
    # A channel with a (non-encrypting) permission lists its members explicitly.
    perm = d.token_permissions["p"]
    perm.type = pb.CommunityTokenPermission.Type.CAN_VIEW_CHANNEL
    perm.chat_ids.append(COMMUNITY_ID + NEWS)
    d.chats[NEWS].members[BRIDGE].channel_role = pb.CommunityMember.ChannelRole.CHANNEL_ROLE_VIEWER
    view = parse_description(signed(d), COMMUNITY_ID)
    assert not view.channels[NEWS].encrypted
    assert view.can_view(BRIDGE, NEWS)
    assert not view.can_post(BRIDGE, NEWS, 1)
    assert not view.can_post(BRIDGE, NEWS, 22)  # reactions: viewers_can_post_reactions unset
    assert view.membership(BRIDGE, NEWS, was_member=False) is Membership.MEMBER
    d.chats[NEWS].viewers_can_post_reactions = True
    assert parse_description(signed(d), COMMUNITY_ID).can_post(BRIDGE, NEWS, 22)
    # The community's control node can always view (and, as a poster, post).
    control = member_key(COMMUNITY_KEY.public_key.format(compressed=False))
    assert view.can_post(control, GENERAL, 1)


def test_token_gated_channel_and_community() -> None:
    d = description()
    perm = d.token_permissions["p"]
    perm.type = pb.CommunityTokenPermission.Type.CAN_VIEW_AND_POST_CHANNEL
    perm.chat_ids.append(COMMUNITY_ID + NEWS)
    perm.token_criteria.add(symbol="SNT")
    view = parse_description(signed(d), COMMUNITY_ID)
    assert view.channels[NEWS].encrypted
    assert view.membership(BRIDGE, NEWS, was_member=False) is Membership.TOKEN_GATED
    assert view.membership(BRIDGE, GENERAL, was_member=False) is Membership.CAN_POST
    d.token_permissions["m"].type = pb.CommunityTokenPermission.Type.BECOME_MEMBER
    view = parse_description(signed(d), COMMUNITY_ID)
    assert view.encrypted
    assert view.membership(BRIDGE, GENERAL, was_member=False) is Membership.TOKEN_GATED


def test_request_to_join_passes_the_control_nodes_checks() -> None:
    encoded = build_request_to_join(BRIDGE_KEY, COMMUNITY_ID, "Parley Bridge", 1_800_000_000)
    request = pb.CommunityRequestToJoin()
    request.ParseFromString(encoded)
    assert request.clock == 1_800_000_000  # seconds: request_to_join.go adds 7 days to it
    assert request.community_id.hex() == COMMUNITY_ID[2:]
    assert request.display_name == "Parley Bridge"
    assert len(request.revealed_accounts) == 1  # ValidateRequestToJoin: "no addresses revealed"
    account = request.revealed_accounts[0]
    # manager.go: personal_ecRecover(EncodeHex(Keccak256(CompressPubkey(signer), community ID,
    # CalculateRequestID(PubkeyToHex(signer), communityID)))) must give the revealed address.
    compressed = coincurve.PrivateKey(BRIDGE_KEY).public_key.format()
    request_id = keccak256(f"0x{BRIDGE_PUB.hex()}-{COMMUNITY_ID}".encode())
    message = keccak256(compressed + bytes.fromhex(COMMUNITY_ID[2:]) + request_id)
    signable = encode_defunct(primitive=message)
    recovered = Account.recover_message(signable, signature=account.signature)
    assert recovered == account.address
    assert account.signature[64] in (27, 28)
