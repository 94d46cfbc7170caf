"""Feed records: the versioned JSON format, its canonical bytes, CIDs, signatures, the wire form.

Pure functions, no I/O. A *record* is what the bridge signs and what its CID addresses; an
*entry* (``bridge.feed.reader.Entry``) is a record as a reader sees it, with its CID, its
verified signer, its anchor and whether a tombstone hides it.

Format, version 1 (every key below; optional keys are omitted, never null)::

    post:      {"v":1, "type":"post", "id", "bridge", "created_at", "text",
                "author": {"platform", "user_id", "name", "wallet"?, "ens"?,
                           "avatar"?: {"url", "caip19"?, "verified"}},
                "room"?, "source"?: {"platform", "chat"}}
    tombstone: {"v":1, "type":"tombstone", "id", "bridge", "created_at", "target": <post CID>}
    anchor:    {"v":1, "type":"anchor", "id", "bridge", "created_at", "kind": "each"|"batch",
                "chain_id", "contract", "tx", "block", "root"?,
                "entries": [{"cid", "digest", "proof": ["0x…", …]}]}

Canonical bytes: UTF-8 JSON with sorted keys and no whitespace (``json.dumps(sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``); integers, strings, booleans, arrays and objects
only. For those value types this is RFC 8785 (JCS). A reader refuses a record whose bytes are
not canonical, so one record has exactly one CID.

CID: CIDv1, codec raw (0x55), multihash sha2-256 (0x12, 0x20), multibase base32 lower ("b…"):
what ``ipfs add --cid-version=1 --raw-leaves`` gives for a file under one chunk (256 KiB).
Digest (the on-chain value): sha256 of the canonical bytes, i.e. the CID's multihash digest.

Signature: the bridge key signs the CID string with EIP-191 ``personal_sign``; ``v`` is 27/28,
so ``ethers.verifyMessage(cid, sig)`` gives the bridge's address (the record's ``bridge``).

Wire form (a Waku message on the feed topic, symmetric key ``chat_key(feed name)``, Waku-signed
by the same key): ``b"PARLEY-FEED/1\\n" + b"0x<130 hex signature>\\n" + canonical bytes``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crypto.keccak import keccak256
from crypto.keys import (
    InvalidSignatureError,
    normalize_signature,
    public_key,
    recover_public_key,
    sign_recoverable,
    to_address,
)

__all__ = [
    "MARKER",
    "MAX_RECORD_BYTES",
    "MAX_TEXT_LENGTH",
    "RECORD_VERSION",
    "RecordError",
    "SignedRecord",
    "canonical_json",
    "cid_digest",
    "cid_v1_raw",
    "digest_of",
    "is_wire",
    "parse_record",
    "parse_rfc3339",
    "parse_wire",
    "recover_signer",
    "rfc3339",
    "sign_cid",
    "sign_record",
    "to_wire",
]

RECORD_VERSION = 1
MARKER = b"PARLEY-FEED/1\n"
# A post's text, in code points (Status's own limit, so the ChatMessage carries it whole).
MAX_TEXT_LENGTH = 4096
# Any record on the wire (an anchor record for a full batch is the largest, ~45 KiB).
MAX_RECORD_BYTES = 64 * 1024
_MAX_SHORT = 256
_MAX_URL = 2048
_CID_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])
_CID = re.compile(r"^b[a-z2-7]{58}$")
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_ID = re.compile(r"^[0-9a-f]{32}$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_SIG_LINE = 2 + 130


class RecordError(ValueError):
    """Bytes or a value that are not a valid feed record."""


# --- canonical bytes, CID, digest -----------------------------------------------------------


def _check_value(value: Any, depth: int = 0) -> None:
    if depth > 8:
        raise RecordError("record nests too deeply")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        return
    if isinstance(value, float):
        raise RecordError("records carry no floating-point numbers")
    if isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RecordError("object keys must be strings")
            _check_value(item, depth + 1)
        return
    raise RecordError(f"records cannot carry {type(value).__name__}")


def canonical_json(record: dict[str, Any]) -> bytes:
    """The one byte form of ``record`` (sorted keys, no whitespace, UTF-8)."""
    _check_value(record)
    try:
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate
        raise RecordError(f"record text is not valid Unicode: {exc}") from exc


def digest_of(data: bytes) -> bytes:
    """The 32-byte sha256 digest that CIDs and anchors use."""
    return hashlib.sha256(data).digest()


def cid_v1_raw(data: bytes) -> str:
    """CIDv1 (raw codec, sha2-256) of ``data`` in base32 lower multibase: ``bafkrei…``."""
    encoded = base64.b32encode(_CID_PREFIX + digest_of(data)).decode("ascii")
    return "b" + encoded.lower().rstrip("=")


def cid_digest(cid: str) -> bytes:
    """The sha256 digest inside a CID made by ``cid_v1_raw``; RecordError for any other CID."""
    if not isinstance(cid, str) or not _CID.match(cid):
        raise RecordError("not a base32 CIDv1")
    body = cid[1:].upper()
    raw = base64.b32decode(body + "=" * (-len(body) % 8))
    if raw[:4] != _CID_PREFIX or len(raw) != 36:
        raise RecordError("not a raw sha2-256 CIDv1")
    return raw[4:]


def rfc3339(moment: datetime) -> str:
    """UTC RFC 3339 with milliseconds: ``2024-05-01T12:00:00.000Z``."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> datetime:
    if not isinstance(text, str) or not _RFC3339.match(text):
        raise RecordError("created_at must be RFC 3339 UTC (…Z)")
    head, _, frac = text[:-1].partition(".")
    moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    if frac:
        moment = moment.replace(microsecond=int(frac[:6].ljust(6, "0")))
    return moment


