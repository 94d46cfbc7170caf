"""SDS wrapping as nim-sds encodes it (sds/protobuf.nim at 0dea35d: message_id=1,
lamport_timestamp=2, causal_history=3 (HistoryEntry{message_id=1, retrieval_hint=2}),
channel_id=4, content=5, bloom_filter=6) and as status-go uses it (channel id = community id,
message id = 0x + keccak256(payload), unwrap falls back to the payload)."""

from __future__ import annotations

from bridge.status.sds import SdsChannel, sds_message_id, unwrap, wrap
from crypto.keccak import keccak256


def _field(number: int, value: bytes) -> bytes:
    assert len(value) < 128
    return bytes([number << 3 | 2, len(value)]) + value


def test_wire_form_is_nim_sds() -> None:
    payload = b"\x0a\x41" + b"s" * 65  # looks like the start of an ApplicationMetadataMessage
    wrapped = wrap(payload, "0x02ab", 300, ("0xaa",))
    mid = ("0x" + keccak256(payload).hex()).encode()
    expected = (
        _field(1, mid)
        + bytes([2 << 3, 0xAC, 0x02])  # lamport 300 as a varint
        + _field(3, _field(1, b"0xaa"))
        + _field(4, b"0x02ab")
        + _field(5, payload)
    )
    assert wrapped == expected
    assert sds_message_id(payload) == mid.decode()


def test_unwrap_hand_made_sds_and_pass_through_others() -> None:
    payload = b"hello"
    data = _field(1, b"m1") + bytes([0x10, 5]) + _field(4, b"c") + _field(5, payload)
    content, info = unwrap(data)
    assert content == payload and info is not None
    assert (info.message_id, info.channel_id, info.lamport_timestamp) == ("m1", "c", 5)
    # Not SDS (no channel id / not a protobuf / an ApplicationMetadataMessage): unchanged.
    for other in (_field(1, b"m1") + _field(5, payload), b"\xff\xff", b"\x0a\x01\xff"):
        assert unwrap(other) == (other, None)


def test_channel_clock_follows_nim_sds() -> None:
    channel = SdsChannel("c")
    first = channel.wrap(b"a", now_s=1000)
    assert unwrap(first)[1] is not None and channel.lamport == 1001
    channel.wrap(b"b", now_s=10)
    assert channel.lamport == 1002
    _, info = unwrap(wrap(b"x", "c", 5000))
    assert info is not None
    channel.seen(info)
    assert channel.lamport == 5001
    _, last = unwrap(channel.wrap(b"c", now_s=0))
    assert last is not None and sds_message_id(b"x") in last.causal_history
