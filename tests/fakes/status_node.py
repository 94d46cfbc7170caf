"""A Status community as status-go runs it: a control node that owns a community and members
that post in its channels and judge what they receive with status-go's own rules.

Written from status-go itself (commit c72f491324909173c83e69c5a86ace7aeb87daaa, the newest
snapshot the fetch tool serves, plus the newer ``pkg/messaging`` files named below as read
through the code index) and from nim-sds (commit 0dea35d3640ec6a600f485b37f9738e3a4f7efa0).
Every Status-level byte goes through the vendored .proto files in ``status_proto/``; nothing
here imports Parley's ``bridge.status`` or ``bridge.proto``. Only the Waku payload layer
(26/WAKU2-PAYLOAD framing, AES-GCM, ECIES) and secp256k1/keccak come from Parley's ``crypto``
package, which is checked against js-waku's vectors.

The two sides talk to a Waku node through its nwaku REST API, as any outside client would.

Where each rule comes from (status-go paths at c72f491 unless marked "newer"):

* content topic ``/waku/1/0x{keccak256(chat id)[:4]}/rfc26`` and symmetric key
  PBKDF2-SHA256(chat id, no salt, 65356 rounds): ``protocol/transport/topic.go``,
  ``wakuv2/waku.go`` ``AddSymKeyFromPassword``;
* chat ids: community id ``0x`` + compressed key, channel = community id + channel UUID,
  universal chat = community id + ``-memberUpdate`` (``community.go`` ``MemberUpdateChannelID``;
  newer ``UniversalChatIDFromCommunityID``), requests to the owner on the chat id
  ``hex(uncompressed community key)`` (no ``0x``), ECIES-encrypted to the community key
  (``transport.go`` ``SendCommunityMessage``);
* shards: default community shard ``/waku/2/rs/16/32``, non-protected ``/16/64`` for requests
  to join (``protocol/common/shard/shard.go``);
* layers, outermost first: WakuMessage v1 → payload signed by the sender's identity
  (``v1/status_message.go`` ``HandleTransportLayer`` fails without a signature) →
  ``ProtocolMessage.public_message`` (skipped for descriptions and requests to join:
  ``SkipEncryptionLayer``) → SDS (newer ``pkg/messaging/controller/sender/sender_public.go``,
  ``layers/reliability/sds.go``: wrapped after the application layer, unwrapped with a
  fallback to the plain payload) → ``ApplicationMetadataMessage`` signed over
  keccak256(payload) (``v1/message.go`` ``WrapMessageV1``) → ChatMessage, CommunityDescription…;
* message id = keccak256(uncompressed signer ‖ ApplicationMetadataMessage bytes)
  (``v1/message.go`` ``MessageID``);
* ``message_validator.go`` ``ValidateReceivedChatMessage``, ``common/utils.go``
  ``ValidateDisplayName``, ``messenger_handler.go`` ``matchChatEntity``,
  ``communities/community.go`` ``CanView``/``CanPost``/``ValidateRequestToJoin``,
  ``communities/manager.go`` ``HandleCommunityDescriptionMessage``/``HandleCommunityRequestToJoin``,
  ``communities/validator.go`` ``ValidateCommunityDescription``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiohttp
from google.protobuf.message import DecodeError

from crypto.keccak import keccak256
from crypto.keys import (
    InvalidSignatureError,
    decompress_public_key,
    public_key,
    recover_public_key,
    sign_recoverable,
    to_address,
)
from crypto.payload import (
    DecryptionError,
    decode_payload_v1,
    ecies_decrypt,
    encrypt_asymmetric,
    encrypt_symmetric,
    gcm_decrypt,
)
from tests.fakes.status_proto import (
    application_metadata_message_pb2 as amm_pb,
)
from tests.fakes.status_proto import (
    chat_identity_pb2,
    chat_message_pb2,
    communities_pb2,
    emoji_reaction_pb2,
    enums_pb2,
    protocol_message_pb2,
    sds_pb2,
)

__all__ = [
    "DEFAULT_SHARD",
    "NON_PROTECTED_SHARD",
    "AppType",
    "Community",
    "ControlNode",
    "Member",
    "Opened",
    "RestWaku",
    "StatusDrop",
    "WireMessage",
    "channel_chat_id",
    "community_link",
    "content_topic",
    "deserialize_compressed_key",
    "message_id",
    "open_message",
    "pubkey_hex",
    "serialize_compressed_key",
    "sym_key",
    "universal_chat_id",
    "validate_display_name",
    "validate_received_chat_message",
]

DEFAULT_SHARD = "/waku/2/rs/16/32"
NON_PROTECTED_SHARD = "/waku/2/rs/16/64"
# wakuv2/shard.go (newer): defined, but nothing in the code index sends on them yet.
GLOBAL_CONTROL_SHARD = "/waku/2/rs/16/128"
GLOBAL_CONTENT_SHARD = "/waku/2/rs/16/256"
ALL_SHARDS = (DEFAULT_SHARD, NON_PROTECTED_SHARD, GLOBAL_CONTROL_SHARD, GLOBAL_CONTENT_SHARD)

AppType = amm_pb.ApplicationMetadataMessage.Type
ChatMessage = chat_message_pb2.ChatMessage
CommunityDescription = communities_pb2.CommunityDescription

# message_validator.go
_MAX_CHAT_TEXT = 4096
_MAX_FUTURE_DRIFT_MS = 120_000
# request_to_join.go AddTimeoutToRequestToJoinClock: seven days, on a clock in Unix seconds.
_REQUEST_TIMEOUT_S = 7 * 24 * 3600


class StatusDrop(Exception):
    """status-go would drop this message; ``reason`` is its error text (or the step)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- ids, topics, keys --------------------------------------------------------------------


def pubkey_hex(pub: bytes) -> str:
    """common.PubkeyToHex: ``0x`` + the 65-byte uncompressed key, the member-map key."""
    return "0x" + decompress_public_key(pub).hex()


def community_id_string(community_pub: bytes) -> str:
    return "0x" + public_key_compressed(community_pub).hex()


def public_key_compressed(pub: bytes) -> bytes:
    full = decompress_public_key(pub)
    x, y = full[1:33], full[33:]
    return bytes((2 + (y[-1] & 1),)) + x


def channel_chat_id(community_id: str, channel_uuid: str) -> str:
    return community_id + channel_uuid


def universal_chat_id(community_id: str) -> str:
    return community_id + "-memberUpdate"


