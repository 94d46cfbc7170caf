"""Status community ids and status.app links, parsed the way status-go parses them.

Followed: status-go c72f491 ``protocol/messenger_share_urls.go`` (``ParseSharedURL``),
``services/utils`` / ``multiformat`` (``zQ3…`` keys). A link is one of

- ``https://status.app/c#<key>``: a community;
- ``https://status.app/c/<data>#<key>``: a community, with its name and shard in ``data``;
- ``https://status.app/cc/<uuid>#<key>``: a channel;
- ``https://status.app/cc/<data>#<key>``: a channel, its UUID (and name, shard) in ``data``.

``<key>`` is the community's compressed public key as multibase base58btc (``z``) of the
multicodec ``secp256k1-pub`` (varint 0xe7) prefix and the 33-byte key, which begins ``zQ3sh``.
``<data>`` is URL-safe base64 of brotli-compressed ``URLData`` (status-go reads at most
4096 bytes of it).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import base58
import brotli  # type: ignore[import-untyped]
import coincurve
from google.protobuf.message import DecodeError

from bridge.proto import communities_pb2 as pb

__all__ = [
    "CHANNEL_UUID",
    "CommunityRef",
    "LinkError",
    "community_id_from_key",
    "decode_compressed_key",
    "parse_community",
]

_BASE = "https://status.app/"
# status-go channelUUIDRegExp
CHANNEL_UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-5][0-9a-f]{3}-[089ab][0-9a-f]{3}-[0-9a-f]{12}$"
)
_HEX_ID = re.compile(r"^0x[0-9a-fA-F]{66}$")
_SECP256K1_PUB = b"\xe7\x01"  # multicodec 0xe7 as an unsigned varint
_MAX_LINK = 8192
# decodeDataURL reads one 4096-byte buffer; more is not a link status-go made.
_MAX_DATA = 4096


class LinkError(ValueError):
    """A community id or status.app link that status-go would not accept."""


@dataclass(frozen=True, slots=True)
class CommunityRef:
    """What a ``status_community`` value names."""

    community_id: str  # "0x" + 66 lowercase hex: the compressed community public key
    channel_uuid: str | None = None
    channel_name: str | None = None
    shard: tuple[int, int] | None = None  # (cluster, index) when the link says


def community_id_from_key(compressed: bytes) -> str:
    if len(compressed) != 33 or compressed[0] not in (2, 3):
        raise LinkError("a community key must be a 33-byte compressed secp256k1 public key")
    try:
        coincurve.PublicKey(compressed)
    except ValueError as exc:
        raise LinkError("the community key is not a point on secp256k1") from exc
    return "0x" + compressed.hex()


def decode_compressed_key(key: str) -> str:
    """``zQ3…`` (multibase base58btc, multicodec secp256k1-pub) → community id ``0x…``."""
    if not key.startswith("z") or len(key) > 100:
        raise LinkError(f"{key[:20]!r} is not a zQ3… compressed key (multibase base58btc)")
    try:
        raw = base58.b58decode(key[1:])
    except ValueError as exc:
        raise LinkError(f"{key[:20]!r} is not valid base58") from exc
    if not raw.startswith(_SECP256K1_PUB):
        raise LinkError("the key is not a secp256k1 public key (multicodec 0xe7)")
    return community_id_from_key(raw[len(_SECP256K1_PUB) :])


def _decode_data(data: str) -> bytes:
    if len(data) > _MAX_LINK:
        raise LinkError("the link's data part is too long")
    try:
        # Go's URLEncoding pads; chat apps sometimes strip the padding, which changes nothing.
        padded = data + "=" * (-len(data) % 4)
        compressed = base64.b64decode(padded, altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LinkError("the link's data part is not URL-safe base64") from exc
    decompressor = brotli.Decompressor()
    try:
        out: bytes = decompressor.process(compressed, output_buffer_limit=_MAX_DATA + 1)
    except brotli.error as exc:
        raise LinkError("the link's data part is not brotli-compressed") from exc
    if len(out) > _MAX_DATA:
        raise LinkError("the link's data part is too large")
    return out


def _url_data(data: str) -> pb.URLData:
    message = pb.URLData()
    try:
        message.ParseFromString(_decode_data(data))
    except DecodeError as exc:
        raise LinkError("the link's data part is not Status URLData") from exc
    return message


def _shard(message: pb.URLData) -> tuple[int, int] | None:
    if not message.HasField("shard"):
        return None
    return (message.shard.cluster, message.shard.index)


def _split(rest: str) -> tuple[str, str]:
    data, sep, key = rest.partition("#")
    if not sep:
        raise LinkError("the link has no '#<community key>' part")
    return data, key


def _parse_link(url: str) -> CommunityRef:
    path = url[len(_BASE) :]
    if path.startswith("c#"):
        return CommunityRef(decode_compressed_key(path[2:]))
    if path.startswith("c/"):
        data, key = _split(path[2:])
        community = decode_compressed_key(key)
        message = _url_data(data)
        try:
            pb.Community().ParseFromString(message.content)
        except DecodeError as exc:
            raise LinkError("the link's data does not describe a community") from exc
        return CommunityRef(community, shard=_shard(message))
    if path.startswith("cc/"):
        data, key = _split(path[3:])
        community = decode_compressed_key(key)
        if CHANNEL_UUID.match(data):
            return CommunityRef(community, channel_uuid=data)
        message = _url_data(data)
        channel = pb.Channel()
        try:
            channel.ParseFromString(message.content)
        except DecodeError as exc:
            raise LinkError("the link's data does not describe a channel") from exc
        if not CHANNEL_UUID.match(channel.uuid):
            raise LinkError(f"the link's channel id {channel.uuid[:40]!r} is not a UUID")
        return CommunityRef(
            community,
            channel_uuid=channel.uuid,
            channel_name=channel.display_name or None,
            shard=_shard(message),
        )
    if path.startswith(("u#", "u/")):
        raise LinkError("this is a link to a Status user profile, not to a community")
    raise LinkError("not a status.app community or channel link")


def parse_community(value: str) -> CommunityRef:
    """A ``status_community`` value: ``0x`` + 66 hex, a ``zQ3…`` key, or a status.app link."""
    value = value.strip()
    if len(value) > _MAX_LINK:
        raise LinkError("too long for a community id or link")
    if value.startswith("0x") or value.startswith("0X"):
        if not _HEX_ID.match(value):
            raise LinkError(
                "a community id is 0x followed by 66 hex digits (the compressed public key)"
            )
        return CommunityRef(community_id_from_key(bytes.fromhex(value[2:])))
    if value.startswith("zQ3"):
        return CommunityRef(decode_compressed_key(value))
    if value.startswith(_BASE):
        return _parse_link(value)
    raise LinkError(
        "expected a community id (0x + 66 hex), a zQ3… key, or a https://status.app/c… link"
    )
