"""The signed Status envelope inside a Waku v1 payload: ProtocolMessage(public_message =
ApplicationMetadataMessage(signature, payload, type)), its message id, and parsing it back.

Only public (unencrypted) traffic is handled: ``encrypted_message`` needs X3DH/hash-ratchet
state the bridge does not have (PROTOCOL.md §10.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.status.chat import (
    ChatMessageFields,
    DeleteMessageFields,
    EditMessageFields,
    EmojiReactionFields,
    check_clock,
    parse_chat_message,
    parse_delete_message,
    parse_edit_message,
    parse_emoji_reaction,
)
from bridge.status.sds import SdsInfo, unwrap
from bridge.status.types import AppMessageType, StatusDecodeError
from crypto.keccak import keccak256
from crypto.keys import (
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    public_key,
    recover_public_key,
    sign_recoverable,
)

__all__ = [
    "MAX_STATUS_PAYLOAD_SIZE",
    "OutgoingStatusMessage",
    "SignedAppMessage",
    "StatusContent",
    "StatusEnvelope",
    "build_status_payload",
    "decode_application_message",
    "encode_application_message",
    "message_id",
    "message_id_hex",
    "parse_status_payload",
    "wrap_protocol_message",
]

# Matches the Waku codec's decode bound (status-go's default max message size is 1 MiB).
MAX_STATUS_PAYLOAD_SIZE = 1024 * 1024
_MAX_INSTALLATION_ID = 256

StatusContent = ChatMessageFields | EditMessageFields | DeleteMessageFields | EmojiReactionFields


@dataclass(frozen=True, slots=True)
class OutgoingStatusMessage:
    payload: bytes  # the plaintext to put in a version-1 (encrypted, signed) Waku payload
    message_id: bytes  # 32 bytes; Status refers to it as message_id_hex(message_id)


@dataclass(frozen=True, slots=True)
class SignedAppMessage:
    """A decoded ApplicationMetadataMessage with its recovered signer and Status message id."""

    signer: bytes  # 65-byte uncompressed public key
    message_id: bytes  # 32 bytes
    message_type: int  # AppMessageType; other values are possible (open enum)
    payload: bytes


@dataclass(frozen=True, slots=True)
class StatusEnvelope:
    """A verified Status message: who signed it, its id, and its decoded content."""

    signer: bytes  # 65-byte uncompressed public key recovered from the app-level signature
    message_id: bytes  # 32 bytes, keccak256(signer ‖ encoded ApplicationMetadataMessage)
    message_type: int  # AppMessageType; other values are possible (open enum)
    installation_id: str
    payload: bytes  # the inner encoded message (e.g. ChatMessage)
    content: StatusContent | None  # None for types the bridge does not interpret
    sds: SdsInfo | None = None  # set when newer status-go wrapped it in SDS

    @property
    def message_id_hex(self) -> str:
        return message_id_hex(self.message_id)


def message_id(signer_pub65: bytes, encoded_app_message: bytes) -> bytes:
    """status-go's message id: keccak256(uncompressed signer key ‖ ApplicationMetadataMessage)."""
    if len(signer_pub65) != PUBLIC_KEY_SIZE or signer_pub65[0] != 0x04:
        raise ValueError("signer public key must be 65 bytes, uncompressed (04 prefix)")
    return keccak256(bytes(signer_pub65) + bytes(encoded_app_message))


def message_id_hex(message_id: bytes) -> str:
    """How Status writes message ids in response_to, edits, deletes and reactions."""
    return "0x" + message_id.hex()


def encode_application_message(payload: bytes, message_type: int, signing_key: bytes) -> bytes:
    """An encoded ApplicationMetadataMessage, signed over keccak256(payload) with v ∈ {0,1}."""
    if not 0 <= message_type < 2**31:
        raise ValueError(f"message_type {message_type} is not a valid enum value")
    signature = sign_recoverable(keccak256(payload), signing_key)
    msg = app_pb.ApplicationMetadataMessage(
        signature=signature,
        payload=payload,
        type=app_pb.ApplicationMetadataMessage.Type.ValueType(message_type),
    )
    return msg.SerializeToString()


def wrap_protocol_message(app_message: bytes, installation_id: str) -> bytes:
    """An encoded ProtocolMessage carrying ``app_message`` as a public (unencrypted) message."""
    if not installation_id or len(installation_id) > _MAX_INSTALLATION_ID:
        raise ValueError(f"installation_id must be 1..{_MAX_INSTALLATION_ID} characters")
    if not app_message:
        raise ValueError("app_message must not be empty")
    msg = proto_pb.ProtocolMessage(installation_id=installation_id, public_message=app_message)
    return msg.SerializeToString()