# --- signatures -----------------------------------------------------------------------------


def _eip191_hash(message: bytes) -> bytes:
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def sign_cid(cid: str, private_key: bytes) -> str:
    """EIP-191 personal_sign of the CID string: ``0x`` + r‖s‖v hex, v ∈ {27, 28}."""
    signature = bytearray(sign_recoverable(_eip191_hash(cid.encode("ascii")), private_key))
    signature[64] += 27
    return "0x" + bytes(signature).hex()


def recover_signer(cid: str, signature_hex: str) -> str:
    """The EIP-55 address that signed ``cid``; RecordError for a malformed signature."""
    if not isinstance(signature_hex, str) or not re.fullmatch(r"0x[0-9a-f]{130}", signature_hex):
        raise RecordError("signature must be 0x + 130 lowercase hex digits")
    try:
        signature = normalize_signature(bytes.fromhex(signature_hex[2:]))
        pub = recover_public_key(_eip191_hash(cid.encode("ascii")), signature)
    except (InvalidSignatureError, ValueError) as exc:
        raise RecordError(f"bad signature: {exc}") from exc
    return to_address(pub)


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record in canonical bytes with its CID and the bridge's signature over the CID."""

    data: bytes
    cid: str
    signature: str
    signer: str  # EIP-55 address recovered from ``signature``
    record: dict[str, Any]

    @property
    def digest(self) -> bytes:
        return digest_of(self.data)

    @property
    def type(self) -> str:
        return str(self.record["type"])


def sign_record(record: dict[str, Any], private_key: bytes) -> SignedRecord:
    """Validate, canonicalise and sign a record built by this bridge."""
    expected = to_address(public_key(private_key))
    if record.get("bridge") != expected:
        raise ValueError("record['bridge'] must be the signing key's address")
    data = canonical_json(record)
    parsed = parse_record(data)
    cid = cid_v1_raw(data)
    return SignedRecord(data, cid, sign_cid(cid, private_key), expected, parsed)


# --- validation -----------------------------------------------------------------------------


