"""Turn a token URI or image URI, as found on chain or in metadata, into a fetchable URL or data.

Pure: no I/O. IPFS/IPNS/Arweave forms and hard-coded third-party gateways are rewritten to the
configured gateways; ``data:`` URIs and raw JSON are decoded inline; every other scheme
(javascript:, file:, ftp:, ...) is refused. Fetching is :mod:`bridge.nft.safe_fetch`'s job.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes, urlsplit

__all__ = [
    "INLINE_MEDIA_TYPES",
    "Inline",
    "Resolved",
    "UriError",
    "Url",
    "erc1155_id",
    "resolve_uri",
]

# Inline data worth decoding; text/html and the like are never rendered.
INLINE_MEDIA_TYPES = frozenset(
    {"application/json", "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"}
)
DEFAULT_MAX_INLINE = 2 * 1024 * 1024
_MAX_URL_LENGTH = 4096

_CID_V0 = r"Qm[1-9A-HJ-NP-Za-km-z]{44}"
# CIDv1 in its usual multibase forms: base32 (b/B), base36 (k), base58btc (z), base16 (f).
_CID_V1 = r"b[a-z2-7]{50,}|B[A-Z2-7]{50,}|k[0-9a-z]{40,}|z[1-9A-HJ-NP-Za-km-z]{40,}|f[0-9a-f]{50,}"
_CID = re.compile(rf"(?:{_CID_V0}|{_CID_V1})")
_CID_V1_LOWER = re.compile(r"b[a-z2-7]{50,}|k[0-9a-z]{40,}")
_IPNS_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
_ARWEAVE_ID = re.compile(r"[A-Za-z0-9_\-]{43}")
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+")
# Characters kept as they are in rewritten paths; anything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


class UriError(ValueError):
    """The URI is malformed or of a kind that is never fetched or rendered."""


@dataclass(frozen=True)
class Url:
    """Fetch this http(s) URL (through :func:`bridge.nft.safe_fetch.fetch`)."""

    url: str


@dataclass(frozen=True)
class Inline:
    """The content was carried by the URI itself (``data:`` or raw JSON)."""

    media_type: str
    data: bytes


Resolved = Url | Inline


def erc1155_id(token_id: int) -> str:
    """The ERC-1155 ``{id}`` substitution: 64 lowercase hex digits, no 0x."""
    if not 0 <= token_id < 2**256:
        raise UriError("token IDs are 256-bit unsigned integers")
    return f"{token_id:064x}"


def _gateway(base: str) -> str:
    base = base.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise UriError(f"gateway {base!r} must be an http(s) URL")
    return base


def _clean_path(path: str) -> str:
    """A path suffix ("" or "/...") safe to append to a gateway URL."""
    segments = path.split("/")
    if any(s in (".", "..") for s in segments):
        raise UriError("paths with . or .. segments are not allowed")
    return quote(path, safe=_PATH_SAFE)


def _query(query: str) -> str:
    return "?" + quote(query, safe=_PATH_SAFE + "?") if query else ""


def _ipfs(rest: str, gateway: str, query: str) -> Url:
    """``<cid>[/path]`` (after ``ipfs://``, ``/ipfs/`` or nothing) on the configured gateway."""
    cid, slash, path = rest.partition("/")
    if not _CID.fullmatch(cid):
        raise UriError(f"{cid[:80]!r} is not an IPFS CID")
    suffix = _clean_path("/" + path) if slash else ""
    return Url(f"{gateway}/ipfs/{cid}{suffix}{_query(query)}")


def _ipns(rest: str, gateway: str, query: str) -> Url:
    name, slash, path = rest.partition("/")
    if not _IPNS_NAME.fullmatch(name) or len(name) > 253:
        raise UriError(f"{name[:80]!r} is not an IPNS name")
    suffix = _clean_path("/" + path) if slash else ""
    return Url(f"{gateway}/ipns/{name}{suffix}{_query(query)}")


def _arweave(rest: str, gateway: str) -> Url:
    tx, slash, path = rest.partition("/")
    if not _ARWEAVE_ID.fullmatch(tx):
        raise UriError(f"{tx[:80]!r} is not an Arweave transaction ID (43 characters)")
    return Url(f"{gateway}/{tx}{_clean_path('/' + path) if slash else ''}")


def _data(uri: str, max_bytes: int) -> Inline:
    header, comma, payload = uri[5:].partition(",")
    if not comma:
        raise UriError("a data: URI needs a comma before its data")
    params = [p.strip() for p in header.split(";")]
    media_type = params[0].lower() or "text/plain"
    is_base64 = any(p.lower() == "base64" for p in params[1:])
    if not _MEDIA_TYPE.fullmatch(media_type):
        raise UriError("the data: URI's media type is malformed")
    if media_type not in INLINE_MEDIA_TYPES:
        raise UriError(f"inline {media_type} content is not accepted")
    # base64 grows data by 4/3 and percent-encoding by up to 3: refuse early on the text size.
    if len(payload) > max_bytes * 3:
        raise UriError(f"the inline data is larger than {max_bytes} bytes")
    if is_base64:
        compact = re.sub(r"\s+", "", unquote_to_bytes(payload).decode("ascii", "replace"))
        compact += "=" * (-len(compact) % 4)
        try:
            data = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            try:
                data = base64.b64decode(compact, altchars=b"-_", validate=True)
            except (binascii.Error, ValueError) as exc:
                raise UriError("the data: URI's base64 is malformed") from exc
    else:
        data = unquote_to_bytes(payload)
    if len(data) > max_bytes:
        raise UriError(f"the inline data is larger than {max_bytes} bytes")
    return Inline(media_type, data)


def _rewrite_gateway(uri: str, ipfs_gateway: str, arweave_gateway: str) -> Url:
    """Move IPFS/Arweave content off hard-coded third-party gateways onto ours."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    path = parts.path
    if path.startswith("/ipfs/") and _CID.fullmatch(path[6:].partition("/")[0]):
        return _ipfs(path[6:], ipfs_gateway, parts.query)
    if path.startswith("/ipns/") and path[6:]:
        return _ipns(path[6:], ipfs_gateway, parts.query)
    # Subdomain gateways: https://<cidv1>.ipfs.<gateway>/path (CIDv1 is lower-case there).
    labels = host.split(".")
    if len(labels) >= 3 and labels[1] == "ipfs" and _CID_V1_LOWER.fullmatch(labels[0]):
        return _ipfs(labels[0] + path, ipfs_gateway, parts.query)
    if len(labels) >= 3 and labels[1] == "ipns":
        return _ipns(labels[0] + path, ipfs_gateway, parts.query)
    if host in ("arweave.net", "www.arweave.net") and _ARWEAVE_ID.fullmatch(
        path[1:].partition("/")[0]
    ):
        return _arweave(path[1:], arweave_gateway)
    return Url(uri)


def resolve_uri(
    uri: str,
    *,
    ipfs_gateway: str,
    arweave_gateway: str,
    token_id: int | None = None,
    max_inline: int = DEFAULT_MAX_INLINE,
) -> Resolved:
    """Where the content named by ``uri`` is: a URL to fetch, or inline data; raises UriError.

    ``token_id`` enables ERC-1155 ``{id}`` substitution. Gateways are base URLs such as
    ``https://ipfs.io`` and ``https://arweave.net``.
    """
    if not isinstance(uri, str):
        raise UriError("the URI must be text")
    text = uri.strip()
    if not text:
        raise UriError("the URI is empty")
    inline = _inline(text, max_inline)
    if inline is not None:
        return inline
    if len(text) > _MAX_URL_LENGTH:
        raise UriError("the URI is too long")
    # Spaces occur in real IPFS paths ("My Image.png") and are percent-encoded below.
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise UriError("the URI contains control characters")
    if token_id is not None:
        text = text.replace("{id}", erc1155_id(token_id))
    ipfs = _gateway(ipfs_gateway)
    arweave = _gateway(arweave_gateway)
    text, _, _fragment = text.partition("#")
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", text)
    if match is None:
        # Bare "<cid>/path" or "/ipfs/<cid>/path".
        bare = text.removeprefix("/ipfs/")
        if _CID.fullmatch(bare.partition("/")[0]):
            rest, _, query = bare.partition("?")
            return _ipfs(rest, ipfs, query)
        raise UriError(f"{text[:80]!r} is not a URI this bridge can fetch")
    scheme = match.group(1).lower()
    if scheme in ("ipfs", "ipns", "ar"):
        return _content_uri(scheme, text[match.end() :], ipfs, arweave)
    if scheme in ("https", "http"):
        return _web_url(scheme, text, ipfs, arweave)
    raise UriError(f"{scheme}: URIs are never fetched")


def _inline(text: str, max_inline: int) -> Inline | None:
    """The data of a URI that carries it (``data:``, or bare JSON); None for other URIs."""
    if text.startswith("{"):
        # Some contracts return the metadata JSON itself from tokenURI.
        data = text.encode("utf-8")
        if len(data) > max_inline:
            raise UriError(f"the inline data is larger than {max_inline} bytes")
        return Inline("application/json", data)
    if text[:5].lower() == "data:":
        return _data(text, max_inline)
    return None


def _content_uri(scheme: str, rest: str, ipfs: str, arweave: str) -> Url:
    """``ipfs://``, ``ipns://`` and ``ar://`` URIs, on our gateways."""
    if not rest.startswith("//"):
        raise UriError(f"a {scheme}: URI must start with {scheme}://")
    rest, _, query = rest[2:].partition("?")
    if scheme == "ipfs":
        return _ipfs(rest.removeprefix("ipfs/"), ipfs, query)
    if scheme == "ipns":
        return _ipns(rest.removeprefix("ipns/"), ipfs, query)
    return _arweave(rest, arweave)


def _web_url(scheme: str, text: str, ipfs: str, arweave: str) -> Url:
    parts = urlsplit(text)
    if not parts.hostname:
        raise UriError("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UriError("URLs with a user name or password are not accepted")
    normalised = f"{scheme}{text[len(scheme) :]}".replace(" ", "%20")
    return _rewrite_gateway(normalised, ipfs, arweave)
