"""WakuMessage codec and deterministic hash, against js-waku vectors and hostile input."""

from __future__ import annotations

import hashlib
import random
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.proto import waku_message_pb2 as pb
from bridge.waku.message import (
    MAX_DECODE_SIZE,
    MAX_META_SIZE,
    MessageDecodeError,
    WakuMessage,
    message_hash,
)
from tests.waku import vectors

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def _from_fields(fields: dict[str, Any]) -> WakuMessage:
    """A WakuMessage as the vector's `fields` describe it."""
    rlp = fields.get("rate_limit_proof")
    proof: bytes | None = None
    if rlp is not None:
        proof = pb.RateLimitProof(
            **{k: bytes.fromhex(v) for k, v in rlp.items()}
        ).SerializeToString()
    ts = fields.get("timestamp")
    meta = fields.get("meta")
    return WakuMessage(
        payload=bytes.fromhex(fields["payload"]),
        content_topic=fields["content_topic"],
        version=fields.get("version", 0),
        timestamp=None if ts is None else int(ts),
        meta=None if meta is None else bytes.fromhex(meta),
        ephemeral=fields.get("ephemeral", False),
        rate_limit_proof=proof,
    )


def _js_waku_hash(pubsub: str, msg: WakuMessage) -> bytes:
    """js-waku's rule: an absent or zero timestamp contributes no bytes."""
    h = hashlib.sha256(pubsub.encode() + msg.payload + msg.content_topic.encode())
    h.update(msg.meta or b"")
    if msg.timestamp:
        h.update(struct.pack(">q", msg.timestamp))
    return h.digest()


@pytest.mark.parametrize("vid", vectors.ids("protobuf"))
def test_protobuf_vector_decodes_to_fields(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "protobuf", vid)
    assert WakuMessage.decode(bytes.fromhex(e["wire"])) == _from_fields(e["fields"])


@pytest.mark.parametrize("vid", vectors.ids("protobuf"))
def test_protobuf_vector_fields_round_trip(js_waku_vectors: dict[str, Any], vid: str) -> None:
    expected = _from_fields(vectors.entry(js_waku_vectors, "protobuf", vid)["fields"])
    assert WakuMessage.decode(expected.encode()) == expected


def test_rate_limit_proof_is_js_wakus_nested_message(js_waku_vectors: dict[str, Any]) -> None:
    e = vectors.entry(js_waku_vectors, "protobuf", "rate-limit-proof")
    msg = WakuMessage.decode(bytes.fromhex(e["wire"]))
    assert msg.rate_limit_proof is not None
    proof = pb.RateLimitProof.FromString(msg.rate_limit_proof)
    assert proof.nullifier == b"\xff"
    assert proof.rln_identifier == b"\x11"


@pytest.mark.parametrize("vid", vectors.ids("hashes"))
def test_hash_vectors(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "hashes", vid)
    msg = _from_fields(e)
    pubsub = e["pubsub_topic"]
    assert _js_waku_hash(pubsub, msg).hex() == e["hash"]
    if "hash_nwaku" in e:
        assert message_hash(pubsub, msg).hex() == e["hash_nwaku"]
    elif e.get("divergent"):
        # docs/PROTOCOL.md §3 gives the nwaku/go-waku value for this message: c7574f41…
        assert message_hash(pubsub, msg).hex().startswith("c7574f41")
        assert message_hash(pubsub, msg).hex() != e["hash"]
    else:
        assert message_hash(pubsub, msg).hex() == e["hash"]
    if "spec_hash" in e:
        assert message_hash(pubsub, msg).hex() == e["spec_hash"]


@pytest.mark.parametrize("vid", vectors.ids("encrypted"))
def test_encrypted_vector_wire_and_hash(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "encrypted", vid)
    msg = WakuMessage.decode(bytes.fromhex(e["wire"]))
    assert msg.payload.hex() == e["encrypted_payload"]
    assert msg.content_topic == e["content_topic"]
    assert msg.timestamp == int(e["timestamp"])
    assert msg.version == 1
    assert message_hash(e["pubsub_topic"], msg).hex() == e["message_hash"]


def test_nwaku_all_fields_encoding_decodes() -> None:
    # nwaku writes all seven fields every time, empty meta and proof included.
    wire = (
        bytes.fromhex("0a03aabbcc")
        + bytes.fromhex("120b")
        + b"/a/1/b/prot"
        + bytes.fromhex("1801")
        + bytes.fromhex("50")
        + bytes([0x02])  # zig-zag 1
        + bytes.fromhex("5a00")
        + bytes.fromhex("aa0100")
        + bytes.fromhex("f80100")
    )
    msg = WakuMessage.decode(wire)
    assert msg == WakuMessage(
        payload=b"\xaa\xbb\xcc",
        content_topic="/a/1/b/prot",
        version=1,
        timestamp=1,
        meta=b"",
        ephemeral=False,
        rate_limit_proof=b"",
    )


