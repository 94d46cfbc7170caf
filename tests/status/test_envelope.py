"""Status wire format: vectors, build → parse round trips, and hostile payloads."""

from __future__ import annotations

import random
from typing import Any

import pytest
from coincurve import PrivateKey

from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import chat_message_pb2 as chat_pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.status import (
    AppMessageType,
    BridgeMessageFields,
    ChatMessageFields,
    ChatType,
    ContentType,
    DeleteMessageFields,
    EditMessageFields,
    EmojiReactionFields,
    ReactionType,
    StatusDecodeError,
    build_bridge_chat_message,
    build_delete_message,
    build_edit_message,
    build_emoji_reaction,
    build_status_payload,
    decode_application_message,
    encode_application_message,
    message_id,
    message_id_hex,
    next_clock,
    parse_status_payload,
    wrap_protocol_message,
)
from crypto.keccak import keccak256
from tests.waku import vectors

KEY = bytes.fromhex("9cdb570d9948d31654512c4f3d2ab512e9308146497c6dda58242fda7468294b")
PUB = PrivateKey(KEY).public_key.format(compressed=False)
CHAT = "0x03ae3b7903eec9fee44fbd54861c3dfe1ab0080d12be4dc043ba30b3caa38e7a55-memberUpdate"
INSTALLATION = "0f6f3d2a-4c1e-4b7a-9d55-3a1b2c3d4e5f"
TS = 1_700_000_000_123
TARGET = "0x" + "ab" * 32


def _bridged(**overrides: Any) -> BridgeMessageFields:
    fields: dict[str, Any] = {
        "bridge_name": "telegram",
        "user_name": "Alice",
        "content": "hello from TG",
        "user_avatar": "https://example.org/a.png",
        "user_id": "12345",
        "message_id": "tg:-100:42",
        "parent_message_id": "tg:-100:41",
    }
    fields.update(overrides)
    return BridgeMessageFields(**fields)


def _seal(inner: bytes, kind: AppMessageType) -> bytes:
    return build_status_payload(inner, kind, KEY, INSTALLATION).payload


# --- vectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("vid", vectors.ids("status.app_metadata"))
def test_app_metadata_vectors(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "status.app_metadata", vid)
    keys = js_waku_vectors["keys"]
    payload = bytes.fromhex(e["payload"])
    encoded = bytes.fromhex(e["encoded"])
    # RFC 6979 on both sides: re-signing gives js-waku's exact bytes.
    assert encode_application_message(payload, e["type"], bytes.fromhex(keys["signer_priv"])) == (
        encoded
    )
    decoded = decode_application_message(encoded)
    assert decoded.signer.hex() == keys["signer_pub"]
    assert decoded.payload == payload
    assert decoded.message_type == e["type"]
    parsed = app_pb.ApplicationMetadataMessage.FromString(encoded)
    assert parsed.signature.hex() == e["signature"]
    assert message_id(bytes.fromhex(keys["signer_pub"]), encoded).hex() == e["message_id"]
    assert decoded.message_id.hex() == e["message_id"]


def test_enums_match_generated_protobufs() -> None:
    for member in AppMessageType:
        assert app_pb.ApplicationMetadataMessage.Type.Value(member.name) == member.value
    for chat in ChatType:
        assert chat_pb.MessageType.Value(chat.name) == chat.value
    for content in ContentType:
        assert chat_pb.ChatMessage.ContentType.Value(content.name) == content.value
    for reaction in ReactionType:
        assert chat_pb.EmojiReaction.Type.Value(reaction.name) == reaction.value


# --- round trips -----------------------------------------------------------------------------


def test_bridge_chat_message_round_trip() -> None:
    inner = build_bridge_chat_message(
        chat_id=CHAT,
        bridge=_bridged(),
        clock=TS,
        timestamp_ms=TS,
        response_to=TARGET,
        display_name="Parley",
    )
    out = build_status_payload(inner, AppMessageType.CHAT_MESSAGE, KEY, INSTALLATION)
    env = parse_status_payload(out.payload, waku_timestamp_ms=TS)
    assert env.signer == PUB
    assert env.message_id == out.message_id
    assert env.message_id_hex == message_id_hex(out.message_id)
    assert env.message_type == AppMessageType.CHAT_MESSAGE
    assert env.installation_id == INSTALLATION
    assert env.payload == inner
    assert env.content == ChatMessageFields(
        clock=TS,
        timestamp_ms=TS,
        text="Alice: hello from TG",
        chat_id=CHAT,
        chat_type=ChatType.COMMUNITY_CHAT,
        content_type=ContentType.BRIDGE_MESSAGE,
        response_to=TARGET,
        display_name="Parley",
        bridge=_bridged(),
    )