def request_chat_id(community_pub: bytes) -> str:
    """PubkeyToHex(community key)[2:]: where requests to the control node go."""
    return decompress_public_key(community_pub).hex()


def content_topic(chat_id: str) -> str:
    return "/waku/1/0x" + keccak256(chat_id.encode())[:4].hex() + "/rfc26"


@lru_cache(maxsize=64)
def sym_key(chat_id: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", chat_id.encode(), b"", 65356, 32)


def message_id(signer: bytes, amm_bytes: bytes) -> bytes:
    return keccak256(decompress_public_key(signer) + amm_bytes)


# --- shared links (protocol/messenger_share_urls.go, utils.SerializePublicKey) --------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SECP256K1_PUB_MULTICODEC = b"\xe7\x01"


def _b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def serialize_compressed_key(compressed: bytes) -> str:
    """multibase base58btc ("z") of multicodec secp256k1-pub ‖ key: the ``zQ3…`` form."""
    return "z" + _b58encode(_SECP256K1_PUB_MULTICODEC + compressed)


def deserialize_compressed_key(text: str) -> bytes:
    if not text.startswith("z"):
        raise ValueError("not a base58btc multibase key")
    raw = _b58decode(text[1:])
    if not raw.startswith(_SECP256K1_PUB_MULTICODEC) or len(raw) != 35:
        raise ValueError("not a compressed secp256k1 public key")
    return raw[2:]


def community_link(community_id: str, channel_uuid: str | None = None) -> str:
    key = serialize_compressed_key(bytes.fromhex(community_id[2:]))
    if channel_uuid is None:
        return f"https://status.app/c#{key}"
    return f"https://status.app/cc/{channel_uuid}#{key}"


# --- validation rules ----------------------------------------------------------------------

# Go's RE2 classes: \w is ASCII [0-9A-Za-z_], \s is [\t\n\f\r ] (no \v), "-" here is literal.
_DISPLAY_NAME = re.compile(r"[0-9A-Za-z_\-\t\n\f\r ]{5,24}")
_DISPLAY_NAME_EXT = ("_eth", ".eth", "-eth")


@lru_cache(maxsize=1)
def _alias_words() -> tuple[frozenset[str], frozenset[str]]:
    """The three-word alias vocabulary, read from the vendored protocol/identity/alias/data.go."""
    text = (Path(__file__).parent / "status_proto" / "alias_data.go.txt").read_text()
    blocks = dict(re.findall(r"var (\w+) = \[\.\.\.\]string\{(.*?)\n\}", text, re.DOTALL))
    animals = frozenset(re.findall(r'"([^"]*)"', blocks["animals"]))
    adjectives = frozenset(re.findall(r'"([^"]*)"', blocks["adjectives"]))
    return adjectives, animals


def _go_title(word: str) -> str:
    # strings.Title upper-cases the first letter of each word; the rest is kept.
    return word[:1].upper() + word[1:]


def is_alias(name: str) -> bool:
    parts = name.split()
    if len(parts) != 3:
        return False
    adjectives, animals = _alias_words()
    return (
        _go_title(parts[0]) in adjectives
        and _go_title(parts[1]) in adjectives
        and _go_title(parts[2]) in animals
    )


def validate_display_name(display_name: str) -> str:
    """common/utils.go ValidateDisplayName; returns the trimmed name or raises StatusDrop."""
    name = display_name.strip(" \t\n\r\v\f\x85\xa0")
    if name == "":
        return name
    if _DISPLAY_NAME.fullmatch(name) is None:
        raise StatusDrop("only letters, numbers, underscores and hyphens allowed")
    if name.endswith(_DISPLAY_NAME_EXT):
        raise StatusDrop('usernames ending with "eth" are not allowed')
    if is_alias(name):
        raise StatusDrop("name is not allowed")
    return name


def _validate_clock(clock: int, whisper_timestamp_ms: int) -> None:
    if clock == 0:
        raise StatusDrop("clock can't be 0")
    if clock > whisper_timestamp_ms and clock - whisper_timestamp_ms > _MAX_FUTURE_DRIFT_MS:
        raise StatusDrop("clock value too high")


def validate_received_chat_message(message: Any, whisper_timestamp_ms: int) -> None:
    """message_validator.go ValidateReceivedChatMessage (its checks in its order)."""
    ct = ChatMessage.ContentType
    _validate_clock(message.clock, whisper_timestamp_ms)
    if message.timestamp == 0:
        raise StatusDrop("timestamp can't be 0")
    _validate_chat_text(message)
    if message.chat_id == "":
        raise StatusDrop("chatId can't be empty")
    if message.message_type in (
        enums_pb2.UNKNOWN_MESSAGE_TYPE,
        enums_pb2.SYSTEM_MESSAGE_PRIVATE_GROUP,
    ):
        raise StatusDrop("unknown message type")
    if message.content_type == ct.UNKNOWN_CONTENT_TYPE:
        raise StatusDrop("unknown content type")
    if message.content_type == ct.TRANSACTION_COMMAND:
        raise StatusDrop("can't receive request address for transaction from others")
    if message.content_type == ct.BRIDGE_MESSAGE:
        _validate_bridge_message(message)
    _validate_media(message)
    if message.content_type in (
        ct.SYSTEM_MESSAGE_CONTENT_PRIVATE_GROUP,
        ct.SYSTEM_MESSAGE_MUTUAL_EVENT_SENT,
        ct.SYSTEM_MESSAGE_MUTUAL_EVENT_ACCEPTED,
        ct.SYSTEM_MESSAGE_MUTUAL_EVENT_REMOVED,
    ):
        raise StatusDrop("system message content type not allowed")
    validate_display_name(message.display_name)


def _validate_chat_text(message: Any) -> None:
    ct = ChatMessage.ContentType
    if message.content_type not in (ct.DISCORD_MESSAGE, ct.BRIDGE_MESSAGE) and (
        message.content_type != ct.IMAGE or message.text != ""
    ):
        if message.text.strip() == "":
            raise StatusDrop("text can't be empty")
        if len(message.text) > _MAX_CHAT_TEXT:
            raise StatusDrop(f"text shouldn't be longer than {_MAX_CHAT_TEXT}")


def _validate_bridge_message(message: Any) -> None:
    if message.WhichOneof("payload") != "bridge_message":
        raise StatusDrop("no bridge message content")
    bridged = message.bridge_message
    if not bridged.userName:
        raise StatusDrop("no username")
    if not bridged.bridgeName:
        raise StatusDrop("no bridge name")
    if not bridged.content:
        raise StatusDrop("no bridge message content text")


def _validate_media(message: Any) -> None:
    """The sticker, image and audio checks, in ValidateReceivedChatMessage's order."""
    ct = ChatMessage.ContentType
    if message.content_type == ct.STICKER and (
        message.WhichOneof("payload") != "sticker" or not message.sticker.hash
    ):
        raise StatusDrop("no sticker content")
    if message.content_type == ct.IMAGE and (
        message.WhichOneof("payload") != "image" or not message.image.payload
    ):
        raise StatusDrop("no image content")
    if message.content_type == ct.IMAGE and message.image.format == enums_pb2.UNKNOWN_IMAGE_FORMAT:
        raise StatusDrop("image type unknown")
    if message.content_type == ct.AUDIO and (
        message.WhichOneof("payload") != "audio" or not message.audio.payload
    ):
        raise StatusDrop("no audio content")
    if (
        message.content_type == ct.AUDIO
        and message.audio.type == chat_message_pb2.AudioMessage.UNKNOWN_AUDIO_TYPE
    ):
        raise StatusDrop("audio type unknown")


def validate_received_emoji_reaction(reaction: Any, whisper_timestamp_ms: int) -> None:
    _validate_clock(reaction.clock, whisper_timestamp_ms)
    if not reaction.message_id:
        raise StatusDrop("message-id can't be empty")
    if not reaction.chat_id:
        raise StatusDrop("chat-id can't be empty")
    if reaction.type == emoji_reaction_pb2.EmojiReaction.UNKNOWN_EMOJI_REACTION_TYPE:
        raise StatusDrop("unknown emoji reaction type")
    if reaction.message_type == enums_pb2.UNKNOWN_MESSAGE_TYPE:
        raise StatusDrop("unknown message type")


def validate_community_description(desc: Any) -> None:
    """communities/validator.go ValidateCommunityDescription."""
    if not desc.HasField("permissions"):
        raise StatusDrop("invalid community description: no org permissions")
    if desc.permissions.access == communities_pb2.CommunityPermissions.UNKNOWN_ACCESS:
        raise StatusDrop("invalid community description: unknown org access")
    for category in desc.categories.values():
        if not category.category_id or not category.name:
            raise StatusDrop("invalid community category")
    for chat in desc.chats.values():
        if not chat.HasField("permissions"):
            raise StatusDrop("invalid community description: no chat permissions")
        if chat.permissions.access == communities_pb2.CommunityPermissions.UNKNOWN_ACCESS:
            raise StatusDrop("invalid community description: unknown chat access")
        if chat.category_id and chat.category_id not in desc.categories:
            raise StatusDrop("invalid community description: unknown chat category")
        if not chat.HasField("identity"):
            raise StatusDrop("invalid community description: chat identity")
        for pk in chat.members:
            if pk not in desc.members:
                raise StatusDrop("invalid community description: member in chat but not in org")


# --- SDS (nim-sds sds/protobuf.nim, sds.nim) -------------------------------------------------


@dataclasses.dataclass
class SdsChannel:
    """One sender's SDS state for a channel: its Lamport clock and recent history."""

    lamport: int = 0
    history: list[str] = dataclasses.field(default_factory=list)


def sds_wrap(content: bytes, message_id_text: str, channel_id: str, state: SdsChannel) -> bytes:
    """ReliabilityManager.wrapOutgoingMessage: lamport = max(now in s, last + 1) (updateLamport
    Timestamp), the last ten ids as causal history, and the sender's serialized bloom filter."""
    if not content:
        raise ValueError("nim-sds refuses an empty message")
    state.lamport = max(int(time.time()), state.lamport + 1)
    bloom = sds_pb2.BloomFilter(
        int_array=b"\0" * 8 * 60,
        capacity=10000,
        error_rate_millionths=1000,
        k_hashes=7,
        m_bits=480,
    )
    wrapped = sds_pb2.SdsMessage(
        message_id=message_id_text,
        lamport_timestamp=state.lamport,
        causal_history=[sds_pb2.HistoryEntry(message_id=m) for m in state.history[-10:]],
        channel_id=channel_id,
        content=content,
        bloom_filter=bloom.SerializeToString(),
    )
    state.history.append(message_id_text)
    return wrapped.SerializeToString()


def sds_unwrap(data: bytes) -> Any | None:
    """The SdsMessage in ``data`` if nim-sds would accept it, else None (status-go then uses
    the bytes as they are: UnwrapPayloadFromSDS "wrapping is not mandatory")."""
    message: Any
    try:
        message = sds_pb2.SdsMessage.FromString(data)
    except DecodeError:
        # protobuf.nim: "Handle both old and new causal history formats".
        try:
            message = sds_pb2.LegacySdsMessage.FromString(data)
        except DecodeError:
            return None
    for name in ("message_id", "lamport_timestamp", "channel_id", "content"):
        if not message.HasField(name):
            return None
    return message


# --- the wire ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WireMessage:
    """A WakuMessage as the nwaku REST API carries it."""

    payload: bytes
    content_topic: str
    timestamp: int
    version: int = 1
    ephemeral: bool = False
    meta: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "payload": base64.b64encode(self.payload).decode(),
            "contentTopic": self.content_topic,
            "version": self.version,
            "timestamp": self.timestamp,
            "ephemeral": self.ephemeral,
        }
        if self.meta is not None:
            body["meta"] = base64.b64encode(self.meta).decode()
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> WireMessage:
        meta = body.get("meta")
        return cls(
            payload=base64.b64decode(body["payload"]),
            content_topic=body["contentTopic"],
            timestamp=int(body.get("timestamp") or 0),
            version=int(body.get("version") or 0),
            ephemeral=bool(body.get("ephemeral", False)),
            meta=base64.b64decode(meta) if meta else None,
        )


