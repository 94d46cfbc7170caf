"""EIP-4361 (Sign-In with Ethereum) messages: build, strictly parse and check, with no I/O.

Only the canonical text is accepted: :func:`parse` re-renders what it read and compares byte for
byte, so CRLF, ``Chain ID: 01``, reordered or repeated fields and trailing lines are all refused.
Signature checks live in :mod:`bridge.identity.verify`; single-use nonces in the store.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

from crypto.keys import checksum_address

__all__ = [
    "SiweError",
    "SiweMessage",
    "check",
    "checksum",
    "format_timestamp",
    "generate_nonce",
    "parse",
    "parse_timestamp",
    "render",
]

_HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"
# Hostile input is refused before any parsing work; a real message is well under 4 KiB.
MAX_MESSAGE_LENGTH = 16 * 1024
_MAX_RESOURCES = 64
_MAX_NONCE = 128

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# RFC 3986 authority, minus userinfo (a user@ prefix only helps phishing): reg-name or IP
# literal, optional port.
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# An absolute URI: scheme ":" then visible ASCII only (no spaces, no controls, no non-ASCII).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[!-~]+")
_NONCE = re.compile(rf"[A-Za-z0-9]{{8,{_MAX_NONCE}}}")
_CHAIN_ID = re.compile(r"[1-9][0-9]{0,19}")
# RFC 3986 pchar*: unreserved / pct-encoded / sub-delims / ":" / "@".
_REQUEST_ID = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
# RFC 3339 date-time, upper-case T and Z only.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+\-]\d{2}:\d{2})"
)
# The statement is shown to the user by the wallet: printable ASCII only, so no line breaks,
# bidirectional overrides or look-alike characters can disguise what is being signed.
_STATEMENT = re.compile(r"[ -~]+")


class SiweError(ValueError):
    """A Sign-In with Ethereum message is malformed or not acceptable; the text says why."""


def checksum(address: str) -> str:
    """The EIP-55 form of a ``0x``-prefixed hex address in any case; raises SiweError."""
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise SiweError("an Ethereum address is 0x followed by 40 hexadecimal digits")
    return checksum_address(bytes.fromhex(address[2:]))


def parse_timestamp(value: str) -> datetime:
    """An RFC 3339 date-time (``2021-09-30T16:25:24Z``) as an aware datetime; raises SiweError."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise SiweError(
            f"timestamp {value[:40]!r} is not RFC 3339 (expected e.g. 2021-09-30T16:25:24Z)"
        )
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, offset = match.group(7), match.group(8)
    micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        if offset == "Z":
            tz = UTC
        else:
            sign = 1 if offset[0] == "+" else -1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError("offset out of range")
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise SiweError(f"timestamp {value!r} is not a valid date and time") from exc


