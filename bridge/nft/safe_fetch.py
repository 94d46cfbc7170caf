"""Fetch a URL named by untrusted data without SSRF: the bridge's one guarded fetcher.

Everything the bridge downloads from a URL it did not choose goes through :func:`fetch`: NFT
metadata and images, Discord attachments (inbound from Discord's CDN and outbound from other
platforms), attachment URLs relayed to Telegram, and Telegram's own file downloads (under
:func:`trusted_endpoint_policy`, since that server is the one the operator configured).

Every hop is checked: scheme, port, no userinfo, no numeric/hex/octal host forms, and each
address the host resolves to must be global. The check happens inside aiohttp's resolver, so the
socket connects to the very address that was checked (DNS rebinding cannot swap it). Redirects
are followed by hand and re-checked; bodies are capped after decompression; content types are
allow-listed per call; proxies and ``.netrc`` from the environment are ignored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Collection
from dataclasses import dataclass, field

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

__all__ = [
    "ATTACHMENT_POLICY",
    "DEFAULT_POLICY",
    "BlockedAddressError",
    "FetchError",
    "FetchPolicy",
    "FetchResult",
    "GuardedResolver",
    "check_address",
    "check_url",
    "fetch",
    "loopback_policy",
    "trusted_endpoint_policy",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_URL_LENGTH = 4096
_CHUNK = 64 * 1024
_HOST_NAME = re.compile(
    r"[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-_]*[a-z0-9])?)*\.?"
)
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Ranges that embed or translate to an IPv4 address, which could be a private one.
_EMBEDDING_V6 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64
    ipaddress.IPv6Network("64:ff9b:1::/48"),  # local-use NAT64
    ipaddress.IPv6Network("2002::/16"),  # 6to4
    ipaddress.IPv6Network("2001::/32"),  # Teredo
)


class FetchError(ValueError):
    """The URL was refused or the fetch failed.

    The message is the detail for the log (it may name what the bridge's DNS answered);
    ``public`` is the reason to show a user, which never does. ``retryable``: a later attempt
    may succeed (a timeout, a 5xx). ``too_large``: the body was over the limit.
    """

    def __init__(
        self,
        detail: str,
        *,
        public: str | None = None,
        retryable: bool = False,
        too_large: bool = False,
    ) -> None:
        super().__init__(detail)
        self.public = public if public is not None else detail
        self.retryable = retryable
        self.too_large = too_large


_NOT_PUBLIC = "it does not point to a public internet address"


class BlockedAddressError(OSError):
    """A host resolved to an address the policy forbids (raised inside aiohttp's resolver)."""


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may reach. The defaults are for the public internet over https only.

    ``allow_private`` lets every non-global address through (do not); ``private_allowlist``
    admits specific networks instead, e.g. an operator's own IPFS gateway on 127.0.0.1/32.
    """

    allowed_schemes: frozenset[str] = frozenset({"https"})
    allowed_ports: frozenset[int] | None = frozenset({443, 80})
    """None: any port (only for a trusted endpoint or a test server)."""
    allow_private: bool = False
    private_allowlist: frozenset[IPNetwork] = field(default_factory=frozenset)
    max_redirects: int = 3
    user_agent: str = "Parley-avatar-fetcher/1"


DEFAULT_POLICY = FetchPolicy()
"""NFT metadata and images: public https only."""

ATTACHMENT_POLICY = FetchPolicy(
    allowed_schemes=frozenset({"https", "http"}), user_agent="Parley-attachments/1"
)
"""Files relayed between platforms: public http(s) on the standard ports."""


def loopback_policy(base: FetchPolicy = ATTACHMENT_POLICY) -> FetchPolicy:
    """``base`` admitting 127.0.0.1 on any port: for tests whose servers run there."""
    return FetchPolicy(
        allowed_schemes=base.allowed_schemes | {"http"},
        allowed_ports=None,
        private_allowlist=frozenset({ipaddress.IPv4Network("127.0.0.1/32")}),
        max_redirects=base.max_redirects,
        user_agent=base.user_agent,
    )


def trusted_endpoint_policy(user_agent: str = "Parley/1") -> FetchPolicy:
    """An endpoint the operator configured (Telegram's file server, maybe a local Bot API
    server): any address and port, still with the caps, timeouts and redirect checks."""
    return FetchPolicy(
        allowed_schemes=frozenset({"https", "http"}),
        allowed_ports=None,
        allow_private=True,
        user_agent=user_agent,
    )


@dataclass(frozen=True)
class FetchResult:
    """A successful fetch: the final URL (after redirects), its media type and the body."""

    url: str
    content_type: str
    body: bytes


def _is_forbidden(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public unicast address, or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        if any(ip in net for net in _EMBEDDING_V6):
            return "an IPv6 address that embeds an IPv4 address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "a non-global address"
    return None


def _refusal(ip: IPAddress, policy: FetchPolicy) -> str | None:
    reason = _is_forbidden(ip)
    if reason is None or policy.allow_private:
        return None
    if any(ip.version == net.version and ip in net for net in policy.private_allowlist):
        return None
    return reason


def check_address(ip: IPAddress, policy: FetchPolicy) -> None:
    """Raise BlockedAddressError unless ``policy`` lets a fetch connect to ``ip``."""
    reason = _refusal(ip, policy)
    if reason is not None:
        raise BlockedAddressError(f"{ip} is {reason}")


class GuardedResolver(AbstractResolver):
    """Resolves with ``base`` and refuses the host if any answer is not allowed by the policy."""

    def __init__(self, policy: FetchPolicy, base: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._base = base if base is not None else aiohttp.DefaultResolver()
        self._owns_base = base is None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._base.resolve(host, port, family)
        if not answers:
            raise BlockedAddressError(f"{host} did not resolve")
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer["host"].split("%", 1)[0])
            except ValueError as exc:
                raise BlockedAddressError(f"{host} resolved to a malformed address") from exc
            reason = _refusal(ip, self._policy)
            if reason is not None:
                name = host.rstrip(".")
                raise BlockedAddressError(f"{name} resolves to {ip}, which is {reason}")
        return answers

    async def close(self) -> None:
        if self._owns_base:
            await self._base.close()


def check_url(url: str | URL, policy: FetchPolicy) -> URL:
    """The parsed URL when its form is acceptable to ``policy``; raises FetchError otherwise.

    Literal IP hosts are checked here (aiohttp does not resolve them); names are checked
    after resolution by :class:`GuardedResolver`.
    """
    text = str(url)
    if len(text) > _MAX_URL_LENGTH:
        raise FetchError("the URL is too long")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        raise FetchError("the URL contains spaces or control characters")
    try:
        parsed = url if isinstance(url, URL) else URL(text, encoded=False)
    except (ValueError, TypeError) as exc:
        raise FetchError(f"the URL cannot be parsed: {exc}") from exc
    scheme = parsed.scheme.lower()
    if scheme not in policy.allowed_schemes:
        allowed = ", ".join(sorted(policy.allowed_schemes))
        raise FetchError(f"the scheme {scheme or '(none)'!r} is not allowed (allowed: {allowed})")
    if (
        parsed.raw_user is not None
        or parsed.raw_password is not None
        or "@" in (parsed.raw_authority or "")
    ):
        raise FetchError("URLs with a user name or password are not allowed")
    host = parsed.raw_host
    if not host:
        raise FetchError("the URL has no host")
    try:
        port = parsed.port
    except ValueError as exc:
        raise FetchError("the URL's port is invalid") from exc
    if policy.allowed_ports is not None and port not in policy.allowed_ports:
        raise FetchError(f"port {port} is not allowed")
    try:
        ip: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        try:
            check_address(ip, policy)
        except BlockedAddressError as exc:
            raise FetchError(f"refused: {exc}", public=_NOT_PUBLIC) from None
    else:
        lowered = host.lower()
        if not _HOST_NAME.fullmatch(lowered):
            raise FetchError(f"the host name {host[:80]!r} is not valid")
        labels = lowered.rstrip(".").split(".")
        # 2130706433, 0x7f000001, 0177.0.0.1, 127.1: resolvers read these as IPv4 addresses.
        if _NUMERIC_LABEL.fullmatch(labels[-1]):
            raise FetchError(f"numeric host forms such as {host[:80]!r} are not allowed")
    return parsed.with_fragment(None)


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


async def _fetch_once(
    session: aiohttp.ClientSession, url: URL, max_bytes: int, accept: Collection[str] | None
) -> tuple[URL | None, FetchResult | None]:
    """One hop: (redirect target, None) or (None, result)."""
    async with session.get(url, allow_redirects=False) as response:
        if response.status in _REDIRECTS:
            location = response.headers.get("Location")
            if not location:
                raise FetchError(f"HTTP {response.status} redirect without a Location")
            try:
                return url.join(URL(location)), None
            except ValueError as exc:
                raise FetchError("the redirect's Location cannot be parsed") from exc
        if response.status != 200:
            raise FetchError(
                f"the server answered HTTP {response.status}",
                retryable=response.status >= 500 or response.status == 429,
            )
        media_type = _media_type(response.headers.get("Content-Type"))
        if accept is not None and media_type not in accept:
            wanted = ", ".join(sorted(accept))
            raise FetchError(f"unexpected content type {media_type or '(none)'!r} (want {wanted})")
        declared = response.content_length
        if (
            declared is not None
            and declared > max_bytes
            and "Content-Encoding" not in response.headers
        ):
            raise FetchError(f"the response is larger than {max_bytes} bytes", too_large=True)
        body = bytearray()
        # aiohttp inflates gzip/deflate/br while streaming: this caps the decoded size.
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(f"the response is larger than {max_bytes} bytes", too_large=True)
        return None, FetchResult(url=str(url), content_type=media_type, body=bytes(body))


async def fetch(
    url: str,
    *,
    policy: FetchPolicy = DEFAULT_POLICY,
    max_bytes: int,
    accept: Collection[str] | None,
    timeout: float,  # noqa: ASYNC109 - one deadline for all hops and the body
    resolver: AbstractResolver | None = None,
) -> FetchResult:
    """GET ``url`` under ``policy``; raises FetchError with the reason on any refusal or failure.

    ``timeout`` bounds the whole fetch, redirects included. ``accept``: the media types
    wanted (None: any). ``resolver`` replaces the system resolver underneath the address check
    (tests use it to control DNS answers).
    """
    target = check_url(url, policy)
    accepted = None if accept is None else frozenset(a.lower() for a in accept)
    guarded = GuardedResolver(policy, resolver)
    connector = aiohttp.TCPConnector(resolver=guarded, use_dns_cache=False, limit=4)
    client_timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout, sock_read=timeout)
    try:
        async with (
            asyncio.timeout(timeout),
            aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                timeout=client_timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={
                    "User-Agent": policy.user_agent,
                    "Accept": "*/*" if accepted is None else ", ".join(sorted(accepted)),
                },
            ) as session,
        ):
            for _hop in range(policy.max_redirects + 1):
                next_url, result = await _fetch_once(session, target, max_bytes, accepted)
                if result is not None:
                    return result
                assert next_url is not None
                target = check_url(next_url, policy)
            raise FetchError(f"more than {policy.max_redirects} redirects")
    except TimeoutError as exc:
        raise FetchError(f"the server did not answer within {timeout:g} s", retryable=True) from exc
    except aiohttp.ClientConnectorDNSError as exc:
        cause = exc.os_error
        if isinstance(cause, BlockedAddressError):
            raise FetchError(f"refused: {cause}", public=_NOT_PUBLIC) from None
        raise FetchError(
            f"the host name could not be resolved: {cause}",
            public="the host name could not be resolved",
            retryable=True,
        ) from exc
    except aiohttp.ClientError as exc:
        raise FetchError(
            f"the fetch failed: {exc.__class__.__name__}: {exc}",
            public="the server could not be reached",
            retryable=True,
        ) from exc
    finally:
        await guarded.close()