def wrap_v1(payload: bytes, app_type: int, signing_key: bytes) -> bytes:
    """v1/message.go WrapMessageV1."""
    signature = sign_recoverable(keccak256(payload), signing_key)
    return amm_pb.ApplicationMetadataMessage(
        signature=signature, payload=payload, type=AppType.ValueType(app_type)
    ).SerializeToString()


def public_protocol_message(payload: bytes, installation_id: str) -> bytes:
    """encryption/protocol.go BuildPublicMessage."""
    return protocol_message_pb2.ProtocolMessage(
        installation_id=installation_id, public_message=payload
    ).SerializeToString()


@dataclasses.dataclass(frozen=True)
class Opened:
    """A message taken apart layer by layer, as status-go's MessageSender.handleMessage does."""

    pubsub_topic: str
    wire: WireMessage
    transport_signer: bytes
    protocol: Any | None  # ProtocolMessage, when the encryption layer parsed
    sds: Any | None  # SdsMessage, when SDS-wrapped
    amm_bytes: bytes
    app_type: int
    app_payload: bytes
    signer: bytes  # SigPubKey(): the application-layer signer
    message_id: bytes

    @property
    def message_id_hex(self) -> str:
        return "0x" + self.message_id.hex()

    @property
    def whisper_timestamp_ms(self) -> int:
        # messenger.go: uint64(Timestamp) * 1000, and the envelope keeps whole seconds.
        return (self.wire.timestamp // 1_000_000_000) * 1000


def _recover_go(hash32: bytes, signature: bytes) -> bytes:
    """go-ethereum crypto.SigToPub: 65 bytes with v in {0, 1} (27/28 are refused)."""
    if len(signature) != 65 or signature[64] > 1:
        raise StatusDrop("invalid signature recovery id")
    try:
        return recover_public_key(hash32, signature)
    except InvalidSignatureError as exc:
        raise StatusDrop(f"invalid signature: {exc}") from None


def _open_waku(wire: WireMessage, key: bytes | None, private_key: bytes | None) -> bytes:
    """The transport layer: decrypt, require a signature, return (payload, signer)."""
    if wire.version != 1:
        raise StatusDrop(f"waku payload version {wire.version}")
    try:
        if key is not None:
            plaintext = gcm_decrypt(wire.payload, key)
        elif private_key is not None:
            plaintext = ecies_decrypt(wire.payload, private_key)
        else:
            raise StatusDrop("no key for this topic")
    except DecryptionError as exc:
        raise StatusDrop(f"undecryptable: {exc}") from None
    if not plaintext or not plaintext[0] & 0x04:
        raise StatusDrop("failed to get signature")  # HandleTransportLayer: no Sig
    return plaintext


def open_message(
    pubsub_topic: str,
    wire: WireMessage,
    *,
    key: bytes | None = None,
    private_key: bytes | None = None,
    sds: bool = True,
) -> Opened:
    """Run status-go's receive pipeline down to the application layer, or raise StatusDrop.
    ``sds=False`` is status-go up to c72f491, which has no SDS layer."""
    plaintext = _open_waku(wire, key, private_key)
    signature = plaintext[-65:]
    transport_signer = _recover_go(keccak256(plaintext[:-65]), signature)
    try:
        payload = decode_payload_v1(plaintext).payload
    except (DecryptionError, ValueError) as exc:
        raise StatusDrop(f"bad waku payload: {exc}") from None
    # Encryption layer: a ProtocolMessage with public_message, else the payload as it is
    # (MessageSender.handleMessage goes on after a failed encryption layer).
    protocol = None
    try:
        parsed = protocol_message_pb2.ProtocolMessage.FromString(payload)
        if parsed.public_message:
            protocol = parsed
            payload = parsed.public_message
    except DecodeError:
        pass
    wrapped = sds_unwrap(payload) if sds else None
    if wrapped is not None:
        payload = wrapped.content
    try:
        amm = amm_pb.ApplicationMetadataMessage.FromString(payload)
    except DecodeError:
        raise StatusDrop("failed to unmarshal ApplicationMetadataMessage") from None
    if not amm.signature:
        raise StatusDrop("application layer message is not signed")
    signer = _recover_go(keccak256(amm.payload), amm.signature)
    return Opened(
        pubsub_topic=pubsub_topic,
        wire=wire,
        transport_signer=transport_signer,
        protocol=protocol,
        sds=wrapped,
        amm_bytes=payload,
        app_type=amm.type,
        app_payload=amm.payload,
        signer=signer,
        message_id=message_id(signer, payload),
    )


def seal(
    payload: bytes,
    chat_id: str,
    identity_key: bytes,
    *,
    recipient: bytes | None = None,
    timestamp_ns: int | None = None,
) -> WireMessage:
    """wakuv2 Post: version 1, signed by the node identity, symmetric for public chats or
    ECIES to ``recipient`` (SendCommunityMessage)."""
    if recipient is None:
        sealed = encrypt_symmetric(payload, sym_key(chat_id), identity_key)
    else:
        sealed = encrypt_asymmetric(payload, decompress_public_key(recipient), identity_key)
    return WireMessage(sealed, content_topic(chat_id), timestamp_ns or time.time_ns())


# --- the REST client ---------------------------------------------------------------------


class RestWaku:
    """A minimal nwaku REST client (relay subscribe/publish/poll, store v3).

    Polling drains the node's REST cache, so participants sharing one endpoint read through
    ``fetch``/``since``: every message polled is kept in a log, and each reader has a cursor.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None
        self.log: dict[str, list[WireMessage]] = {}

    async def fetch(self, pubsub_topic: str) -> list[WireMessage]:
        """Poll ``pubsub_topic`` into the log; return the whole log of that topic."""
        log = self.log.setdefault(pubsub_topic, [])
        log.extend(await self.poll(pubsub_topic))
        return log

    async def __aenter__(self) -> RestWaku:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    @staticmethod
    def _quote(topic: str) -> str:
        return urllib.parse.quote(topic, safe="")

    async def subscribe(self, topics: Sequence[str]) -> None:
        async with self.session.post(
            f"{self.base_url}/relay/v1/subscriptions", json=list(topics)
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"subscribe: {response.status} {await response.text()}")

    async def publish(self, pubsub_topic: str, message: WireMessage) -> None:
        url = f"{self.base_url}/relay/v1/messages/{self._quote(pubsub_topic)}"
        async with self.session.post(url, json=message.to_json()) as response:
            if response.status != 200:
                raise RuntimeError(f"publish: {response.status} {await response.text()}")

    async def poll(self, pubsub_topic: str) -> list[WireMessage]:
        url = f"{self.base_url}/relay/v1/messages/{self._quote(pubsub_topic)}"
        async with self.session.get(url) as response:
            if response.status != 200:
                raise RuntimeError(f"poll: {response.status} {await response.text()}")
            body = await response.json()
        return [WireMessage.from_json(item) for item in body]

    async def store(
        self, pubsub_topic: str, content_topics: Iterable[str], *, limit: int = 100
    ) -> list[WireMessage]:
        params = {
            "includeData": "true",
            "pubsubTopic": pubsub_topic,
            "contentTopics": ",".join(content_topics),
            "pageSize": str(limit),
            "ascending": "true",
        }
        async with self.session.get(f"{self.base_url}/store/v3/messages", params=params) as r:
            if r.status != 200:
                raise RuntimeError(f"store: {r.status} {await r.text()}")
            body = json.loads(await r.text())
        return [WireMessage.from_json(item["message"]) for item in body.get("messages", [])]


# --- the community ------------------------------------------------------------------------


@dataclasses.dataclass
class Community:
    """A member's (or the control node's) view of one community: community.go's rules."""

    community_pub: bytes  # the community key: its compressed form is the id
    description: Any = dataclasses.field(default_factory=CommunityDescription)
    raw_description: bytes = b""

    @property
    def id(self) -> str:
        return community_id_string(self.community_pub)

    @property
    def control_node(self) -> bytes:
        # Config.ControlNode defaults to the community key (no token ownership here).
        return decompress_public_key(self.community_pub)

    def chat_id(self, channel_uuid: str) -> str:
        return channel_chat_id(self.id, channel_uuid)

    def channel_uuid_of(self, chat_id: str) -> str | None:
        if not chat_id.startswith(self.id):
            return None
        rest = chat_id[len(self.id) :]
        return rest if rest in self.description.chats else None

    def is_banned(self, pub: bytes) -> bool:
        key = pubkey_hex(pub)
        return key in self.description.ban_list or key in self.description.banned_members

    def is_member(self, pub: bytes) -> bool:
        return pubkey_hex(pub) in self.description.members

    def encrypted(self) -> bool:
        """community.go Encrypted(): a BECOME_MEMBER token permission exists."""
        perm = communities_pb2.CommunityTokenPermission
        permissions = self.description.token_permissions.values()
        return any(p.type == perm.BECOME_MEMBER for p in permissions)

    def channel_encrypted(self, channel_uuid: str) -> bool:
        """community.go channelEncrypted: some permission names the channel, and none is a
        CAN_VIEW_CHANNEL without token criteria (viewable by everyone)."""
        chat_id = self.chat_id(channel_uuid)
        perm = communities_pb2.CommunityTokenPermission
        named = [p for p in self.description.token_permissions.values() if chat_id in p.chat_ids]
        everyone = any(p.type == perm.CAN_VIEW_CHANNEL and not p.token_criteria for p in named)
        return bool(named) and not everyone

    def can_view(self, pub: bytes, channel_uuid: str) -> bool:
        chat = self.description.chats.get(channel_uuid)
        if chat is None:
            return False
        if decompress_public_key(pub) == self.control_node:
            return True
        if self.is_banned(pub):
            return False
        if pubkey_hex(pub) not in self.description.members:
            return False
        return pubkey_hex(pub) in chat.members

    def can_post(self, pub: bytes, channel_uuid: str, app_type: int) -> bool:
        """community.go CanPost."""
        if not self.can_view(pub, channel_uuid):
            return False
        chat = self.description.chats[channel_uuid]
        member = chat.members.get(pubkey_hex(pub))
        role = member.channel_role if member is not None else 0
        poster = communities_pb2.CommunityMember.CHANNEL_ROLE_POSTER
        viewer = communities_pb2.CommunityMember.CHANNEL_ROLE_VIEWER
        if app_type == AppType.PIN_MESSAGE:
            return self._privileged(pub) or bool(
                self.description.admin_settings.pin_message_all_members_enabled
            )
        if app_type == AppType.EMOJI_REACTION:
            return role == poster or (role == viewer and chat.viewers_can_post_reactions)
        return role == poster

    def privileged(self, pub: bytes) -> bool:
        """IsPrivilegedMember (owner, admin, token master) or the control node."""
        return self._privileged(pub) or decompress_public_key(pub) == self.control_node

    def _privileged(self, pub: bytes) -> bool:
        member = self.description.members.get(pubkey_hex(pub))
        roles = communities_pb2.CommunityMember
        return member is not None and any(
            r in (roles.ROLE_OWNER, roles.ROLE_ADMIN, roles.ROLE_TOKEN_MASTER) for r in member.roles
        )

    def accept_description(self, opened: Opened) -> bool:
        """manager.go HandleCommunityDescriptionMessage for a community we know by id: the
        signer must be the control node, the clock not older, the description valid. Returns
        whether it was taken (raises StatusDrop with status-go's reason otherwise)."""
        if opened.app_type != AppType.COMMUNITY_DESCRIPTION:
            raise StatusDrop("not a community description")
        desc = CommunityDescription.FromString(opened.app_payload)
        if desc.ID and self.id != desc.ID:
            raise StatusDrop("description of another community")
        if opened.signer != self.control_node:
            raise StatusDrop("not authorized")  # ErrNotAuthorized
        validate_community_description(desc)
        if desc.clock < self.description.clock:
            raise StatusDrop("clock for community description is outdated")
        _hydrate(desc)
        self.description = desc
        self.raw_description = opened.amm_bytes
        return True


