"""The SSRF-safe fetcher against a real HTTP server on 127.0.0.1 and a resolver we control."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from bridge.nft.safe_fetch import (
    DEFAULT_POLICY,
    FetchError,
    FetchPolicy,
    check_url,
    fetch,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 10
LOOPBACK_ONLY = frozenset({ipaddress.ip_network("127.0.0.1/32")})


class MapResolver(AbstractResolver):
    """DNS answers chosen by the test: proves the address check runs after resolution."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        addresses = self.answers.get(host.rstrip("."))
        if addresses is None:
            raise OSError(f"no such host {host}")
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@dataclass
class Server:
    port: int

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def policy(self) -> FetchPolicy:
        """The happy-path test policy: plain http on this port, 127.0.0.1 admitted."""
        return FetchPolicy(
            allowed_schemes=frozenset({"http"}),
            allowed_ports=frozenset({self.port, 80}),
            private_allowlist=LOOPBACK_ONLY,
        )


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    release = asyncio.Event()
    port_box: list[int] = []

    async def ok_png(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def meta(request: web.Request) -> web.Response:
        return web.Response(body=b'{"name": "x"}', content_type="application/json")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<script>alert(1)</script>", content_type="text/html")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"\0" * 100_000, content_type="image/png")

    async def big_chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"\0" * 1000)
        await response.write_eof()
        return response

    async def gzip_bomb(request: web.Request) -> web.Response:
        body = gzip.compress(b"\0" * 5_000_000)
        return web.Response(
            body=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=PNG, content_type="image/png")

    async def redirect(request: web.Request) -> web.Response:
        hops = int(request.match_info["n"])
        target = "/ok.png" if hops == 0 else f"/hop/{hops - 1}"
        raise web.HTTPFound(target)

    async def redirect_to(request: web.Request) -> web.Response:
        targets = {
            "private": "http://10.0.0.1/secret",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "internal": f"http://internal.test:{port_box[0]}/ok.png",
            "file": "file:///etc/passwd",
            "numeric": f"http://2130706433:{port_box[0]}/ok.png",
        }
        raise web.HTTPFound(targets[request.match_info["where"]])

    async def not_found(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    app = web.Application()
    app.add_routes(
        [
            web.get("/ok.png", ok_png),
            web.get("/meta.json", meta),
            web.get("/page", html),
            web.get("/big", big),
            web.get("/big-chunked", big_chunked),
            web.get("/bomb", gzip_bomb),
            web.get("/slow", slow),
            web.get("/hop/{n}", redirect),
            web.get("/to/{where}", redirect_to),
            web.get("/missing", not_found),
        ]
    )
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    port_box.append(port)
    try:
        yield Server(port)
    finally:
        release.set()
        await runner.cleanup()


ACCEPT_PNG = {"image/png"}


async def _get(url: str, policy: FetchPolicy, **kw: object) -> bytes:
    args: dict[str, object] = {"max_bytes": 10_000, "accept": ACCEPT_PNG, "timeout": 5.0}
    args.update(kw)
    result = await fetch(url, policy=policy, **args)  # type: ignore[arg-type]
    return result.body


async def test_happy_path_with_an_explicit_test_policy(server: Server) -> None:
    result = await fetch(
        server.url("/ok.png"), policy=server.policy, max_bytes=10_000, accept=ACCEPT_PNG, timeout=5
    )
    assert result.body == PNG
    assert result.content_type == "image/png"
    assert result.url == server.url("/ok.png")


async def test_default_policy_refuses_the_local_server(server: Server) -> None:
    with pytest.raises(FetchError, match="scheme 'http' is not allowed"):
        await _get(server.url("/ok.png"), DEFAULT_POLICY)
    https_loopback = f"https://127.0.0.1:{server.port}/ok.png"
    with pytest.raises(FetchError, match=f"port {server.port} is not allowed"):
        await _get(https_loopback, DEFAULT_POLICY)
    with pytest.raises(FetchError, match=r"127\.0\.0\.1 is a loopback address"):
        await _get("https://127.0.0.1/ok.png", DEFAULT_POLICY)
    # Even with the port and scheme allowed, loopback stays refused without an allowlist.
    no_private = FetchPolicy(
        allowed_schemes=frozenset({"http"}), allowed_ports=frozenset({server.port})
    )
    with pytest.raises(FetchError, match="loopback"):
        await _get(server.url("/ok.png"), no_private)


async def test_localhost_is_refused_after_resolution(server: Server) -> None:
    no_private = FetchPolicy(
        allowed_schemes=frozenset({"http"}), allowed_ports=frozenset({server.port})
    )
    with pytest.raises(FetchError, match=r"refused: localhost resolves to .* loopback"):
        await _get(server.url("/ok.png", host="localhost"), no_private)


async def test_connection_uses_the_checked_dns_answer(server: Server) -> None:
    resolver = MapResolver({"avatars.test": ["127.0.0.1"]})
    body = await _get(server.url("/ok.png", host="avatars.test"), server.policy, resolver=resolver)
    assert body == PNG
    assert resolver.asked == ["avatars.test"]


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (["127.0.0.2"], "loopback"),
        (["10.1.2.3"], "private"),
        (["192.168.1.1"], "private"),
        (["172.16.0.1"], "private"),
        (["169.254.169.254"], "link-local"),
        (["100.64.0.1"], "non-global"),
        (["0.0.0.0"], "unspecified"),
        (["224.0.0.1"], "multicast"),
        (["::1"], "loopback"),
        (["fd00::1"], "private"),
        (["fe80::1"], "link-local"),
        (["::ffff:127.0.0.1"], "IPv4-mapped"),
        (["64:ff9b::a00:1"], "embeds an IPv4"),
        (["93.184.216.34", "10.0.0.1"], "private"),
    ],
)
async def test_names_resolving_to_non_global_addresses_are_refused(
    server: Server, answers: list[str], reason: str
) -> None:
    resolver = MapResolver({"rebind.test": answers})
    with pytest.raises(FetchError, match=f"refused: rebind.test resolves to .*{reason}"):
        await _get(server.url("/ok.png", host="rebind.test"), server.policy, resolver=resolver)


