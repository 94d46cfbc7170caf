"""Token and image URI resolution: the forms met in the wild, and the ones never fetched."""

from __future__ import annotations

import base64

import pytest

from bridge.nft.uri import Inline, UriError, Url, erc1155_id, resolve_uri

GW = "https://gw.example"
AR = "https://ar.example/"
V0 = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
V1 = "bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq"
AR_ID = "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U"


def _resolve(uri: str, token_id: int | None = None) -> Url | Inline:
    return resolve_uri(uri, ipfs_gateway=GW, arweave_gateway=AR, token_id=token_id)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        (f"ipfs://{V0}", f"{GW}/ipfs/{V0}"),
        (f"ipfs://{V0}/1.json", f"{GW}/ipfs/{V0}/1.json"),
        (f"ipfs://{V1}/images/a b.png", f"{GW}/ipfs/{V1}/images/a%20b.png"),
        (f"ipfs://ipfs/{V1}/7", f"{GW}/ipfs/{V1}/7"),
        (f"IPFS://{V0}", f"{GW}/ipfs/{V0}"),
        (f"{V0}/meta/3.json", f"{GW}/ipfs/{V0}/meta/3.json"),
        (V1, f"{GW}/ipfs/{V1}"),
        (f"/ipfs/{V1}/x", f"{GW}/ipfs/{V1}/x"),
        ("ipns://k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8", None),
        ("ipns://app.example.org/meta.json", f"{GW}/ipns/app.example.org/meta.json"),
        (f"https://ipfs.io/ipfs/{V0}/1.json", f"{GW}/ipfs/{V0}/1.json"),
        (f"https://gateway.pinata.cloud/ipfs/{V1}?x=1", f"{GW}/ipfs/{V1}?x=1"),
        (f"https://{V1}.ipfs.dweb.link/img.png", f"{GW}/ipfs/{V1}/img.png"),
        (f"https://{V1}.ipfs.nftstorage.link/", f"{GW}/ipfs/{V1}/"),
        ("https://cf-ipfs.com/ipns/example.org/a", f"{GW}/ipns/example.org/a"),
        (f"ar://{AR_ID}", f"https://ar.example/{AR_ID}"),
        (f"ar://{AR_ID}/0.json", f"https://ar.example/{AR_ID}/0.json"),
        (f"https://arweave.net/{AR_ID}", f"https://ar.example/{AR_ID}"),
        ("https://api.example.com/token/1", "https://api.example.com/token/1"),
        ("http://api.example.com/token/1#frag", "http://api.example.com/token/1"),
        (
            "https://api.example.com/{id}.json",
            "https://api.example.com/" + "0" * 62 + "2a.json",
        ),
        ("  https://api.example.com/t  ", "https://api.example.com/t"),
    ],
)
def test_urls(uri: str, url: str | None) -> None:
    resolved = _resolve(uri, token_id=42)
    assert isinstance(resolved, Url)
    if url is None:
        assert resolved.url == f"{GW}/ipns/{uri[7:]}"
    else:
        assert resolved.url == url


def test_erc1155_id_substitution() -> None:
    assert erc1155_id(0) == "0" * 64
    assert erc1155_id(2**256 - 1) == "f" * 64
    resolved = _resolve(f"ipfs://{V0}/{{id}}.json", token_id=0xABC)
    assert resolved == Url(f"{GW}/ipfs/{V0}/" + "0" * 61 + "abc.json")
    # Without a token id the template is left for the caller (and the braces are escaped).
    assert _resolve(f"ipfs://{V0}/{{id}}") == Url(f"{GW}/ipfs/{V0}/%7Bid%7D")
    with pytest.raises(UriError, match="256-bit"):
        erc1155_id(-1)


@pytest.mark.parametrize(
    ("uri", "media_type", "data"),
    [
        (
            "data:application/json;base64," + base64.b64encode(b'{"name":"A"}').decode(),
            "application/json",
            b'{"name":"A"}',
        ),
        (
            "data:application/json;base64," + base64.b64encode(b'{"n":1}').decode().rstrip("="),
            "application/json",
            b'{"n":1}',
        ),
        (
            'data:application/json;utf8,{"name": "100% B"}',
            "application/json",
            b'{"name": "100% B"}',
        ),
        ("data:application/json,%7B%22a%22%3A1%7D", "application/json", b'{"a":1}'),
        (
            "data:application/json;charset=utf-8;base64," + base64.b64encode(b"{}").decode(),
            "application/json",
            b"{}",
        ),
        ("data:image/png;base64,iVBORw0KGgo=", "image/png", b"\x89PNG\r\n\x1a\n"),
        (
            "data:image/svg+xml;base64," + base64.b64encode(b"<svg/>").decode(),
            "image/svg+xml",
            b"<svg/>",
        ),
        ('{"name": "raw", "image": "ipfs://x"}', "application/json", None),
        ('  {"name":"raw"}\n', "application/json", b'{"name":"raw"}'),
    ],
)
def test_inline(uri: str, media_type: str, data: bytes | None) -> None:
    resolved = _resolve(uri)
    assert isinstance(resolved, Inline)
    assert resolved.media_type == media_type
    assert resolved.data == (data if data is not None else uri.encode())


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("javascript:alert(1)", "never fetched"),
        ("JavaScript:alert(1)", "never fetched"),
        ("file:///etc/passwd", "never fetched"),
        ("ftp://example.com/a", "never fetched"),
        ("chrome://settings", "never fetched"),
        ("data:text/html,<script>alert(1)</script>", "text/html"),
        ("data:,hello", "text/plain"),
        ("data:application/json;base64,!!!!", "base64"),
        ("data:application/json;base64", "comma"),
        ("ipfs://notacid/1.json", "not an IPFS CID"),
        (f"ipfs://{V0.lower()}", "not an IPFS CID"),  # CIDv0 is case-sensitive
        (f"ipfs:{V0}", "must start with ipfs://"),
        (f"ipfs://{V0}/../../etc", r"\.\."),
        ("ar://short", "43 characters"),
        ("ipns://", "not an IPNS name"),
        ("example.com/a.json", "not a URI"),
        ("", "empty"),
        ("   ", "empty"),
        ("https://", "no host"),
        ("https://user:pw@example.com/", "user name"),
        ("https://example.com/a\nb", "control"),
        ("https://example.com/" + "a" * 5000, "too long"),
        ("data:application/json;base64," + "A" * 7_000_000, "larger than"),
    ],
)
def test_refused(uri: str, reason: str) -> None:
    with pytest.raises(UriError, match=reason):
        _resolve(uri)


def test_gateway_must_be_http() -> None:
    with pytest.raises(UriError, match="gateway"):
        resolve_uri(f"ipfs://{V0}", ipfs_gateway="file:///", arweave_gateway=AR)
