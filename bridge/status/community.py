"""A Status community as its control node describes it, and joining it (status-go c72f491).

- ``parse_description``: a ``COMMUNITY_DESCRIPTION`` ApplicationMetadataMessage (optionally
  SDS-wrapped or inside a ProtocolMessage) whose app-level signer is the community key; a
  description signed by any other key is refused (``StatusDecodeError``) and changes nothing.
  (Communities whose control moved to an owner-token holder sign with that holder's key; the
  bridge does not follow such transfers.)
- ``CommunityView``: members, bans, channels (name ↔ UUID) and token gates, with status-go's
  ``CanView``/``CanPost`` (``protocol/communities/community.go``), including its "hydration":
  channels without token permissions list no members on the wire and mean "every member".
- ``build_request_to_join``: a ``CommunityRequestToJoin`` as ``Messenger.RequestToJoinCommunity``
  makes it: clock in Unix seconds, the bridge's display name, and one revealed account, the
  bridge's own address, signed the way the control node checks it (``personal_ecRecover`` of
  ``keccak256(compressed signer ‖ community id ‖ request id)``; request id =
  ``keccak256("0x04…-0x<community id>")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from google.protobuf.message import DecodeError

from bridge.proto import communities_pb2 as pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.status.envelope import decode_application_message
from bridge.status.sds import unwrap
from bridge.status.types import StatusDecodeError
from crypto.keccak import keccak256
from crypto.keys import decompress_public_key, public_key, sign_recoverable, to_address

__all__ = [
    "REQUEST_TIMEOUT_S",
    "Channel",
    "CommunityView",
    "Membership",
    "build_request_to_join",
    "member_key",
    "parse_description",
    "request_id",
    "revealed_account_signature",
]

COMMUNITY_DESCRIPTION = 25
COMMUNITY_REQUEST_TO_JOIN = 27
EMOJI_REACTION = 22
PIN_MESSAGE = 28
# request_to_join.go AddTimeoutToRequestToJoinClock: a request expires after 7 days.
REQUEST_TIMEOUT_S = 7 * 24 * 3600
_MAX_DESCRIPTION = 1024 * 1024
_ROLE_OWNER, _ROLE_ADMIN, _ROLE_TOKEN_MASTER = 1, 4, 5
_VIEWER = pb.CommunityMember.ChannelRole.CHANNEL_ROLE_VIEWER
_CAN_VIEW_CHANNEL = pb.CommunityTokenPermission.Type.CAN_VIEW_CHANNEL
_BECOME_MEMBER = pb.CommunityTokenPermission.Type.BECOME_MEMBER


class Membership(StrEnum):
    """The bridge's standing in one community channel, as shown in check, /rooms, /health."""

    UNKNOWN = "unknown"  # no description yet
    REQUESTED = "requested"  # request sent, not (yet) a member
    MEMBER = "member"  # a member, but may not post in this channel
    CAN_POST = "can_post"
    TOKEN_GATED = "token_gated"  # noqa: S105 (a state name) encrypted: not supported
    BANNED = "banned"
    KICKED = "kicked"  # was a member, no longer is
    DECLINED = "declined"  # the request expired without acceptance


def member_key(public_key65: bytes) -> str:
    """How descriptions key members: ``common.PubkeyToHex`` of the uncompressed key."""
    return "0x" + public_key65.hex()


@dataclass(frozen=True, slots=True)
class Channel:
    uuid: str
    name: str
    chat_id: str  # community id + UUID
    encrypted: bool  # token-gated: hash-ratchet encrypted, not supported


