"""The nwaku REST wire shapes (docs/PROTOCOL.md §9) and their strict conversion to Parley's types.

Both the embedded node's REST server and the nwaku REST client speak through this module, so
the two sides cannot drift apart. Everything read here is treated as hostile: JSON is parsed
strictly (no duplicate keys, no NaN), every field is type- and range-checked, byte fields are
strict standard base64, and hashes are 32-byte hex as nwaku prints them (``0x…``).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from bridge.waku.message import MAX_META_SIZE, WakuMessage, message_hash
from bridge.waku.node import HistoryPage, HistoryQuery, ReceivedMessage

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "HASH_SIZE",
    "MAX_CONTENT_TOPICS_PER_QUERY",
    "MAX_HASHES_PER_QUERY",
    "MAX_PAGE_SIZE",
    "HealthJson",
    "RelayMessageJson",
    "StoreEntryJson",
    "StoreMessageJson",
    "StoreResponse",
    "StoreResponseJson",
    "WireError",
    "b64decode",
    "b64encode",
    "hash_from_hex",
    "hash_to_hex",
    "message_from_node_json",
    "parse_health",
    "parse_json",
    "parse_store_response",
    "parse_topic_list",
    "relay_message_from_json",
    "relay_message_to_json",
    "store_message_to_json",
    "store_query_from_params",
    "store_query_to_params",
    "store_response_to_json",
]

log = logging.getLogger(__name__)

# nwaku waku_store/common.nim and waku_archive/archive.nim.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_CONTENT_TOPICS_PER_QUERY = 10
# nwaku sets no bound; this one only stops a query string from naming unbounded hashes.
MAX_HASHES_PER_QUERY = 100
HASH_SIZE = 32

_UINT32_MAX = 2**32 - 1
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
# nim's parseBool (what nwaku's includeData goes through).
_TRUE = frozenset({"y", "yes", "true", "1", "on"})
_FALSE = frozenset({"n", "no", "false", "0", "off"})


class WireError(ValueError):
    """JSON or a query parameter that does not have the shape nwaku's REST API defines."""


class RelayMessageJson(TypedDict):
    """A message as ``/relay/v1/messages`` carries it (nwaku ``RelayWakuMessage``)."""

    payload: str
    contentTopic: str
    version: NotRequired[int]
    timestamp: NotRequired[int]
    meta: NotRequired[str]
    ephemeral: NotRequired[bool]
    proof: NotRequired[str]


class StoreMessageJson(TypedDict):
    """A message inside a store v3 response (nwaku store ``WakuMessage`` serde)."""

    payload: str
    contentTopic: str
    version: int
    timestamp: int
    ephemeral: bool
    meta: NotRequired[str]
    proof: NotRequired[str]


class StoreEntryJson(TypedDict):
    messageHash: str
    message: NotRequired[StoreMessageJson]
    pubsubTopic: NotRequired[str]


class StoreResponseJson(TypedDict):
    requestId: str
    statusCode: int
    statusDesc: str
    messages: list[StoreEntryJson]
    paginationCursor: NotRequired[str]


class HealthJson(TypedDict):
    nodeHealth: str
    protocolsHealth: list[dict[str, str]]


# --- primitives -------------------------------------------------------------------------