async def test_unresolvable_name_is_reported(server: Server) -> None:
    with pytest.raises(FetchError, match="could not be resolved"):
        await _get(
            server.url("/ok.png", host="nowhere.test"), server.policy, resolver=MapResolver({})
        )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.2:{port}/", "127.0.0.2 is a loopback"),
        ("http://[::1]:{port}/", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/", "IPv4-mapped"),
        ("http://0.0.0.0:{port}/", "unspecified"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://100.64.0.1/", "non-global"),
        ("http://[fc00::1]/", "private"),
        ("http://2130706433/", "numeric host"),
        ("http://0x7f000001/", "numeric host"),
        ("http://0177.0.0.1/", "numeric host"),
        ("http://127.1/", "numeric host"),
        ("http://0x7f.0.0.1/", "numeric host"),
        ("http://user:pw@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("gopher://example.com/", "scheme 'gopher'"),
        ("http://example.com:8080/", "port 8080"),
        ("http://exa mple.com/", "spaces"),
        ("http://bad_host!.com/", "host name"),
        ("http:///nohost", "no host"),
    ],
)
async def test_urls_refused_before_connecting(server: Server, url: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        await _get(url.format(port=server.port), server.policy, resolver=MapResolver({}))


def test_check_url_strips_the_fragment() -> None:
    assert str(check_url("https://example.com/a.png#frag", DEFAULT_POLICY)) == (
        "https://example.com/a.png"
    )


async def test_redirects_are_followed_up_to_three(server: Server) -> None:
    assert await _get(server.url("/hop/2"), server.policy) == PNG  # 3 redirects
    with pytest.raises(FetchError, match="more than 3 redirects"):
        await _get(server.url("/hop/3"), server.policy)


INTERNAL = MapResolver({"internal.test": ["10.0.0.5"]})


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("private", "10.0.0.1 is a private address"),
        ("metadata", "169.254.169.254 is a link-local address"),
        ("internal", "internal.test resolves to 10.0.0.5, which is a private address"),
        ("file", "scheme 'file'"),
        ("numeric", "numeric host"),
    ],
)
async def test_each_redirect_is_checked_again(server: Server, where: str, reason: str) -> None:
    with pytest.raises(FetchError, match=reason):
        await _get(server.url(f"/to/{where}"), server.policy, resolver=INTERNAL)


@pytest.mark.parametrize("path", ["/big", "/big-chunked"])
async def test_oversized_bodies_are_cut_off(server: Server, path: str) -> None:
    with pytest.raises(FetchError, match="larger than 10000 bytes"):
        await _get(server.url(path), server.policy)
    assert len(await _get(server.url(path), server.policy, max_bytes=100_000)) == 100_000


async def test_decompressed_size_is_capped(server: Server) -> None:
    with pytest.raises(FetchError, match="larger than 100000 bytes"):
        await _get(
            server.url("/bomb"), server.policy, max_bytes=100_000, accept={"application/json"}
        )


async def test_slow_server_times_out(server: Server) -> None:
    with pytest.raises(FetchError, match=r"did not answer within 0\.3 s"):
        await _get(server.url("/slow"), server.policy, timeout=0.3)


async def test_content_type_is_allow_listed_per_call(server: Server) -> None:
    with pytest.raises(FetchError, match="unexpected content type 'text/html'"):
        await _get(server.url("/page"), server.policy)
    with pytest.raises(FetchError, match="'application/json'"):
        await _get(server.url("/meta.json"), server.policy)
    body = await _get(server.url("/meta.json"), server.policy, accept={"application/json"})
    assert body == b'{"name": "x"}'


async def test_http_errors_are_reported(server: Server) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        await _get(server.url("/missing"), server.policy)