def format_timestamp(moment: datetime) -> str:
    """An aware datetime as RFC 3339 in UTC to the second, e.g. ``2021-09-30T16:25:24Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_nonce(length: int = 17) -> str:
    """A fresh random alphanumeric nonce (17 characters ≈ 101 bits by default)."""
    if length < 8:
        raise ValueError("EIP-4361 nonces have at least 8 characters")
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True, kw_only=True)
class SiweMessage:
    """One EIP-4361 message; every field is validated on construction (raises SiweError).

    Timestamps stay strings so that rendering reproduces the signed text exactly; use
    :func:`parse_timestamp` (or the ``*_dt`` properties) to compare them.
    """

    domain: str
    address: str
    statement: str | None = None
    uri: str
    version: str = "1"
    chain_id: int
    nonce: str
    issued_at: str
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default=())
    scheme: str | None = None

    def __post_init__(self) -> None:
        # In the order of the message's lines, so the first problem a reader sees is reported.
        self._check_signer()
        self._check_body()
        self._check_times()
        self._check_resources()

    def _check_signer(self) -> None:
        if self.scheme is not None and not _SCHEME.fullmatch(self.scheme):
            raise SiweError(f"scheme {self.scheme[:40]!r} is not a valid URI scheme")
        if not _DOMAIN.fullmatch(self.domain):
            raise SiweError(
                f"domain {self.domain[:80]!r} must be a host name with an optional port "
                "(no user@, no path)"
            )
        if not _ADDRESS.fullmatch(self.address):
            raise SiweError("the address must be 0x followed by 40 hexadecimal digits")
        expected = checksum_address(bytes.fromhex(self.address[2:]))
        if self.address != expected:
            raise SiweError(
                f"the address must be EIP-55 checksummed: use {expected}, not {self.address}"
            )

    def _check_body(self) -> None:
        if self.statement is not None and not _STATEMENT.fullmatch(self.statement):
            raise SiweError(
                "the statement must be one non-empty line of printable ASCII characters"
            )
        if not _URI.fullmatch(self.uri):
            raise SiweError(f"URI {self.uri[:80]!r} is not an absolute URI")
        if self.version != "1":
            raise SiweError(f"unsupported version {self.version[:10]!r}: only version 1 exists")
        if (
            not isinstance(self.chain_id, int)
            or isinstance(self.chain_id, bool)
            or not _CHAIN_ID.fullmatch(str(self.chain_id))
        ):
            raise SiweError("the chain ID must be a positive decimal integer (EIP-155)")
        if not _NONCE.fullmatch(self.nonce):
            raise SiweError(
                f"the nonce must be 8 to {_MAX_NONCE} letters or digits; ask for a new message"
            )

    def _check_times(self) -> None:
        parse_timestamp(self.issued_at)
        if self.expiration_time is not None:
            parse_timestamp(self.expiration_time)
        if self.not_before is not None:
            parse_timestamp(self.not_before)

    def _check_resources(self) -> None:
        if self.request_id is not None and not _REQUEST_ID.fullmatch(self.request_id):
            raise SiweError("the request ID contains characters a URI path segment cannot hold")
        if not isinstance(self.resources, tuple):
            raise SiweError("resources must be a tuple of URIs")
        if len(self.resources) > _MAX_RESOURCES:
            raise SiweError(f"at most {_MAX_RESOURCES} resources are accepted")
        for resource in self.resources:
            if not isinstance(resource, str) or not _URI.fullmatch(resource):
                raise SiweError(f"resource {str(resource)[:80]!r} is not an absolute URI")

    @property
    def issued_at_dt(self) -> datetime:
        return parse_timestamp(self.issued_at)

    @property
    def expiration_time_dt(self) -> datetime | None:
        return None if self.expiration_time is None else parse_timestamp(self.expiration_time)

    @property
    def not_before_dt(self) -> datetime | None:
        return None if self.not_before is None else parse_timestamp(self.not_before)


def render(msg: SiweMessage) -> str:
    """The exact EIP-4361 text of ``msg`` (LF line ends, no trailing newline)."""
    prefix = f"{msg.scheme}://" if msg.scheme is not None else ""
    lines = [f"{prefix}{msg.domain}{_HEADER_SUFFIX}", msg.address, ""]
    if msg.statement is not None:
        lines.append(msg.statement)
    lines += [
        "",
        f"URI: {msg.uri}",
        f"Version: {msg.version}",
        f"Chain ID: {msg.chain_id}",
        f"Nonce: {msg.nonce}",
        f"Issued At: {msg.issued_at}",
    ]
    if msg.expiration_time is not None:
        lines.append(f"Expiration Time: {msg.expiration_time}")
    if msg.not_before is not None:
        lines.append(f"Not Before: {msg.not_before}")
    if msg.request_id is not None:
        lines.append(f"Request ID: {msg.request_id}")
    if msg.resources:
        lines.append("Resources:")
        lines += [f"- {resource}" for resource in msg.resources]
    return "\n".join(lines)


class _Lines:
    """A cursor over the message's lines that explains what it expected when it fails."""

    def __init__(self, text: str) -> None:
        self._lines = text.split("\n")
        self._i = 0

    def done(self) -> bool:
        return self._i >= len(self._lines)

    def peek(self) -> str | None:
        return None if self.done() else self._lines[self._i]

    def take(self, what: str) -> str:
        if self.done():
            raise SiweError(f"the message ends early: {what} is missing")
        line = self._lines[self._i]
        self._i += 1
        return line

    def field(self, tag: str) -> str:
        line = self.take(f"the {tag!r} line")
        if not line.startswith(f"{tag}: "):
            raise SiweError(f"expected the {tag!r} line here, found {line[:60]!r}")
        return line[len(tag) + 2 :]

    def optional(self, tag: str) -> str | None:
        line = self.peek()
        if line is None or not line.startswith(f"{tag}: "):
            return None
        return self.field(tag)