def _channel_has_permissions(desc: Any, chat_id: str) -> bool:
    """community.go channelHasPermissions: any token permission naming the channel."""
    return any(chat_id in p.chat_ids for p in desc.token_permissions.values())


def _hydrate(desc: Any) -> None:
    """manager.go preprocessDescription → hydrateChannelsMembers."""
    for channel_uuid, chat in desc.chats.items():
        if not _channel_has_permissions(desc, desc.ID + channel_uuid):
            chat.members.clear()
            for pk, member in desc.members.items():
                chat.members[pk].CopyFrom(member)


def _dehydrate(desc: Any) -> None:
    """community.go dehydrateChannelsMembers: channel members are not sent when the channel has
    no permissions (receivers copy the community's members in)."""
    for channel_uuid, chat in desc.chats.items():
        if not _channel_has_permissions(desc, desc.ID + channel_uuid):
            chat.members.clear()


# --- the control node ---------------------------------------------------------------------


@dataclasses.dataclass
class JoinRequest:
    signer: bytes
    request: Any
    state: str  # "pending", "declined", "accepted", "rejected: <reason>"
    opened: Opened


class ControlNode:
    """The owner's device: holds the community key, signs and publishes descriptions and
    handles requests to join like manager.go does."""

    def __init__(
        self,
        waku: RestWaku,
        *,
        community_key: bytes,
        owner_key: bytes,
        name: str = "Parley Friends",
        access: int = communities_pb2.CommunityPermissions.MANUAL_ACCEPT,
    ) -> None:
        self.waku = waku
        self.community_key = community_key
        self.owner_key = owner_key
        self.community = Community(public_key(community_key))
        desc = self.community.description
        desc.ID = self.community.id
        desc.clock = 1
        desc.permissions.access = access
        desc.identity.display_name = name
        desc.identity.description = "a community run by the test's fake control node"
        # CreateCommunity makes the owner a member with ROLE_OWNER.
        owner = desc.members[pubkey_hex(public_key(owner_key))]
        owner.roles.append(communities_pb2.CommunityMember.ROLE_OWNER)
        self.channels: dict[str, str] = {}  # name -> uuid
        self.requests: list[JoinRequest] = []
        self.sds = SdsChannel()
        self.published: list[WireMessage] = []
        self._request_cursor = 0

    @property
    def id(self) -> str:
        return self.community.id

    @property
    def description(self) -> Any:
        return self.community.description

    def add_channel(self, name: str, *, channel_uuid: str | None = None) -> str:
        channel_uuid = channel_uuid or str(uuid.uuid4())
        chat = self.description.chats[channel_uuid]
        chat.permissions.access = communities_pb2.CommunityPermissions.AUTO_ACCEPT
        chat.identity.CopyFrom(chat_identity_pb2.ChatIdentity(display_name=name))
        chat.position = len(self.channels)
        self.channels[name] = channel_uuid
        self._bump()
        return channel_uuid

    def add_member(self, pub: bytes, *, viewer_in: Iterable[str] = ()) -> None:
        """Accept someone (AcceptRequestToJoin: AddMember, and into every open channel)."""
        key = pubkey_hex(pub)
        self.description.members[key].CopyFrom(communities_pb2.CommunityMember())
        self.description.banned_members.pop(key, None)
        for channel_uuid in self.description.chats:
            member = self.description.chats[channel_uuid].members[key]
            roles = communities_pb2.CommunityMember
            viewer = channel_uuid in viewer_in
            member.channel_role = roles.CHANNEL_ROLE_VIEWER if viewer else roles.CHANNEL_ROLE_POSTER
        self._bump()

    def remove_member(self, pub: bytes) -> None:
        key = pubkey_hex(pub)
        self.description.members.pop(key, None)
        for chat in self.description.chats.values():
            chat.members.pop(key, None)
        self._bump()

    def ban(self, pub: bytes) -> None:
        self.remove_member(pub)
        self.description.banned_members[pubkey_hex(pub)].CopyFrom(
            communities_pb2.CommunityBanInfo()
        )
        self._bump()

    def gate_with_token(self) -> None:
        perm = self.description.token_permissions["gate"]
        perm.id = "gate"
        perm.type = communities_pb2.CommunityTokenPermission.BECOME_MEMBER
        perm.token_criteria.add(symbol="PRL", amountInWei="1")
        self._bump()

    def _bump(self) -> None:
        self.description.clock += 1

    # -- publishing ------------------------------------------------------------------------

    def description_amm(self) -> bytes:
        """community.go marshaledDescription + WrapMessageV1 with the community key."""
        clone = CommunityDescription()
        clone.CopyFrom(self.description)
        _dehydrate(clone)
        return wrap_v1(clone.SerializeToString(), AppType.COMMUNITY_DESCRIPTION, self.community_key)

    def description_message(
        self, *, sds: bool = False, timestamp_ns: int | None = None
    ) -> WireMessage:
        """messenger_communities.go publishOrg: no encryption layer, on the community id's
        topic and key, the Waku layer signed by the owner's identity; SDS when ``sds``."""
        payload = self.description_amm()
        if sds:
            sds_id = "0x" + keccak256(payload).hex()
            payload = sds_wrap(payload, sds_id, self.id, self.sds)
        return seal(payload, self.id, self.owner_key, timestamp_ns=timestamp_ns)

    async def publish_description(self, *, sds: bool = False) -> WireMessage:
        message = self.description_message(sds=sds)
        await self.waku.publish(DEFAULT_SHARD, message)
        self.published.append(message)
        return message

    # -- requests to join -------------------------------------------------------------------

    @property
    def request_topic(self) -> str:
        return content_topic(request_chat_id(self.community.community_pub))

    async def poll_requests(self) -> list[JoinRequest]:
        """Read requests to join from the non-protected shard."""
        found = []
        log = await self.waku.fetch(NON_PROTECTED_SHARD)
        fresh, self._request_cursor = log[self._request_cursor :], len(log)
        for wire in fresh:
            if wire.content_topic != self.request_topic:
                continue
            found.append(self.handle_request_message(wire))
        return found

    def handle_request_message(self, wire: WireMessage) -> JoinRequest:
        try:
            opened = open_message(NON_PROTECTED_SHARD, wire, private_key=self.community_key)
        except StatusDrop as exc:
            raise StatusDrop(f"request to join unreadable: {exc.reason}") from None
        if opened.app_type != AppType.COMMUNITY_REQUEST_TO_JOIN:
            raise StatusDrop(f"not a request to join: type {opened.app_type}")
        request = communities_pb2.CommunityRequestToJoin.FromString(opened.app_payload)
        state = self.validate_request(opened.signer, request)
        entry = JoinRequest(opened.signer, request, state, opened)
        self.requests.append(entry)
        return entry

    def validate_request(self, signer: bytes, request: Any, now_s: int | None = None) -> str:
        """community.go ValidateRequestToJoin + manager.go HandleCommunityRequestToJoin."""
        now_s = int(time.time()) if now_s is None else now_s
        community = self.community
        if request.community_id != bytes.fromhex(community.id[2:]):
            return "rejected: community not found"
        if len(request.revealed_accounts) == 0:
            return "rejected: no addresses revealed"
        access = self.description.permissions.access
        if self.description.permissions.ens_only and not request.ens_name:
            return "rejected: can't request access"
        if request.chat_id:
            return "rejected: requests for a chat are not handled by this fake"
        cp = communities_pb2.CommunityPermissions
        if access not in (cp.MANUAL_ACCEPT, cp.AUTO_ACCEPT):
            return "rejected: can't request access"
        if community.is_banned(signer):
            return "rejected: can't request access"
        if now_s >= request.clock + _REQUEST_TIMEOUT_S:
            return "rejected: request is expired"
        request_id = keccak256(f"{pubkey_hex(signer)}-{community.id}".encode())
        challenge = keccak256(
            public_key_compressed(signer) + bytes.fromhex(community.id[2:]) + request_id
        )
        for account in request.revealed_accounts:
            try:
                recovered = personal_ec_recover(challenge, account.signature)
            except StatusDrop as exc:
                return f"rejected: {exc.reason}"
            if recovered.lower() != account.address.lower():
                return "declined"  # RequestToJoinStateDeclined: ownership not proven
        if access == cp.AUTO_ACCEPT or community.is_member(signer):
            self.add_member(signer)
            return "accepted"
        return "pending"

    def accept(self, request: JoinRequest) -> None:
        self.add_member(request.signer)
        request.state = "accepted"

    def decline(self, request: JoinRequest) -> None:
        request.state = "declined"


