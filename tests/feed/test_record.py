"""Pure parts of the feed: CIDs, canonical records, signatures, the wire form, Merkle proofs."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from bridge.feed.merkle import merkle_proofs, merkle_root, verify_proof
from bridge.feed.record import (
    MARKER,
    RecordError,
    canonical_json,
    cid_digest,
    cid_v1_raw,
    parse_record,
    parse_wire,
    recover_signer,
    sign_record,
    to_wire,
)
from crypto.keccak import keccak256
from crypto.keys import public_key, to_address

KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
ADDRESS = to_address(public_key(KEY))


def independent_cid(data: bytes) -> str:
    # A second implementation, straight from the multiformats specs.
    raw = b"\x01" + b"\x55" + b"\x12\x20" + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


@pytest.mark.parametrize(
    ("data", "cid"),
    [
        # The IPFS docs' and `ipfs add --cid-version=1 --raw-leaves` well-known values.
        (b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        (b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
        (b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    ],
)
def test_cid_v1_raw_known_values(data: bytes, cid: str) -> None:
    assert cid_v1_raw(data) == cid == independent_cid(data)
    assert cid_digest(cid) == hashlib.sha256(data).digest()


def test_cid_digest_refuses_other_cids() -> None:
    with pytest.raises(RecordError):
        cid_digest("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    with pytest.raises(RecordError):
        cid_digest("b" + "a" * 58)  # decodes, but not the raw/sha2-256 prefix


def post(**over: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "v": 1,
        "type": "post",
        "id": "0" * 32,
        "bridge": ADDRESS,
        "created_at": "2024-05-01T12:00:00.000Z",
        "author": {"platform": "telegram", "user_id": "42", "name": "Ålice"},
        "text": 'hi "there" <b>\n',
    }
    record.update(over)
    return record


def test_canonical_form_is_sorted_compact_utf8() -> None:
    data = canonical_json(post())
    assert data.startswith(b'{"author":{"name":"\xc3\x85lice","platform":"telegram"')
    assert b" " not in data.replace(b'hi \\"there\\" <b>', b"")
    assert parse_record(data)["text"] == 'hi "there" <b>\n'
    with pytest.raises(RecordError):
        canonical_json(post(extra=1.5))


def test_non_canonical_bytes_are_refused() -> None:
    data = canonical_json(post())
    with pytest.raises(RecordError, match="canonical"):
        parse_record(data.replace(b'{"author"', b'{ "author"', 1))


@pytest.mark.parametrize(
    "bad",
    [
        {"v": 2},
        {"type": "poll"},
        {"text": ""},
        {"text": "x" * 4097},
        {"id": "not-hex"},
        {"created_at": "yesterday"},
        {"author": {"platform": "telegram", "user_id": "42"}},
        {"author": {"platform": "t", "user_id": "1", "name": "a", "wallet": "0x12"}},
    ],
)
def test_invalid_records_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(RecordError):
        parse_record(canonical_json(post(**bad)))


def test_sign_and_parse_wire_round_trip() -> None:
    signed = sign_record(post(), KEY)
    assert signed.cid == cid_v1_raw(signed.data)
    assert recover_signer(signed.cid, signed.signature) == ADDRESS
    assert signed.signature[-2:] in ("1b", "1c")  # v = 27/28, as personal_sign
    wire = to_wire(signed)
    assert wire.startswith(MARKER)
    again = parse_wire(wire)
    assert again.cid == signed.cid and again.signer == ADDRESS


def test_tampered_or_misattributed_wire_is_refused() -> None:
    signed = sign_record(post(), KEY)
    wire = to_wire(signed)
    with pytest.raises(RecordError):
        parse_wire(wire.replace(b"hi", b"ho"))
    other = bytes(31) + b"\x07"
    forged = sign_record(post(bridge=to_address(public_key(other))), other)
    # A valid signature by another key over a record that names our bridge.
    body = canonical_json(post(text="forged"))
    with pytest.raises(RecordError, match="not signed by the bridge"):
        parse_wire(MARKER + forged.signature.encode() + b"\n" + body)
    with pytest.raises(RecordError):
        parse_wire(MARKER + b"0x12\n" + body)


def test_merkle_tree_sorted_pairs() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(5)]
    root, proofs = merkle_proofs(leaves)
    assert root == merkle_root(reversed(leaves))
    for leaf in leaves:
        assert verify_proof(leaf, proofs[leaf], root)
    assert not verify_proof(hashlib.sha256(b"x").digest(), proofs[leaves[0]], root)
    a, b = sorted(leaves[:2])
    assert merkle_root(leaves[:2]) == keccak256(a + b)
    assert merkle_root(leaves[:1]) == leaves[0]
    with pytest.raises(ValueError):
        merkle_root([])
