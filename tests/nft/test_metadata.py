"""Metadata JSON: the fields we keep, the edge cases we refuse, and fetching it safely."""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bridge.nft.metadata import MetadataError, NftMetadata, load_metadata, parse_metadata
from bridge.nft.safe_fetch import FetchPolicy
from bridge.nft.uri import Inline

IPFS_GW = "https://gw.example"
AR_GW = "https://ar.example"


def test_usual_fields() -> None:
    meta = parse_metadata(
        json.dumps(
            {
                "name": "Punk #1",
                "description": "ignored",
                "image": "ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
                "image_url": "https://ignored.example/x.png",
                "animation_url": "https://evil.example/page.html",
                "collection": {"name": "Punks"},
            }
        )
    )
    assert meta == NftMetadata(
        name="Punk #1",
        collection="Punks",
        image="ipfs://QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    )


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (
            {"image_url": " https://x.example/a.png "},
            NftMetadata(None, None, "https://x.example/a.png"),
        ),
        ({"image": "", "image_url": "ar://x"}, NftMetadata(None, None, "ar://x")),
        ({"image": 42, "name": ["x"]}, NftMetadata(None, None, None)),
        (
            {"image_data": "<svg xmlns='http://www.w3.org/2000/svg'/>"},
            NftMetadata(
                None, None, Inline("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
            ),
        ),
        ({"animation_url": "https://x.example/a.html"}, NftMetadata(None, None, None)),
        ({"collection": "Apes"}, NftMetadata(None, "Apes", None)),
        ({"collection_name": "Apes"}, NftMetadata(None, "Apes", None)),
        (
            {"name": "Evil\u202e\u200bname\n\twith\x00controls   and   spaces"},
            NftMetadata("Evilname with controls and spaces", None, None),
        ),
        ({"name": "x" * 10_000}, NftMetadata("x" * 200, None, None)),
        ({"name": "   "}, NftMetadata(None, None, None)),
    ],
)
def test_edge_cases(doc: dict[str, object], expected: NftMetadata) -> None:
    assert parse_metadata(json.dumps(doc)) == expected


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    raw = b'{"name": "' + b"[{" * 50 + b'\\" still a string", "x": [[1]]}'
    assert parse_metadata(raw).name == "[{" * 50 + '" still a string'


def test_utf8_bom_is_accepted() -> None:
    assert parse_metadata(b"\xef\xbb\xbf" + b'{"name": "bom"}').name == "bom"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[1, 2]", "JSON object"),
        (b'"just a string"', "JSON object"),
        (b"null", "JSON object"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "larger than"),
        (b"[" * 50_000 + b"]" * 50_000, "deeper than 32"),
        (b'{"a":' * 40 + b"1" + b"}" * 40, "deeper than 32"),
        (b'{"name": "' + b"x" * 300_000 + b'"}', "larger than"),
        (b'{"n": 1' + b"0" * 5000 + b"}", "not valid JSON"),
    ],
)
def test_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(MetadataError, match=reason):
        parse_metadata(raw, max_bytes=256 * 1024 if len(raw) < 150_000 else 100_000)


async def test_load_inline_metadata_needs_no_network() -> None:
    doc = base64.b64encode(b'{"name": "On-chain", "image": "data:image/png;base64,AAAA"}')
    meta = await load_metadata(
        "data:application/json;base64," + doc.decode(), ipfs_gateway=IPFS_GW, arweave_gateway=AR_GW
    )
    assert meta.name == "On-chain"
    assert meta.image == "data:image/png;base64,AAAA"
    raw = await load_metadata('{"name": "raw json"}', ipfs_gateway=IPFS_GW, arweave_gateway=AR_GW)
    assert raw.name == "raw json"


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("javascript:alert(1)", "unusable token URI"),
        ("data:image/png;base64,AAAA", "holds image/png"),
        ("https://127.0.0.1/meta.json", "could not fetch the metadata: refused"),
        ("http://example.com/meta.json", "scheme 'http' is not allowed"),
    ],
)
async def test_load_refusals(uri: str, reason: str) -> None:
    with pytest.raises(MetadataError, match=reason):
        await load_metadata(uri, ipfs_gateway=IPFS_GW, arweave_gateway=AR_GW)


@pytest.fixture
async def metadata_server() -> AsyncIterator[int]:
    async def meta(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        return web.json_response({"name": f"Token {token}", "image": f"ipfs://x/{token}.png"})

    app = web.Application()
    app.add_routes([web.get("/meta/{token}", meta)])
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_load_fetches_with_the_policy(metadata_server: int) -> None:
    policy = FetchPolicy(
        allowed_schemes=frozenset({"http"}),
        allowed_ports=frozenset({metadata_server}),
        private_allowlist=frozenset({ipaddress.ip_network("127.0.0.1/32")}),
    )
    url = f"http://127.0.0.1:{metadata_server}/meta/{{id}}"
    meta = await load_metadata(
        url, token_id=5, policy=policy, ipfs_gateway=IPFS_GW, arweave_gateway=AR_GW
    )
    assert meta.name == "Token " + "0" * 63 + "5"
    with pytest.raises(MetadataError, match="larger than 10 bytes"):
        await load_metadata(
            url,
            token_id=5,
            policy=policy,
            max_bytes=10,
            ipfs_gateway=IPFS_GW,
            arweave_gateway=AR_GW,
        )