def personal_ec_recover(data: bytes, signature: bytes) -> str:
    """go-ethereum PersonalAccountAPI.EcRecover, which status-go's control node calls through
    personal_ecRecover: 65 bytes, v must be 27 or 28, EIP-191 text hash of the data."""
    if len(signature) != 65:
        raise StatusDrop("signature must be 65 bytes long")
    if signature[64] not in (27, 28):
        raise StatusDrop("invalid Ethereum signature (V is not 27 or 28)")
    normal = signature[:64] + bytes((signature[64] - 27,))
    digest = keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)
    try:
        return to_address(recover_public_key(digest, normal))
    except InvalidSignatureError as exc:
        raise StatusDrop(f"invalid signature: {exc}") from None


def personal_sign(data: bytes, private_key: bytes) -> bytes:
    """What a Status wallet produces for a join request (personal_sign: v = 27/28)."""
    digest = keccak256(b"\x19Ethereum Signed Message:\n" + str(len(data)).encode() + data)
    signature = sign_recoverable(digest, private_key)
    return signature[:64] + bytes((signature[64] + 27,))


# --- a member -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Verdict:
    opened: Opened | None
    reason: str  # "" when status-go would show it
    content: Any | None = None  # ChatMessage / EmojiReaction / EditMessage / DeleteMessage

    @property
    def shown(self) -> bool:
        return self.reason == ""


