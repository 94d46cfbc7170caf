"""EIP-4361 messages: golden text, strict parsing and the server-side checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.identity.siwe import (
    SiweError,
    SiweMessage,
    check,
    checksum,
    format_timestamp,
    generate_nonce,
    parse,
    parse_timestamp,
    render,
)

# The example message of EIP-4361.
GOLDEN = (
    "example.com wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n"
    "\n"
    "URI: https://example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)

GOLDEN_MSG = SiweMessage(
    domain="example.com",
    address="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
    statement="I accept the ExampleOrg Terms of Service: https://example.com/tos",
    uri="https://example.com/login",
    chain_id=1,
    nonce="32891756",
    issued_at="2021-09-30T16:25:24Z",
    resources=(
        "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/",
        "https://example.com/my-web2-claim.json",
    ),
)

FULL = (
    "https://parley.example:8443 wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "Link this wallet to your chat account.\n"
    "\n"
    "URI: https://parley.example:8443/link\n"
    "Version: 1\n"
    "Chain ID: 137\n"
    "Nonce: abcDEF123456xyz\n"
    "Issued At: 2024-05-01T10:00:00.123Z\n"
    "Expiration Time: 2024-05-01T10:10:00+02:00\n"
    "Not Before: 2024-05-01T09:59:00Z\n"
    "Request ID: tg:12345@chat"
)


def test_golden_message_parses_to_its_fields() -> None:
    assert parse(GOLDEN) == GOLDEN_MSG


def test_golden_message_renders_byte_for_byte() -> None:
    assert render(GOLDEN_MSG) == GOLDEN


def test_every_optional_field_round_trips() -> None:
    msg = parse(FULL)
    assert msg.scheme == "https"
    assert msg.domain == "parley.example:8443"
    assert msg.chain_id == 137
    assert msg.expiration_time == "2024-05-01T10:10:00+02:00"
    assert msg.expiration_time_dt == datetime(2024, 5, 1, 8, 10, tzinfo=UTC)
    assert msg.issued_at_dt == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert msg.request_id == "tg:12345@chat"
    assert msg.resources == ()
    assert render(msg) == FULL


def test_message_without_statement_has_two_blank_lines() -> None:
    msg = replace(GOLDEN_MSG, statement=None, resources=())
    text = render(msg)
    assert "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n\n\nURI: " in text
    assert parse(text) == msg


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOLDEN.replace("\n", "\r\n"), "CRLF"),
        (GOLDEN.replace("Chain ID: 1\n", "Chain ID: 01\n"), "zeros"),
        (GOLDEN.replace("Chain ID: 1\n", "Chain ID: +1\n"), "decimal"),
        (
            GOLDEN.replace("Chain ID: 1\nNonce: 32891756\n", "Nonce: 32891756\nChain ID: 1\n"),
            "'Chain ID' line",
        ),
        (
            FULL.replace(
                "Expiration Time: 2024-05-01T10:10:00+02:00\nNot Before: 2024-05-01T09:59:00Z",
                "Not Before: 2024-05-01T09:59:00Z\nExpiration Time: 2024-05-01T10:10:00+02:00",
            ),
            "unexpected text",
        ),
        (GOLDEN + "\n", "unexpected text"),
        (GOLDEN + "\nExtra: field", "unexpected text"),
        (FULL + "\nRequest ID: again", "unexpected text"),
        (GOLDEN.replace("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0x" + "c0" * 20), "EIP-55"),
        (
            GOLDEN.replace(
                "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
                "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
            ),
            "use 0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        ),
        (GOLDEN.replace("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2", "0xC02aaA39"), "40 hex"),
        (GOLDEN.replace("Nonce: 32891756", "Nonce: 1234567"), "nonce"),
        (GOLDEN.replace("Nonce: 32891756", "Nonce: 12345678-"), "nonce"),
        (GOLDEN.replace("2021-09-30T16:25:24Z", "2021-09-30 16:25:24Z"), "RFC 3339"),
        (GOLDEN.replace("2021-09-30T16:25:24Z", "2021-09-30T16:25:24z"), "RFC 3339"),
        (GOLDEN.replace("2021-09-30T16:25:24Z", "2021-13-30T16:25:24Z"), "not a valid date"),
        (GOLDEN.replace("2021-09-30T16:25:24Z", "1632, September"), "RFC 3339"),
        (GOLDEN.replace("Version: 1", "Version: 2"), "version"),
        (GOLDEN.replace("Terms of Service:", "Terms\nof Service:"), "single line"),
        (GOLDEN.replace("Terms of Service", "Terms \u202eof Service"), "printable ASCII"),
        (GOLDEN.replace("example.com wants", "evil@example.com wants"), "host name"),
        (GOLDEN.replace("example.com wants", "example.com/path wants"), "host name"),
        (GOLDEN.replace("URI: https://example.com/login", "URI: not a uri"), "absolute URI"),
        (GOLDEN.replace("URI: ", "Uri: "), "'URI' line"),
        (GOLDEN.replace("wants you to sign in", "wants you to log in"), "first line"),
        (GOLDEN.split("Issued At")[0], "Issued At"),
        (GOLDEN.replace("Resources:\n- ipfs", "Resources:\n-  ipfs"), "absolute URI"),
        (GOLDEN.split("\n- ipfs")[0], "canonical"),
        ("", "first line"),
        ("x" * 20_000, "too long"),
    ],
)
def test_parse_refuses_non_canonical_text(text: str, reason: str) -> None:
    with pytest.raises(SiweError, match=reason):
        parse(text)


def test_construction_validates_like_parsing() -> None:
    with pytest.raises(SiweError, match="positive decimal"):
        replace(GOLDEN_MSG, chain_id=0)
    with pytest.raises(SiweError, match="request ID"):
        replace(GOLDEN_MSG, request_id="has space")
    with pytest.raises(SiweError, match="resource"):
        replace(GOLDEN_MSG, resources=("https://ok.example/", "javascript alert"))


def test_checksum_and_timestamps_helpers() -> None:
    assert checksum("0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2") == GOLDEN_MSG.address
    with pytest.raises(SiweError):
        checksum("0x123")
    moment = datetime(2024, 5, 1, 12, 0, 0, 999, tzinfo=UTC)
    assert format_timestamp(moment) == "2024-05-01T12:00:00Z"
    assert parse_timestamp(format_timestamp(moment)) == moment.replace(microsecond=0)
    with pytest.raises(ValueError, match="aware"):
        format_timestamp(datetime(2024, 5, 1))


def test_generated_nonces_are_valid_and_distinct() -> None:
    nonces = {generate_nonce() for _ in range(50)}
    assert len(nonces) == 50
    for nonce in nonces:
        assert replace(GOLDEN_MSG, nonce=nonce).nonce == nonce


# -- check() ---------------------------------------------------------------------------------

ISSUED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def _msg(**changes: object) -> SiweMessage:
    base = SiweMessage(
        scheme="https",
        domain="parley.example",
        address="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        statement="Link this wallet.",
        uri="https://parley.example/link",
        chain_id=1,
        nonce="abcdefgh1234",
        issued_at=format_timestamp(ISSUED),
        expiration_time=format_timestamp(ISSUED + timedelta(minutes=10)),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _check(msg: SiweMessage, now: datetime = ISSUED + timedelta(minutes=1), **kw: Any) -> None:
    args: dict[str, Any] = {
        "expected_domain": "parley.example",
        "expected_uri": "https://parley.example/link",
        "expected_chain_id": 1,
        "now": now,
    }
    args.update(kw)
    check(msg, **args)


def test_check_accepts_a_fresh_message() -> None:
    _check(_msg())
    _check(_msg(), expected_chain_id={1, 10, 137}, expected_address=_msg().address.lower())
    # A client clock a little ahead is tolerated.
    _check(_msg(), now=ISSUED - timedelta(seconds=30))
    _check(_msg(scheme=None))


@pytest.mark.parametrize(
    ("msg", "kw", "reason"),
    [
        (_msg(domain="evil.example"), {}, "made for 'evil.example'"),
        (_msg(scheme="http"), {}, "scheme"),
        (_msg(uri="https://parley.example/other"), {}, "is for"),
        (_msg(chain_id=5), {}, "chain 5 is not accepted"),
        (_msg(), {"expected_chain_id": {10, 137}}, "accepted: 10, 137"),
        (_msg(), {"expected_address": "0x" + "11" * 20}, "signed for"),
        (_msg(), {"now": ISSUED + timedelta(minutes=10)}, "expired"),
        (_msg(expiration_time=None), {"now": ISSUED + timedelta(hours=1)}, "too old"),
        (_msg(), {"now": ISSUED - timedelta(minutes=5)}, "future"),
        (
            _msg(not_before=format_timestamp(ISSUED + timedelta(minutes=5))),
            {},
            "not valid yet",
        ),
    ],
)
def test_check_refuses(msg: SiweMessage, kw: dict[str, Any], reason: str) -> None:
    with pytest.raises(SiweError, match=reason):
        _check(msg, **kw)


def test_check_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="aware"):
        _check(_msg(), now=datetime(2024, 5, 1, 10, 1))