def test_unknown_fields_are_ignored() -> None:
    wire = WakuMessage(b"x", "/a/1/b/c").encode() + bytes.fromhex("a00607")  # field 100
    assert WakuMessage.decode(wire) == WakuMessage(b"x", "/a/1/b/c")


@pytest.mark.parametrize(
    ("wire", "reason"),
    [
        (b"", "no content topic"),
        (bytes.fromhex("0a0101"), "no content topic"),
        (bytes.fromhex("12026869") + b"\x12\x00", "no content topic"),
        (bytes.fromhex("1202fffe"), "not a WakuMessage"),
        (bytes.fromhex("0a05"), "not a WakuMessage"),
        (bytes.fromhex("120161") + bytes([0x5A, 65]) + bytes(65), "meta is 65 bytes"),
        (bytes.fromhex("1201615080"), "not a WakuMessage"),
        (bytes.fromhex("120261"), "not a WakuMessage"),
        (bytes.fromhex("ff"), "not a WakuMessage"),
    ],
)
def test_invalid_wire_is_rejected(wire: bytes, reason: str) -> None:
    with pytest.raises(MessageDecodeError, match=reason):
        WakuMessage.decode(wire)


def test_meta_of_64_bytes_is_accepted() -> None:
    msg = WakuMessage(b"x", "/a/1/b/c", meta=bytes(MAX_META_SIZE))
    assert WakuMessage.decode(msg.encode()) == msg


def test_oversized_input_is_rejected_before_parsing() -> None:
    wire = (
        WakuMessage(b"", "/a/1/b/c").encode() + b"\x0a" + b"\x80\x80\x40" + bytes(MAX_DECODE_SIZE)
    )
    with pytest.raises(MessageDecodeError, match="max"):
        WakuMessage.decode(wire)


def test_non_bytes_input_is_rejected() -> None:
    with pytest.raises(MessageDecodeError, match="expected bytes"):
        WakuMessage.decode("0a00")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (WakuMessage(b"x", ""), "content_topic"),
        (WakuMessage(b"x", "/a/1/b/c", meta=bytes(65)), "meta"),
        (WakuMessage(b"x", "/a/1/b/c", timestamp=INT64_MAX + 1), "int64"),
        (WakuMessage(b"x", "/a/1/b/c", timestamp=INT64_MIN - 1), "int64"),
        (WakuMessage(b"x", "/a/1/b/c", version=-1), "uint32"),
        (WakuMessage(b"x", "/a/1/b/c", version=2**32), "uint32"),
        (WakuMessage(bytes(MAX_DECODE_SIZE), "/a/1/b/c"), "encodes to"),
    ],
)
def test_encode_refuses_invalid_messages(msg: WakuMessage, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        msg.encode()


def test_timestamp_is_zigzag_sint64() -> None:
    assert WakuMessage(b"", "/a/1/b/c", timestamp=-1).encode().endswith(bytes.fromhex("5001"))


def test_random_bytes_only_raise_message_decode_error() -> None:
    rng = random.Random(20240611)
    decoded = 0
    for _ in range(10_000):
        data = rng.randbytes(rng.randrange(0, 200))
        # Half the time start with a valid tag so the parser gets past the first byte.
        if rng.random() < 0.5:
            data = bytes([rng.choice([0x0A, 0x12, 0x18, 0x50, 0x5A, 0xAA, 0xF8])]) + data
        try:
            msg = WakuMessage.decode(data)
        except MessageDecodeError:
            continue
        decoded += 1
        assert msg.content_topic
        assert msg.meta is None or len(msg.meta) <= MAX_META_SIZE
    assert decoded < 10_000


_messages = st.builds(
    WakuMessage,
    payload=st.binary(max_size=300),
    content_topic=st.text(min_size=1, max_size=60),
    version=st.integers(0, 2**32 - 1),
    timestamp=st.none()
    | st.integers(INT64_MIN, INT64_MAX)
    | st.sampled_from([INT64_MIN, -1, 0, INT64_MAX]),
    meta=st.none() | st.binary(max_size=MAX_META_SIZE),
    ephemeral=st.booleans(),
    rate_limit_proof=st.none() | st.binary(max_size=100),
)


@given(_messages)
def test_round_trip(msg: WakuMessage) -> None:
    assert WakuMessage.decode(msg.encode()) == msg


@given(_messages)
def test_hash_ignores_encoding_choices(msg: WakuMessage) -> None:
    # The hash must not depend on which presence rules an encoder used (docs/PROTOCOL.md §2).
    again = WakuMessage.decode(msg.encode())
    assert message_hash("/waku/2/rs/16/32", again) == message_hash("/waku/2/rs/16/32", msg)