class CommunityView:
    """One verified CommunityDescription."""

    def __init__(self, community_id: str, description: pb.CommunityDescription, raw: bytes):
        self.community_id = community_id
        self.description = description
        self.raw = raw  # the signed ApplicationMetadataMessage, kept to re-verify after restart
        self.clock = description.clock
        self.name = description.identity.display_name
        self._permissions = description.token_permissions
        self._control = member_key(decompress_public_key(bytes.fromhex(community_id[2:])))
        self.channels: dict[str, Channel] = {
            uuid: Channel(
                uuid=uuid,
                name=chat.identity.display_name,
                chat_id=community_id + uuid,
                encrypted=self._channel_encrypted(community_id + uuid),
            )
            for uuid, chat in description.chats.items()
        }

    # --- what the description says ----------------------------------------------------

    @property
    def encrypted(self) -> bool:
        """``Community.Encrypted``: a BECOME_MEMBER token permission encrypts the community."""
        return any(p.type == _BECOME_MEMBER for p in self._permissions.values())

    def _has_permissions(self, chat_id: str) -> bool:
        return any(chat_id in p.chat_ids for p in self._permissions.values())

    def _channel_encrypted(self, chat_id: str) -> bool:
        has, everyone = False, False
        for p in self._permissions.values():
            if chat_id not in p.chat_ids:
                continue
            has = True
            if p.type == _CAN_VIEW_CHANNEL and not p.token_criteria:
                everyone = True
                break
        return has and not everyone

    def channel(self, name_or_uuid: str) -> Channel | None:
        """A channel by UUID, or by name as Status shows it (case-insensitive, without '#')."""
        if name_or_uuid in self.channels:
            return self.channels[name_or_uuid]
        wanted = name_or_uuid.strip().lstrip("#").casefold()
        found = [c for c in self.channels.values() if c.name.casefold() == wanted]
        return found[0] if len(found) == 1 else None

    def is_privileged(self, key: str) -> bool:
        """``IsPrivilegedMember`` (owner, admin, token master): who status-go lets delete any
        message for everyone (``Community.CanDeleteMessageForEveryone``)."""
        member = self.description.members.get(key)
        return member is not None and bool(
            set(member.roles) & {_ROLE_OWNER, _ROLE_ADMIN, _ROLE_TOKEN_MASTER}
        )

    def is_member(self, key: str) -> bool:
        return key in self.description.members

    def is_banned(self, key: str) -> bool:
        return key in self.description.ban_list or key in self.description.banned_members

    def is_control_node(self, key: str) -> bool:
        return key == self._control

    def _channel_members(self, uuid: str) -> dict[str, pb.CommunityMember] | None:
        chat = self.description.chats.get(uuid)
        if chat is None:
            return None
        # hydrateChannelsMembers: without token permissions the wire omits the channel's
        # members, and they are the community's.
        if not self._has_permissions(self.community_id + uuid):
            return dict(self.description.members)
        return dict(chat.members)

    def can_view(self, key: str, uuid: str) -> bool:
        """status-go ``Community.CanView``."""
        members = self._channel_members(uuid)
        if members is None:
            return False
        if self.is_control_node(key):
            return True
        if self.is_banned(key) or not self.is_member(key):
            return False
        return key in members

    def can_post(self, key: str, uuid: str, message_type: int) -> bool:
        """status-go ``Community.CanPost`` for an ApplicationMetadataMessage type."""
        if not self.can_view(key, uuid):
            return False
        member = (self._channel_members(uuid) or {}).get(key)
        role = member.channel_role if member is not None else 0
        if message_type == PIN_MESSAGE:
            roles = set(self.description.members[key].roles) if self.is_member(key) else set()
            privileged = bool(roles & {_ROLE_OWNER, _ROLE_ADMIN, _ROLE_TOKEN_MASTER})
            return privileged or self.is_control_node(key)
        if message_type == EMOJI_REACTION:
            chat = self.description.chats[uuid]
            return role != _VIEWER or chat.viewers_can_post_reactions
        return role != _VIEWER

    def membership(self, key: str, uuid: str | None, *, was_member: bool) -> Membership:
        """The bridge's state in one channel (``uuid`` None: the channel is not known)."""
        channel = self.channels.get(uuid) if uuid is not None else None
        if self.encrypted or (channel is not None and channel.encrypted):
            return Membership.TOKEN_GATED
        if self.is_banned(key):
            return Membership.BANNED
        if not self.is_member(key) and not self.is_control_node(key):
            return Membership.KICKED if was_member else Membership.UNKNOWN
        if uuid is not None and self.can_post(key, uuid, 1):
            return Membership.CAN_POST
        return Membership.MEMBER


def _app_message(payload: bytes) -> bytes:
    """The ApplicationMetadataMessage inside a description's Waku payload."""
    inner, _ = unwrap(payload)
    outer = proto_pb.ProtocolMessage()
    try:
        outer.ParseFromString(inner)
    except DecodeError:
        return inner
    if outer.public_message and outer.SerializeToString() == inner:
        public, _ = unwrap(outer.public_message)
        return public
    return inner