def parse(text: str) -> SiweMessage:
    """Parse canonical EIP-4361 text; anything that does not re-render identically is refused."""
    if not isinstance(text, str):
        raise SiweError("the message must be text")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise SiweError("the message is too long")
    if "\r" in text:
        raise SiweError("the message must use LF line ends, not CRLF")
    lines = _Lines(text)
    header = lines.take("the header")
    if not header.endswith(_HEADER_SUFFIX):
        raise SiweError("this is not a Sign-In with Ethereum message (the first line is wrong)")
    origin = header[: -len(_HEADER_SUFFIX)]
    scheme: str | None = None
    domain = origin
    if "://" in origin:
        scheme, domain = origin.split("://", 1)
    address = lines.take("the address")
    if lines.take("the blank line after the address") != "":
        raise SiweError("expected a blank line after the address")
    statement: str | None = None
    line = lines.take("the URI")
    if line != "":
        statement = line
        if lines.take("the blank line after the statement") != "":
            raise SiweError("the statement must be a single line followed by a blank line")
    uri = lines.field("URI")
    version = lines.field("Version")
    chain_text = lines.field("Chain ID")
    if not _CHAIN_ID.fullmatch(chain_text):
        raise SiweError(
            f"chain ID {chain_text[:24]!r} must be a decimal number without zeros first"
        )
    nonce = lines.field("Nonce")
    issued_at = lines.field("Issued At")
    expiration_time = lines.optional("Expiration Time")
    not_before = lines.optional("Not Before")
    request_id = lines.optional("Request ID")
    resources: list[str] = []
    if lines.peek() == "Resources:":
        lines.take("Resources")
        while (line_ := lines.peek()) is not None and line_.startswith("- "):
            resources.append(lines.take("a resource")[2:])
    if not lines.done():
        extra = lines.peek() or ""
        raise SiweError(f"unexpected text after the message's fields: {extra[:60]!r}")
    msg = SiweMessage(
        scheme=scheme,
        domain=domain,
        address=address,
        statement=statement,
        uri=uri,
        version=version,
        chain_id=int(chain_text),
        nonce=nonce,
        issued_at=issued_at,
        expiration_time=expiration_time,
        not_before=not_before,
        request_id=request_id,
        resources=tuple(resources),
    )
    if render(msg) != text:
        raise SiweError("the message is not in canonical EIP-4361 form")
    return msg


def check(
    msg: SiweMessage,
    *,
    expected_domain: str,
    expected_uri: str,
    expected_chain_id: int | Collection[int],
    now: datetime,
    expected_address: str | None = None,
    max_age: timedelta = timedelta(minutes=15),
    clock_skew: timedelta = timedelta(seconds=60),
) -> None:
    """Check a parsed message against this server and clock; raises SiweError saying what is off.

    The nonce is not checked here: the caller must consume it from its single-use store.
    ``now`` must be timezone-aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if msg.domain.lower() != expected_domain.lower():
        raise SiweError(
            f"this message was made for {msg.domain!r}, not {expected_domain!r}; "
            "sign in again from this site"
        )
    if msg.scheme is not None and msg.scheme.lower() != urlsplit(expected_uri).scheme.lower():
        raise SiweError(
            f"this message names the scheme {msg.scheme!r}, which this site does not use"
        )
    if msg.uri != expected_uri:
        raise SiweError(f"this message is for {msg.uri!r}, not {expected_uri!r}")
    allowed = {expected_chain_id} if isinstance(expected_chain_id, int) else set(expected_chain_id)
    if msg.chain_id not in allowed:
        names = ", ".join(str(c) for c in sorted(allowed))
        raise SiweError(f"chain {msg.chain_id} is not accepted here (accepted: {names})")
    if expected_address is not None and msg.address.lower() != expected_address.lower():
        raise SiweError(f"this message is signed for {msg.address}, not {expected_address}")
    issued = msg.issued_at_dt
    if issued > now + clock_skew:
        raise SiweError("the message is issued in the future; check your device's clock")
    if issued < now - max_age:
        raise SiweError("the message is too old; ask for a new sign-in link")
    expires = msg.expiration_time_dt
    if expires is not None and now >= expires:
        raise SiweError("the message has expired; ask for a new sign-in link")
    not_before = msg.not_before_dt
    if not_before is not None and now + clock_skew < not_before:
        raise SiweError("the message is not valid yet; try again in a moment")