def test_message_id_is_keccak_of_signer_and_encoded_app_message() -> None:
    out = build_status_payload(b"inner", AppMessageType.CHAT_MESSAGE, KEY, INSTALLATION)
    app = proto_pb.ProtocolMessage.FromString(out.payload).public_message
    assert out.message_id == keccak256(PUB + app)


def test_public_group_type_round_trips() -> None:
    inner = build_bridge_chat_message(
        chat_id="status",
        bridge=_bridged(),
        clock=5,
        timestamp_ms=5,
        chat_type=ChatType.PUBLIC_GROUP,
    )
    env = parse_status_payload(_seal(inner, AppMessageType.CHAT_MESSAGE))
    assert isinstance(env.content, ChatMessageFields)
    assert env.content.chat_type == ChatType.PUBLIC_GROUP


def test_fallback_text_is_bounded() -> None:
    inner = build_bridge_chat_message(
        chat_id=CHAT, bridge=_bridged(content="x" * 4096), clock=1, timestamp_ms=1
    )
    env = parse_status_payload(_seal(inner, AppMessageType.CHAT_MESSAGE))
    assert isinstance(env.content, ChatMessageFields)
    assert len(env.content.text) == 4096
    assert env.content.bridge is not None
    assert env.content.bridge.content == "x" * 4096


def test_edit_round_trip() -> None:
    inner = build_edit_message(chat_id=CHAT, target_id=TARGET, text="fixed", clock=9)
    env = parse_status_payload(_seal(inner, AppMessageType.EDIT_MESSAGE))
    assert env.content == EditMessageFields(
        clock=9,
        chat_id=CHAT,
        target_id=TARGET,
        text="fixed",
        chat_type=ChatType.COMMUNITY_CHAT,
        content_type=ContentType.BRIDGE_MESSAGE,
    )


def test_delete_round_trip() -> None:
    inner = build_delete_message(chat_id=CHAT, target_id=TARGET, clock=10)
    env = parse_status_payload(_seal(inner, AppMessageType.DELETE_MESSAGE))
    assert env.content == DeleteMessageFields(
        clock=10, chat_id=CHAT, target_id=TARGET, chat_type=ChatType.COMMUNITY_CHAT
    )


@pytest.mark.parametrize("retracted", [False, True])
def test_reaction_round_trip(retracted: bool) -> None:
    inner = build_emoji_reaction(
        chat_id=CHAT, target_id=TARGET, emoji=ReactionType.THUMBS_UP, clock=11, retracted=retracted
    )
    env = parse_status_payload(_seal(inner, AppMessageType.EMOJI_REACTION))
    assert env.content == EmojiReactionFields(
        clock=11,
        chat_id=CHAT,
        target_id=TARGET,
        chat_type=ChatType.COMMUNITY_CHAT,
        emoji=ReactionType.THUMBS_UP,
        retracted=retracted,
    )


def test_uninterpreted_types_are_verified_but_left_opaque() -> None:
    env = parse_status_payload(_seal(b"\x08\x01", AppMessageType.COMMUNITY_DESCRIPTION))
    assert env.content is None
    assert env.signer == PUB
    assert env.payload == b"\x08\x01"


def test_plain_text_message_from_a_status_client_parses() -> None:
    inner = chat_pb.ChatMessage(
        clock=3,
        timestamp=3,
        text="gm",
        chat_id=CHAT,
        message_type=chat_pb.COMMUNITY_CHAT,
        content_type=chat_pb.ChatMessage.TEXT_PLAIN,
        display_name="bob",
    ).SerializeToString() + bytes.fromhex("7a00")  # unknown field 15, as newer clients send
    env = parse_status_payload(_seal(inner, AppMessageType.CHAT_MESSAGE))
    assert isinstance(env.content, ChatMessageFields)
    assert (env.content.text, env.content.display_name, env.content.bridge) == ("gm", "bob", None)


# --- clock -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "now", "expected"), [(0, 100, 100), (100, 100, 101), (500, 100, 501)]
)
def test_next_clock(last: int, now: int, expected: int) -> None:
    assert next_clock(last, now) == expected