def parse_description(payload: bytes, community_id: str) -> CommunityView:
    """A verified description of ``community_id`` from a decrypted Waku payload (or from the
    stored ApplicationMetadataMessage); StatusDecodeError if it is not one, or not signed by
    the community key."""
    if len(payload) > _MAX_DESCRIPTION:
        raise StatusDecodeError("community description too large")
    raw = _app_message(payload)
    app = decode_application_message(raw)
    if app.message_type != COMMUNITY_DESCRIPTION:
        raise StatusDecodeError(f"not a community description (type {app.message_type})")
    expected = decompress_public_key(bytes.fromhex(community_id[2:]))
    if app.signer != expected:
        raise StatusDecodeError("community description not signed by the community key")
    description = pb.CommunityDescription()
    try:
        description.ParseFromString(app.payload)
    except DecodeError as exc:
        raise StatusDecodeError(f"malformed community description: {exc}") from exc
    if description.ID and description.ID.lower() != community_id:
        raise StatusDecodeError("community description names another community")
    _validate(description)
    return CommunityView(community_id, description, raw)


def _validate(description: pb.CommunityDescription) -> None:
    """status-go ``ValidateCommunityDescription`` (communities/validator.go): status-go refuses
    the whole description, so its members keep the previous one; the bridge does the same. (Its
    tag check cannot fail there: unknown tags are removed first.)"""
    unknown = pb.CommunityPermissions.Access.UNKNOWN_ACCESS
    if not description.HasField("permissions"):
        raise StatusDecodeError("invalid community description: no org permissions")
    if description.permissions.access == unknown:
        raise StatusDecodeError("invalid community description: unknown org access")
    for category in description.categories.values():
        if not category.category_id or not category.name:
            raise StatusDecodeError("invalid community description: category without id or name")
    for chat in description.chats.values():
        if not chat.HasField("permissions"):
            raise StatusDecodeError("invalid community description: no chat permissions")
        if chat.permissions.access == unknown:
            raise StatusDecodeError("invalid community description: unknown chat access")
        if chat.category_id and chat.category_id not in description.categories:
            raise StatusDecodeError("invalid community description: unknown chat category")
        if not chat.HasField("identity"):
            raise StatusDecodeError("invalid community description: chat identity")
        if any(key not in description.members for key in chat.members):
            raise StatusDecodeError("invalid community description: member in chat but not in org")


# --- joining ------------------------------------------------------------------------------


def request_id(signer65: bytes, community_id: str) -> bytes:
    """``CalculateRequestID``: keccak256 of ``"<0x04… signer>-<0x community id>"``."""
    return keccak256(f"{member_key(signer65)}-{community_id}".encode())


def revealed_account_signature(identity_key: bytes, community_id: str) -> bytes:
    """What the control node ``personal_ecRecover``s to the revealed address: EIP-191
    (``personal_sign``) over the 32-byte ``keccak256(compressed signer ‖ community id ‖
    request id)``, with ``v`` ∈ {27, 28}."""
    signer65 = public_key(identity_key)
    community = bytes.fromhex(community_id[2:])
    digest = keccak256(
        public_key(identity_key, compressed=True) + community + request_id(signer65, community_id)
    )
    prefixed = keccak256(b"\x19Ethereum Signed Message:\n32" + digest)
    signature = sign_recoverable(prefixed, identity_key)
    return signature[:64] + bytes([signature[64] + 27])


def build_request_to_join(
    identity_key: bytes, community_id: str, display_name: str, clock_s: int
) -> bytes:
    """An encoded CommunityRequestToJoin revealing the bridge's own address."""
    address = to_address(public_key(identity_key))
    request = pb.CommunityRequestToJoin(
        clock=clock_s,
        community_id=bytes.fromhex(community_id[2:]),
        display_name=display_name,
        revealed_accounts=[
            pb.RevealedAccount(
                address=address,
                signature=revealed_account_signature(identity_key, community_id),
                isAirdropAddress=True,
            )
        ],
    )
    return request.SerializeToString()
