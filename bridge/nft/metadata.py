"""Read NFT metadata JSON (ERC-721/1155 and OpenSea conventions) into the few fields we use.

Bounded and defensive: size-capped, must be a JSON object, strings trimmed and stripped of
control characters. ``animation_url`` and ``external_url`` are ignored: they may be HTML and are
never rendered. :func:`load_metadata` is the thin I/O wrapper: resolve the token URI, fetch it
safely (or decode it inline) and parse it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.names import clean_text
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchError, FetchPolicy, fetch
from bridge.nft.uri import Inline, UriError, Url, resolve_uri

__all__ = [
    "MAX_METADATA_BYTES",
    "MetadataError",
    "NftMetadata",
    "load_metadata",
    "parse_metadata",
]

MAX_METADATA_BYTES = 256 * 1024
_MAX_TEXT = 200
_MAX_DEPTH = 32
_MAX_IMAGE_REF = 4 * 1024 * 1024
_JSON_TYPES = frozenset({"application/json", "text/plain", "application/octet-stream"})


class MetadataError(ValueError):
    """The metadata is missing, too large or not a usable JSON object.

    ``public``: the reason to show a user (no network detail such as DNS answers); the message
    itself is the detail for the log.
    """

    def __init__(self, detail: str, *, public: str | None = None) -> None:
        super().__init__(detail)
        self.public = public if public is not None else detail


@dataclass(frozen=True)
class NftMetadata:
    """What the bridge uses from a token's metadata.

    ``image`` is a URI to resolve with :func:`bridge.nft.uri.resolve_uri`, or inline SVG
    (``Inline("image/svg+xml", ...)``) when only ``image_data`` was given, or None.
    """

    name: str | None
    collection: str | None
    image: str | Inline | None


def _text(value: Any) -> str | None:
    """A display-safe single-line string, or None."""
    if not isinstance(value, str):
        return None
    # Format characters (bidi overrides, zero-width joiners) can disguise a name.
    cleaned = clean_text(value[: _MAX_TEXT * 4])[:_MAX_TEXT]
    return cleaned or None


def _image_ref(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > _MAX_IMAGE_REF:
        return None
    return str(value)


def _collection(obj: Mapping[str, Any]) -> str | None:
    collection = obj.get("collection")
    if isinstance(collection, Mapping):
        return _text(collection.get("name"))
    return _text(collection) or _text(obj.get("collection_name"))


def _too_deep(text: str, limit: int) -> bool:
    """True when arrays/objects nest deeper than ``limit`` (outside strings).

    json's C parser recurses once per level, bounded only by the interpreter's recursion limit
    (which libraries raise): a cheap scan keeps hostile nesting from reaching it.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def parse_metadata(raw: bytes | str, *, max_bytes: int = MAX_METADATA_BYTES) -> NftMetadata:
    """Parse metadata JSON; raises MetadataError when it is too big or not a JSON object."""
    data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    if len(data) > max_bytes:
        raise MetadataError(f"the metadata is larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MetadataError("the metadata is not valid UTF-8 JSON") from exc
    if _too_deep(text, _MAX_DEPTH):
        raise MetadataError(f"the metadata nests deeper than {_MAX_DEPTH} levels")
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MetadataError("the metadata is not valid JSON") from exc
    if not isinstance(obj, dict):
        raise MetadataError("the metadata must be a JSON object")
    image: str | Inline | None = _image_ref(obj.get("image")) or _image_ref(obj.get("image_url"))
    if image is None:
        svg = _image_ref(obj.get("image_data"))
        if svg is not None:
            # image_data is raw SVG markup; it is handed on as SVG, which the image stage refuses
            # or rasterises without fetching anything.
            image = Inline("image/svg+xml", svg.encode("utf-8"))
    return NftMetadata(name=_text(obj.get("name")), collection=_collection(obj), image=image)


async def load_metadata(
    token_uri: str,
    *,
    ipfs_gateway: str,
    arweave_gateway: str,
    token_id: int | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
    timeout: float = 10.0,  # noqa: ASYNC109 - passed down to fetch()
    max_bytes: int = MAX_METADATA_BYTES,
) -> NftMetadata:
    """Resolve, fetch (SSRF-safe) and parse the metadata a token URI names.

    Raises MetadataError, wrapping URI and fetch failures with their reason.
    """
    try:
        where = resolve_uri(
            token_uri,
            ipfs_gateway=ipfs_gateway,
            arweave_gateway=arweave_gateway,
            token_id=token_id,
            max_inline=max_bytes,
        )
    except UriError as exc:
        raise MetadataError(f"unusable token URI: {exc}") from exc
    if isinstance(where, Inline):
        if where.media_type != "application/json":
            raise MetadataError(f"the token URI holds {where.media_type}, not JSON metadata")
        return parse_metadata(where.data, max_bytes=max_bytes)
    assert isinstance(where, Url)
    try:
        result = await fetch(
            where.url, policy=policy, max_bytes=max_bytes, accept=_JSON_TYPES, timeout=timeout
        )
    except FetchError as exc:
        raise MetadataError(
            f"could not fetch the metadata: {exc}",
            public=f"could not fetch the metadata: {exc.public}",
        ) from exc
    return parse_metadata(result.body, max_bytes=max_bytes)