def test_clock_far_ahead_of_waku_timestamp_is_dropped() -> None:
    inner = build_bridge_chat_message(
        chat_id=CHAT, bridge=_bridged(), clock=TS + 120_001, timestamp_ms=TS
    )
    payload = _seal(inner, AppMessageType.CHAT_MESSAGE)
    assert parse_status_payload(payload).content is not None
    with pytest.raises(StatusDecodeError, match="clock"):
        parse_status_payload(payload, waku_timestamp_ms=TS)


# --- hostile input ---------------------------------------------------------------------------


def _with_signature(signature: bytes, payload: bytes = b"\x08\x01") -> bytes:
    app = app_pb.ApplicationMetadataMessage(
        signature=signature, payload=payload, type=app_pb.ApplicationMetadataMessage.CHAT_MESSAGE
    )
    return wrap_protocol_message(app.SerializeToString(), INSTALLATION)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (b"", "unsigned"),
        (bytes(64), "unsigned"),
        (bytes(66), "unsigned"),
        (bytes(65), "signature"),  # r = s = 0
        (b"\x01" * 64 + b"\x05", "signature"),  # recovery id out of range
    ],
)
def test_bad_signatures_are_rejected(signature: bytes, reason: str) -> None:
    with pytest.raises(StatusDecodeError, match=reason):
        parse_status_payload(_with_signature(signature))


def test_tampered_signature_does_not_verify_as_the_sender() -> None:
    inner = build_bridge_chat_message(chat_id=CHAT, bridge=_bridged(), clock=1, timestamp_ms=1)
    app = app_pb.ApplicationMetadataMessage.FromString(
        encode_application_message(inner, AppMessageType.CHAT_MESSAGE, KEY)
    )
    sig = bytearray(app.signature)
    sig[64] = 7  # an invalid recovery id: recovery must fail
    with pytest.raises(StatusDecodeError, match="signature"):
        parse_status_payload(_with_signature(bytes(sig), inner))
    sig = bytearray(app.signature)
    sig[5] ^= 0x01  # a different r: either unrecoverable or some other key, never the sender
    try:
        env = parse_status_payload(_with_signature(bytes(sig), inner))
    except StatusDecodeError:
        return
    assert env.signer != PUB


def test_tampered_payload_changes_the_signer() -> None:
    inner = build_bridge_chat_message(chat_id=CHAT, bridge=_bridged(), clock=1, timestamp_ms=1)
    app = app_pb.ApplicationMetadataMessage.FromString(
        encode_application_message(inner, AppMessageType.CHAT_MESSAGE, KEY)
    )
    forged = build_bridge_chat_message(
        chat_id=CHAT, bridge=_bridged(content="forged"), clock=1, timestamp_ms=1
    )
    try:
        env = parse_status_payload(_with_signature(app.signature, forged))
    except StatusDecodeError:
        return
    assert env.signer != PUB


def _chat(**overrides: Any) -> bytes:
    fields: dict[str, Any] = {
        "clock": 1,
        "timestamp": 1,
        "text": "hi",
        "chat_id": CHAT,
        "message_type": chat_pb.COMMUNITY_CHAT,
        "content_type": chat_pb.ChatMessage.TEXT_PLAIN,
    }
    fields.update(overrides)
    return chat_pb.ChatMessage(**fields).SerializeToString()


@pytest.mark.parametrize(
    ("inner", "kind", "reason"),
    [
        (_chat(clock=0), AppMessageType.CHAT_MESSAGE, "clock"),
        (_chat(timestamp=0), AppMessageType.CHAT_MESSAGE, "timestamp"),
        (_chat(chat_id=""), AppMessageType.CHAT_MESSAGE, "chat id"),
        (_chat(text="  "), AppMessageType.CHAT_MESSAGE, "text"),
        (_chat(text="x" * 4097), AppMessageType.CHAT_MESSAGE, "text"),
        (_chat(message_type=0), AppMessageType.CHAT_MESSAGE, "message type"),
        (_chat(message_type=4), AppMessageType.CHAT_MESSAGE, "message type"),
        (_chat(content_type=0), AppMessageType.CHAT_MESSAGE, "content type"),
        (_chat(content_type=18), AppMessageType.CHAT_MESSAGE, "bridge"),
        (
            _chat(content_type=18, bridge_message=chat_pb.BridgeMessage(userName="a", content="b")),
            AppMessageType.CHAT_MESSAGE,
            "bridge name",
        ),
        (b"\xff\xff", AppMessageType.CHAT_MESSAGE, "ChatMessage"),
        (b"\x1a\x02\xc3\x28", AppMessageType.CHAT_MESSAGE, "ChatMessage"),  # bad UTF-8 text
        (
            chat_pb.EditMessage(
                clock=1, chat_id=CHAT, message_id=TARGET, message_type=chat_pb.COMMUNITY_CHAT
            ).SerializeToString(),
            AppMessageType.EDIT_MESSAGE,
            "text",
        ),
        (
            chat_pb.DeleteMessage(
                clock=1, chat_id=CHAT, message_type=chat_pb.COMMUNITY_CHAT
            ).SerializeToString(),
            AppMessageType.DELETE_MESSAGE,
            "message id",
        ),
        (
            chat_pb.EmojiReaction(
                clock=1, chat_id=CHAT, message_id=TARGET, message_type=chat_pb.COMMUNITY_CHAT
            ).SerializeToString(),
            AppMessageType.EMOJI_REACTION,
            "emoji",
        ),
    ],
)
def test_content_status_go_would_drop_is_rejected(
    inner: bytes, kind: AppMessageType, reason: str
) -> None:
    with pytest.raises(StatusDecodeError, match=reason):
        parse_status_payload(_seal(inner, kind))