def parse_json(body: bytes) -> object:
    """Parse a JSON document strictly: UTF-8, no duplicate keys, no NaN/Infinity."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise WireError(f"Multiple `{key}` fields found")
            out[key] = value
        return out

    def no_constants(name: str) -> object:
        raise WireError(f"{name} is not valid JSON")

    try:
        return json.loads(
            body.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
        )
    except WireError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, int limits
        raise WireError(f"invalid JSON: {exc}") from exc


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: object, field: str) -> bytes:
    """Strict standard-alphabet base64 (nwaku's alphabet); anything else is a WireError."""
    if not isinstance(value, str):
        raise WireError(f"`{field}` must be a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise WireError(f"`{field}` is not valid base64: {exc}") from exc


def hash_to_hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def hash_from_hex(value: object, field: str = "hash") -> bytes:
    """A 32-byte message hash as hex, with or without ``0x`` (nwaku's hexToSeqByte)."""
    if not isinstance(value, str):
        raise WireError(f"`{field}` must be a hex string")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if len(text) != 2 * HASH_SIZE:
        raise WireError(f"`{field}`: invalid hash length, expected {HASH_SIZE} bytes of hex")
    try:
        return bytes.fromhex(text)
    except ValueError as exc:
        raise WireError(f"`{field}` is not hex: {exc}") from exc


def _int(value: object, field: str, lo: int, hi: int) -> int:
    # bool is an int subclass in Python but never a JSON number.
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WireError(f"`{field}` must be an integer in [{lo}, {hi}]")
    return value


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"`{field}` must be a boolean")
    return value


def _str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise WireError(f"`{field}` must be a string")
    return value


def _object(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise WireError(f"{what} must be a JSON object")
    return value


def _checked(message: WakuMessage) -> WakuMessage:
    # encode() enforces the codec's ranges (content topic length, meta ≤ 64, size bound).
    try:
        message.encode()
    except ValueError as exc:
        raise WireError(str(exc)) from exc
    return message


# --- messages ---------------------------------------------------------------------------


def relay_message_to_json(message: WakuMessage) -> RelayMessageJson:
    """The relay GET shape: nwaku always writes version, timestamp, ephemeral and proof."""
    out: RelayMessageJson = {
        "payload": b64encode(message.payload),
        "contentTopic": message.content_topic,
        "version": message.version,
        "timestamp": message.timestamp or 0,
    }
    if message.meta:
        out["meta"] = b64encode(message.meta)
    out["ephemeral"] = message.ephemeral
    out["proof"] = b64encode(message.rate_limit_proof or b"")
    return out


def relay_message_from_json(value: object) -> WakuMessage:
    """A publish body, validated as nwaku's REST layer does.

    ``payload`` and ``contentTopic`` are required and non-empty; unknown fields are ignored (as
    nwaku does); a missing or zero timestamp comes back as None for the node to fill in.
    """
    obj = _object(value, "message")
    payload_text = obj.get("payload")
    if not isinstance(payload_text, str) or not payload_text.strip():
        raise WireError("Field `payload` is missing or empty")
    content_topic = obj.get("contentTopic")
    if not isinstance(content_topic, str) or not content_topic.strip():
        raise WireError("Field `contentTopic` is missing or empty")
    payload = b64decode(payload_text, "payload")
    if not payload:
        raise WireError("Field `payload` is missing or empty")
    version = _int(obj.get("version", 0), "version", 0, _UINT32_MAX)
    timestamp = _int(obj.get("timestamp", 0), "timestamp", _INT64_MIN, _INT64_MAX)
    meta = b64decode(obj["meta"], "meta") if "meta" in obj else b""
    if len(meta) > MAX_META_SIZE:
        raise WireError(f"`meta` is {len(meta)} bytes, max {MAX_META_SIZE}")
    proof = b64decode(obj["proof"], "proof") if "proof" in obj else b""
    ephemeral = _bool(obj.get("ephemeral", False), "ephemeral")
    return _checked(
        WakuMessage(
            payload=payload,
            content_topic=content_topic,
            version=version,
            timestamp=timestamp or None,
            meta=meta or None,
            ephemeral=ephemeral,
            rate_limit_proof=proof or None,
        )
    )


def store_message_to_json(message: WakuMessage) -> StoreMessageJson:
    """The store v3 shape: meta and proof only when non-empty."""
    out: StoreMessageJson = {
        "payload": b64encode(message.payload),
        "contentTopic": message.content_topic,
        "version": message.version,
        "timestamp": message.timestamp or 0,
        "ephemeral": message.ephemeral,
    }
    if message.meta:
        out["meta"] = b64encode(message.meta)
    if message.rate_limit_proof:
        out["proof"] = b64encode(message.rate_limit_proof)
    return out


def message_from_node_json(value: object) -> WakuMessage:
    """A message a node sent us (relay GET or store v3 entry); strict on every field it has.

    nwaku encodes "no meta"/"no proof" as absent or empty; both become None, which hashes the
    same (docs/PROTOCOL.md §3).
    """
    obj = _object(value, "message")
    payload = b64decode(obj.get("payload"), "payload")
    if not payload:
        raise WireError("`payload` is empty")
    content_topic = _str(obj.get("contentTopic"), "contentTopic")
    version = _int(obj.get("version", 0), "version", 0, _UINT32_MAX)
    timestamp = _int(obj.get("timestamp", 0), "timestamp", _INT64_MIN, _INT64_MAX)
    meta = b64decode(obj["meta"], "meta") if obj.get("meta") is not None else b""
    proof = b64decode(obj["proof"], "proof") if obj.get("proof") is not None else b""
    ephemeral = _bool(obj.get("ephemeral", False), "ephemeral")
    return _checked(
        WakuMessage(
            payload=payload,
            content_topic=content_topic,
            version=version,
            timestamp=timestamp,
            meta=meta or None,
            ephemeral=ephemeral,
            rate_limit_proof=proof or None,
        )
    )


def parse_topic_list(value: object, *, max_items: int) -> list[str]:
    """A subscription body: a JSON array of topic strings, de-duplicated in order."""
    if not isinstance(value, list):
        raise WireError("expected a JSON array of topics")
    if len(value) > max_items:
        raise WireError(f"too many topics: {len(value)} > {max_items}")
    out: list[str] = []
    for item in value:
        topic = _str(item, "topic")
        if topic not in out:
            out.append(topic)
    return out


# --- store v3 ---------------------------------------------------------------------------


def _parse_bool(text: str, field: str) -> bool:
    norm = text.replace("_", "").lower()
    if norm in _TRUE:
        return True
    if norm in _FALSE:
        return False
    raise WireError(f"{field} parsing error: cannot interpret {text!r} as a bool")


def _parse_time(text: str | None, field: str) -> int | None:
    # nwaku: only a positive time is a bound; empty, zero and negative mean "none".
    if not text:
        return None
    try:
        value = int(text, 10)
    except ValueError as exc:
        raise WireError(f"{field} parsing error: {exc}") from exc
    if value > _INT64_MAX or value < _INT64_MIN:
        raise WireError(f"{field} parsing error: out of int64 range")
    return value if value > 0 else None


def store_query_from_params(params: Mapping[str, str]) -> HistoryQuery:
    """``GET /store/v3/messages`` query parameters as nwaku's REST store handler reads them.

    ``ascending`` is forward only when it is exactly ``"true"`` (nwaku compares the string),
    omitted means forward; ``pageSize`` 0 or absent means 20, and it is capped at 100.
    """
    include = params.get("includeData", "")
    include_data = _parse_bool(include, "include data") if include else False
    pubsub_topic = params.get("pubsubTopic") or None
    ct_text = params.get("contentTopics", "")
    content_topics = [ct for ct in ct_text.split(",") if ct] if ct_text else []
    if len(content_topics) > MAX_CONTENT_TOPICS_PER_QUERY:
        raise WireError(f"too many content topics (max {MAX_CONTENT_TOPICS_PER_QUERY})")
    hashes_text = params.get("hashes", "")
    hash_items = [h for h in hashes_text.split(",") if h] if hashes_text else []
    if len(hash_items) > MAX_HASHES_PER_QUERY:
        raise WireError(f"too many hashes (max {MAX_HASHES_PER_QUERY})")
    hashes = [hash_from_hex(h, "hashes") for h in hash_items]
    cursor_text = params.get("cursor", "")
    cursor = hash_from_hex(cursor_text, "cursor") if cursor_text else None
    if cursor == bytes(HASH_SIZE):
        raise WireError("all zeroes cursor hash")
    ascending_text = params.get("ascending", "")
    ascending = ascending_text == "true" if ascending_text else True
    size_text = params.get("pageSize", "")
    page_size = DEFAULT_PAGE_SIZE
    if size_text:
        try:
            requested = int(size_text, 10)
        except ValueError as exc:
            raise WireError(f"page size parsing error: {exc}") from exc
        if requested < 0:
            raise WireError("page size parsing error: negative")
        page_size = min(requested, MAX_PAGE_SIZE) if requested > 0 else DEFAULT_PAGE_SIZE
    return HistoryQuery(
        pubsub_topic=pubsub_topic,
        content_topics=tuple(content_topics),
        start_time=_parse_time(params.get("startTime"), "time"),
        end_time=_parse_time(params.get("endTime"), "time"),
        hashes=tuple(hashes),
        cursor=cursor,
        page_size=page_size,
        ascending=ascending,
        include_data=include_data,
    )


def store_query_to_params(query: HistoryQuery, *, peer_addr: str | None = None) -> dict[str, str]:
    """The query string for a store v3 request; values are URL-encoded by the HTTP client."""
    params: dict[str, str] = {
        "includeData": "true" if query.include_data else "false",
        "ascending": "true" if query.ascending else "false",
        "pageSize": str(query.page_size),
    }
    if peer_addr:
        params["peerAddr"] = peer_addr
    if query.pubsub_topic:
        params["pubsubTopic"] = query.pubsub_topic
    if query.content_topics:
        if any("," in ct for ct in query.content_topics):
            raise ValueError("a content topic containing ',' cannot be sent to nwaku's REST API")
        params["contentTopics"] = ",".join(query.content_topics)
    if query.start_time is not None:
        params["startTime"] = str(query.start_time)
    if query.end_time is not None:
        params["endTime"] = str(query.end_time)
    if query.hashes:
        params["hashes"] = ",".join(hash_to_hex(h) for h in query.hashes)
    if query.cursor is not None:
        params["cursor"] = hash_to_hex(query.cursor)
    return params


def store_response_to_json(page: HistoryPage, request_id: str) -> StoreResponseJson:
    entries: list[StoreEntryJson] = []
    if page.messages:
        for received in page.messages:
            entries.append(
                {
                    "messageHash": hash_to_hex(received.hash),
                    "message": store_message_to_json(received.message),
                    "pubsubTopic": received.pubsub_topic,
                }
            )
    else:
        entries = [{"messageHash": hash_to_hex(h)} for h in page.hashes]
    out: StoreResponseJson = {
        "requestId": request_id,
        "statusCode": 200,
        "statusDesc": "OK",
        "messages": entries,
    }
    if page.cursor is not None:
        out["paginationCursor"] = hash_to_hex(page.cursor)
    return out


@dataclass(frozen=True, slots=True)
class StoreResponse:
    status_code: int
    status_desc: str
    page: HistoryPage
    dropped: int  # malformed entries left out


def parse_store_response(value: object, *, default_pubsub_topic: str | None) -> StoreResponse:
    """A store v3 response. A malformed entry is dropped (and counted), never fatal; a
    malformed envelope is a WireError. Each message's hash is recomputed and must match."""
    obj = _object(value, "store response")
    status_code = _int(obj.get("statusCode"), "statusCode", 0, _UINT32_MAX)
    status_desc = _str(obj.get("statusDesc", ""), "statusDesc")
    entries = obj.get("messages", [])
    if not isinstance(entries, list):
        raise WireError("`messages` must be an array")
    cursor_value = obj.get("paginationCursor")
    cursor = None if cursor_value in (None, "") else hash_from_hex(cursor_value, "cursor")
    messages: list[ReceivedMessage] = []
    hashes: list[bytes] = []
    dropped = 0
    for entry in entries:
        try:
            item = _object(entry, "store entry")
            digest = hash_from_hex(item.get("messageHash"), "messageHash")
            if item.get("message") is None:
                hashes.append(digest)
                continue
            message = message_from_node_json(item["message"])
            topic_value = item.get("pubsubTopic", default_pubsub_topic)
            if topic_value is None:
                raise WireError("entry has no pubsubTopic")
            topic = _str(topic_value, "pubsubTopic")
            if message_hash(topic, message) != digest:
                raise WireError("messageHash does not match the message")
        except WireError as exc:
            dropped += 1
            log.warning("dropping a malformed store entry: %s", exc)
            continue
        hashes.append(digest)
        messages.append(ReceivedMessage(topic, message, digest))
    return StoreResponse(status_code, status_desc, HistoryPage(messages, cursor, hashes), dropped)


def parse_health(value: object) -> tuple[str, dict[str, str]]:
    """``GET /health``: the node's status and each protocol's, e.g. ``{"Relay": "READY"}``."""
    obj = _object(value, "health report")
    node = _str(obj.get("nodeHealth"), "nodeHealth")
    protocols: dict[str, str] = {}
    items = obj.get("protocolsHealth", [])
    if not isinstance(items, list):
        raise WireError("`protocolsHealth` must be an array")
    for item in items[:64]:
        if not isinstance(item, dict):
            continue
        for key, status in item.items():
            if key != "desc" and isinstance(status, str):
                protocols[key[:64]] = status[:64]
    return node, protocols