def build_status_payload(
    inner: bytes,
    message_type: int,
    signing_key: bytes,
    installation_id: str,
    sds: Callable[[bytes], bytes] | None = None,
) -> OutgoingStatusMessage:
    """Sign and wrap an encoded inner message; return the Waku payload and the Status id.

    ``sds`` wraps the signed ApplicationMetadataMessage before the ProtocolMessage layer, as
    newer status-go does for community messages; the Status id stays that of the message.
    """
    app = encode_application_message(inner, message_type, signing_key)
    payload = wrap_protocol_message(app if sds is None else sds(app), installation_id)
    if len(payload) > MAX_STATUS_PAYLOAD_SIZE:
        raise ValueError(f"Status payload is {len(payload)} bytes, max {MAX_STATUS_PAYLOAD_SIZE}")
    return OutgoingStatusMessage(
        payload=payload, message_id=message_id(public_key(signing_key), app)
    )


def decode_application_message(encoded: bytes) -> SignedAppMessage:
    """Decode an ApplicationMetadataMessage and recover its signer; StatusDecodeError if bad.

    Note a signature over tampered bytes usually still recovers *a* key, just not the sender's:
    callers that trust a sender must compare ``signer``.
    """
    app = app_pb.ApplicationMetadataMessage()
    try:
        app.ParseFromString(encoded)
    except DecodeError as exc:
        raise StatusDecodeError(f"not an ApplicationMetadataMessage: {exc}") from exc
    if len(app.signature) != SIGNATURE_SIZE:
        raise StatusDecodeError(
            "ApplicationMetadataMessage is unsigned or its signature is malformed"
        )
    try:
        signer = recover_public_key(keccak256(app.payload), app.signature)
    except ValueError as exc:  # InvalidSignatureError, or any other refusal from crypto
        raise StatusDecodeError(f"bad ApplicationMetadataMessage signature: {exc}") from exc
    return SignedAppMessage(
        signer=signer,
        message_id=message_id(signer, encoded),
        message_type=int(app.type),
        payload=app.payload,
    )


def _content(message_type: int, payload: bytes) -> StatusContent | None:
    if message_type == AppMessageType.CHAT_MESSAGE:
        return parse_chat_message(payload)
    if message_type == AppMessageType.EDIT_MESSAGE:
        return parse_edit_message(payload)
    if message_type == AppMessageType.DELETE_MESSAGE:
        return parse_delete_message(payload)
    if message_type == AppMessageType.EMOJI_REACTION:
        return parse_emoji_reaction(payload)
    return None


def parse_status_payload(data: bytes, waku_timestamp_ms: int | None = None) -> StatusEnvelope:
    """Unwrap and verify a decrypted Waku v1 payload from Status.

    Raises StatusDecodeError, and only that, when the bytes are malformed, encrypted for
    someone else, unsigned, or carry content status-go would drop. With ``waku_timestamp_ms``
    it also applies status-go's clock-drift rule to chat messages and reactions.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise StatusDecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_STATUS_PAYLOAD_SIZE:
        raise StatusDecodeError(f"payload is {len(data)} bytes, max {MAX_STATUS_PAYLOAD_SIZE}")
    outer = proto_pb.ProtocolMessage()
    try:
        outer.ParseFromString(data)
    except DecodeError as exc:
        raise StatusDecodeError(f"not a Status ProtocolMessage: {exc}") from exc
    if not outer.public_message:
        if outer.encrypted_message:
            raise StatusDecodeError("encrypted Status message (1:1 or token-gated): unsupported")
        raise StatusDecodeError("ProtocolMessage carries no public message")
    # Newer status-go wraps the ApplicationMetadataMessage in SDS; older does not.
    public, sds = unwrap(outer.public_message)
    app = decode_application_message(public)
    content = _content(app.message_type, app.payload)
    if waku_timestamp_ms is not None and isinstance(
        content, ChatMessageFields | EmojiReactionFields
    ):
        check_clock(content.clock, waku_timestamp_ms)
    return StatusEnvelope(
        signer=app.signer,
        message_id=app.message_id,
        message_type=app.message_type,
        installation_id=outer.installation_id,
        payload=app.payload,
        content=content,
        sds=sds,
    )