def _str(obj: dict[str, Any], key: str, limit: int = _MAX_SHORT, *, empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise RecordError(f"{key} must be a string")
    if not empty and not value.strip():
        raise RecordError(f"{key} must not be empty")
    if len(value) > limit:
        raise RecordError(f"{key} is longer than {limit} characters")
    return value


def _opt_str(obj: dict[str, Any], key: str, limit: int = _MAX_SHORT) -> None:
    if key in obj:
        _str(obj, key, limit)


def _obj(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise RecordError(f"{key} must be an object")
    return value


def _int(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise RecordError(f"{key} must be a non-negative integer")
    return value


def _hex32(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _HEX32.match(value):
        raise RecordError(f"{what} must be 0x + 64 lowercase hex digits")
    return value


def _address(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise RecordError(f"{key} must be a 0x-prefixed 20-byte address")
    return value


def _check_post(record: dict[str, Any]) -> None:
    text = _str(record, "text", MAX_TEXT_LENGTH)
    del text
    author = _obj(record, "author")
    _str(author, "platform", 32)
    _str(author, "user_id")
    _str(author, "name")
    if "wallet" in author:
        _address(author, "wallet")
    _opt_str(author, "ens")
    if "avatar" in author:
        avatar = _obj(author, "avatar")
        _str(avatar, "url", _MAX_URL)
        _opt_str(avatar, "caip19", 512)
        if not isinstance(avatar.get("verified"), bool):
            raise RecordError("author.avatar.verified must be a boolean")
    _opt_str(record, "room")
    if "source" in record:
        source = _obj(record, "source")
        _str(source, "platform", 32)
        _str(source, "chat")


def _check_anchor(record: dict[str, Any]) -> None:
    kind = record.get("kind")
    if kind not in ("each", "batch"):
        raise RecordError("anchor kind must be 'each' or 'batch'")
    _int(record, "chain_id")
    _address(record, "contract")
    _hex32(record.get("tx"), "tx")
    _int(record, "block")
    if kind == "batch":
        _hex32(record.get("root"), "root")
    entries = record.get("entries")
    if not isinstance(entries, list) or not 1 <= len(entries) <= 256:
        raise RecordError("entries must be a list of 1..256 items")
    for item in entries:
        if not isinstance(item, dict):
            raise RecordError("each anchor entry must be an object")
        cid = item.get("cid")
        if not isinstance(cid, str):
            raise RecordError("anchor entry cid must be a string")
        digest = cid_digest(cid)
        if _hex32(item.get("digest"), "digest") != "0x" + digest.hex():
            raise RecordError("anchor entry digest differs from its CID's")
        proof = item.get("proof")
        if not isinstance(proof, list) or len(proof) > 64:
            raise RecordError("anchor entry proof must be a list of at most 64 hashes")
        for node in proof:
            _hex32(node, "proof node")


def parse_record(data: bytes) -> dict[str, Any]:
    """Parse and validate a record's canonical bytes (hostile input: bounded, strict)."""
    if not isinstance(data, bytes) or len(data) > MAX_RECORD_BYTES:
        raise RecordError(f"a record is bytes of at most {MAX_RECORD_BYTES}")
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise RecordError(f"not UTF-8 JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise RecordError("a record is a JSON object")
    if canonical_json(record) != data:
        raise RecordError("record bytes are not in canonical form")
    if record.get("v") != RECORD_VERSION or isinstance(record.get("v"), bool):
        raise RecordError(f"unsupported record version {record.get('v')!r}")
    if not isinstance(record.get("id"), str) or not _ID.match(record["id"]):
        raise RecordError("id must be 32 lowercase hex digits")
    _address(record, "bridge")
    parse_rfc3339(record.get("created_at"))  # type: ignore[arg-type]
    kind = record.get("type")
    if kind == "post":
        _check_post(record)
    elif kind == "tombstone":
        cid_digest(record.get("target"))  # type: ignore[arg-type]
    elif kind == "anchor":
        _check_anchor(record)
    else:
        raise RecordError(f"unknown record type {kind!r}")
    return record


# --- the wire form --------------------------------------------------------------------------


def to_wire(signed: SignedRecord) -> bytes:
    """The plaintext of the Waku message that carries ``signed``."""
    return MARKER + signed.signature.encode("ascii") + b"\n" + signed.data


def is_wire(plaintext: bytes) -> bool:
    return plaintext.startswith(MARKER)


def parse_wire(plaintext: bytes) -> SignedRecord:
    """Parse and verify a record message: canonical, valid, signed by its ``bridge``."""
    if not plaintext.startswith(MARKER):
        raise RecordError("not a feed record message")
    body = plaintext[len(MARKER) :]
    if len(body) < _SIG_LINE + 1 or body[_SIG_LINE : _SIG_LINE + 1] != b"\n":
        raise RecordError("no signature line")
    try:
        signature = body[:_SIG_LINE].decode("ascii")
    except UnicodeDecodeError as exc:
        raise RecordError("signature line is not ASCII") from exc
    data = body[_SIG_LINE + 1 :]
    record = parse_record(data)
    cid = cid_v1_raw(data)
    signer = recover_signer(cid, signature)
    if signer.lower() != str(record["bridge"]).lower():
        raise RecordError("the record is not signed by the bridge it names")
    return SignedRecord(data, cid, signature, signer, record)