def test_encrypted_protocol_message_is_reported_as_unsupported() -> None:
    outer = proto_pb.ProtocolMessage(installation_id=INSTALLATION)
    outer.encrypted_message[""].payload = b"ciphertext"
    with pytest.raises(StatusDecodeError, match="encrypted"):
        parse_status_payload(outer.SerializeToString())


@pytest.mark.parametrize("data", [b"", b"\xff", b"\x12\x02\xc3\x28", bytes(2 * 1024 * 1024)])
def test_garbage_outer_payload_is_rejected(data: bytes) -> None:
    with pytest.raises(StatusDecodeError):
        parse_status_payload(data)


def test_random_bytes_only_raise_status_decode_error() -> None:
    rng = random.Random(1026)
    valid = _seal(_chat(), AppMessageType.CHAT_MESSAGE)
    rejected = 0
    for _ in range(2_000):
        data = bytearray(valid)
        for _ in range(rng.randrange(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = bytearray(rng.randbytes(rng.randrange(0, 120)))
        try:
            parse_status_payload(bytes(data))
        except StatusDecodeError:
            rejected += 1
    # Any other exception type would have failed the test already.
    assert rejected > 0


# --- builder validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"chat_id": ""}, "chat_id"),
        ({"clock": 0}, "clock"),
        ({"clock": 2**64}, "clock"),
        ({"timestamp_ms": 0}, "timestamp_ms"),
        ({"chat_type": ChatType.ONE_TO_ONE}, "chat_type"),
        ({"response_to": "42"}, "response_to"),
        ({"bridge": _bridged(user_name="")}, "user_name"),
        ({"bridge": _bridged(bridge_name="")}, "bridge_name"),
        ({"bridge": _bridged(content=" ")}, "content"),
        ({"bridge": _bridged(content="x" * 4097)}, "content"),
    ],
)
def test_bridge_chat_message_refuses_what_status_would_drop(
    kwargs: dict[str, Any], reason: str
) -> None:
    args: dict[str, Any] = {"chat_id": CHAT, "bridge": _bridged(), "clock": 1, "timestamp_ms": 1}
    args.update(kwargs)
    with pytest.raises(ValueError, match=reason):
        build_bridge_chat_message(**args)


def test_edit_delete_reaction_builders_validate_target() -> None:
    with pytest.raises(ValueError, match="target_id"):
        build_edit_message(chat_id=CHAT, target_id="0xAB", text="t", clock=1)
    with pytest.raises(ValueError, match="target_id"):
        build_delete_message(chat_id=CHAT, target_id="", clock=1)
    with pytest.raises(ValueError, match="emoji"):
        build_emoji_reaction(
            chat_id=CHAT, target_id=TARGET, emoji=ReactionType.UNKNOWN_EMOJI_REACTION_TYPE, clock=1
        )


def test_wrap_protocol_message_validates() -> None:
    with pytest.raises(ValueError, match="installation_id"):
        wrap_protocol_message(b"x", "")
    with pytest.raises(ValueError, match="app_message"):
        wrap_protocol_message(b"", INSTALLATION)


def test_message_id_requires_uncompressed_key() -> None:
    with pytest.raises(ValueError, match="65 bytes"):
        message_id(PUB[1:], b"x")