class Member:
    """A Status app user in the community: posts like status-go and judges what it receives."""

    def __init__(
        self,
        waku: RestWaku,
        *,
        key: bytes,
        community_pub: bytes,
        display_name: str = "Alice Status",
        installation_id: str | None = None,
        pre_sds: bool = False,
    ) -> None:
        """``pre_sds``: a 2024 client (status-go c72f491): no SDS layer, and per-channel topics
        rather than the universal one for channel messages (it still has the member-update
        filter, so it hears the universal topic but cannot read SDS there)."""
        self.waku = waku
        self.key = key
        self.pub = public_key(key)
        self.display_name = display_name
        self.installation_id = installation_id or str(uuid.uuid4())
        self.pre_sds = pre_sds
        self.community = Community(community_pub)
        self.clock = 0
        self.sds = SdsChannel()
        self.seen: set[bytes] = set()
        self.verdicts: list[Verdict] = []
        self._cursor = 0
        # Shown chat messages: id -> (signer, clock of the last edit applied).
        self.messages: dict[str, tuple[bytes, int]] = {}

    @property
    def community_id(self) -> str:
        return self.community.id

    def topics(self) -> dict[str, str]:
        """content topic -> chat id of every filter a current member installs
        (DefaultFilters: the community id and the universal chat) plus the legacy per-channel
        chats older clients still post on."""
        chats = [self.community_id, universal_chat_id(self.community_id)]
        chats += [self.community.chat_id(u) for u in self.community.description.chats]
        return {content_topic(c): c for c in chats}

    def next_clock(self) -> tuple[int, int]:
        """chat.NextClockAndTimestamp: clock = max(last + 1, now in ms)."""
        now = time.time_ns() // 1_000_000
        self.clock = max(self.clock + 1, now)
        return self.clock, now

    # -- sending ---------------------------------------------------------------------------

    def chat_message(
        self,
        text: str,
        channel_uuid: str,
        *,
        response_to: str = "",
        display_name: str | None = None,
        content_type: int = ChatMessage.ContentType.TEXT_PLAIN,
    ) -> Any:
        clock, now = self.next_clock()
        return ChatMessage(
            clock=clock,
            timestamp=now,
            text=text,
            response_to=response_to,
            chat_id=self.community.chat_id(channel_uuid),
            message_type=enums_pb2.COMMUNITY_CHAT,
            content_type=ChatMessage.ContentType.ValueType(content_type),
            display_name=self.display_name if display_name is None else display_name,
        )

    def envelope(
        self,
        inner: bytes,
        app_type: int,
        *,
        chat_id: str | None = None,
        sds: bool = False,
        signing_key: bytes | None = None,
        waku_key: bytes | None = None,
    ) -> tuple[WireMessage, str]:
        """sender_public.go SendPublic: AMM → (SDS) → ProtocolMessage → Waku."""
        amm = wrap_v1(inner, app_type, signing_key or self.key)
        signer = public_key(signing_key or self.key)
        mid = "0x" + message_id(signer, amm).hex()
        payload = amm
        if sds:
            sds_id = "0x" + keccak256(amm).hex()
            payload = sds_wrap(amm, sds_id, self.community_id, self.sds)
        payload = public_protocol_message(payload, self.installation_id)
        chat = chat_id or universal_chat_id(self.community_id)
        return seal(payload, chat, waku_key or self.key), mid

    async def post(
        self,
        text: str,
        channel_uuid: str,
        *,
        sds: bool = False,
        legacy_topic: bool = False,
        response_to: str = "",
    ) -> str:
        """Post in a channel; returns the status message id (0x…)."""
        if self.pre_sds and sds:
            raise ValueError("a pre-SDS client cannot wrap in SDS")
        message = self.chat_message(text, channel_uuid, response_to=response_to)
        # status-go up to c72f491 sends a channel's messages on the channel's own topic.
        per_channel = legacy_topic or self.pre_sds
        chat = self.community.chat_id(channel_uuid) if per_channel else None
        wire, mid = self.envelope(
            message.SerializeToString(), AppType.CHAT_MESSAGE, chat_id=chat, sds=sds
        )
        await self.waku.publish(DEFAULT_SHARD, wire)
        return mid

    def request_to_join(
        self, wallet_key: bytes, *, clock: int | None = None, sds: bool = False
    ) -> WireMessage:
        """messenger_communities.go RequestToJoinCommunity: a wallet signature over
        keccak256(compressed identity ‖ community id ‖ request id), clock in Unix seconds,
        no encryption layer, ECIES to the community key on its request topic."""
        community_id = bytes.fromhex(self.community_id[2:])
        request_id = keccak256(f"{pubkey_hex(self.pub)}-{self.community_id}".encode())
        challenge = keccak256(public_key_compressed(self.pub) + community_id + request_id)
        request = communities_pb2.CommunityRequestToJoin(
            clock=int(time.time()) if clock is None else clock,
            community_id=community_id,
            display_name=self.display_name,
            revealed_accounts=[
                communities_pb2.RevealedAccount(
                    address=to_address(public_key(wallet_key)),
                    signature=personal_sign(challenge, wallet_key),
                    chain_ids=[1],
                    isAirdropAddress=True,
                )
            ],
        )
        amm = wrap_v1(request.SerializeToString(), AppType.COMMUNITY_REQUEST_TO_JOIN, self.key)
        payload = amm
        if sds:
            payload = sds_wrap(amm, "0x" + keccak256(amm).hex(), self.community_id, self.sds)
        return seal(
            payload,
            request_chat_id(self.community.community_pub),
            self.key,
            recipient=self.community.community_pub,
        )

    # -- receiving -------------------------------------------------------------------------

    async def sync(self) -> list[Verdict]:
        """Poll the community shard and judge everything new on the member's topics."""
        new: list[Verdict] = []
        log = await self.waku.fetch(DEFAULT_SHARD)
        fresh, self._cursor = log[self._cursor :], len(log)
        for wire in fresh:
            verdict = self.judge(DEFAULT_SHARD, wire)
            if verdict is not None:
                new.append(verdict)
        self.verdicts.extend(new)
        return new

    def judge(self, pubsub_topic: str, wire: WireMessage) -> Verdict | None:
        """None for traffic on topics this member has no filter for."""
        chat = self.topics().get(wire.content_topic)
        if chat is None:
            return None
        try:
            opened = open_message(pubsub_topic, wire, key=sym_key(chat), sds=not self.pre_sds)
        except StatusDrop as exc:
            return Verdict(None, exc.reason)
        if opened.message_id in self.seen:
            return Verdict(opened, "duplicate")
        self.seen.add(opened.message_id)
        try:
            content = self._handle(opened)
        except StatusDrop as exc:
            return Verdict(opened, exc.reason)
        return Verdict(opened, "", content)

    def _handle(self, opened: Opened) -> Any:
        if opened.app_type == AppType.COMMUNITY_DESCRIPTION:
            self.community.accept_description(opened)
            return self.community.description
        if opened.app_type == AppType.CHAT_MESSAGE:
            message = ChatMessage.FromString(opened.app_payload)
            validate_received_chat_message(message, opened.whisper_timestamp_ms)
            self._match_chat_entity(opened, message.chat_id, message.message_type)
            self.messages[opened.message_id_hex] = (opened.signer, 0)
            return message
        if opened.app_type == AppType.EMOJI_REACTION:
            reaction = emoji_reaction_pb2.EmojiReaction.FromString(opened.app_payload)
            validate_received_emoji_reaction(reaction, opened.whisper_timestamp_ms)
            self._match_chat_entity(opened, reaction.chat_id, reaction.message_type)
            return reaction
        if opened.app_type == AppType.EDIT_MESSAGE:
            edit = chat_message_pb2.EditMessage.FromString(opened.app_payload)
            self._check_edit(opened, edit)
            return edit
        if opened.app_type == AppType.DELETE_MESSAGE:
            delete = chat_message_pb2.DeleteMessage.FromString(opened.app_payload)
            self._check_delete(opened, delete)
            return delete
        raise StatusDrop(f"not handled by this fake: type {opened.app_type}")

    def _check_edit(self, opened: Opened, edit: Any) -> None:
        """messenger_handler.go handleEditMessage: no chat matching, the original decides."""
        if edit.clock == 0:
            raise StatusDrop("clock can't be 0")
        if not edit.chat_id:
            raise StatusDrop("chat-id can't be empty")
        if not edit.message_id:
            raise StatusDrop("message-id can't be empty")
        if edit.message_type in (
            enums_pb2.UNKNOWN_MESSAGE_TYPE,
            enums_pb2.SYSTEM_MESSAGE_PRIVATE_GROUP,
        ):
            raise StatusDrop("unknown message type")
        if not edit.text.strip():
            raise StatusDrop("text can't be empty")
        original = self.messages.get(edit.message_id)
        if original is None:
            raise StatusDrop("saved for later: original not seen")  # persistence.SaveEdit
        if original[0] != opened.signer:
            raise StatusDrop("invalid edit, not the right author")
        if original[1] >= edit.clock:
            raise StatusDrop("saved: older than the last edit")
        self.messages[edit.message_id] = (original[0], edit.clock)

    def _check_delete(self, opened: Opened, delete: Any) -> None:
        """handleDeleteMessage: the author, or whoever may delete for everyone in the
        community (CanDeleteMessageForEveryone: a privileged member)."""
        if not delete.chat_id:
            raise StatusDrop("chat-id can't be empty")
        if not delete.message_id:
            raise StatusDrop("message-id can't be empty")
        if delete.message_type in (
            enums_pb2.UNKNOWN_MESSAGE_TYPE,
            enums_pb2.SYSTEM_MESSAGE_PRIVATE_GROUP,
        ):
            raise StatusDrop("unknown message type")
        original = self.messages.get(delete.message_id)
        if original is None:
            raise StatusDrop("saved for later: original not seen")  # persistence.SaveDelete
        if original[0] != opened.signer and not self.community.privileged(opened.signer):
            raise StatusDrop("invalid delete permission")
        self.messages.pop(delete.message_id)

    def _match_chat_entity(self, opened: Opened, chat_id: str, message_type: int) -> None:
        """messenger_handler.go matchChatEntity, community branch."""
        if message_type != enums_pb2.COMMUNITY_CHAT:
            if message_type == enums_pb2.PUBLIC_GROUP:
                raise StatusDrop("received a public chatEntity from non-existing chat")
            raise StatusDrop("can not match a chat because there is no valid case")
        channel_uuid = self.community.channel_uuid_of(chat_id)
        if channel_uuid is None:
            raise StatusDrop("received community chat chatEntity for non-existing chat")
        if not self.community.can_post(opened.signer, channel_uuid, opened.app_type):
            raise StatusDrop("user can't post in community")

    async def wait_for(self, predicate: Any) -> Verdict:
        """Sync until a new verdict matches ``predicate`` (callers bound the wait)."""
        while True:
            for verdict in await self.sync():
                if predicate(verdict):
                    return verdict
            await asyncio.sleep(0.05)
