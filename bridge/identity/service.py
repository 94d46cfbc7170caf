"""Wallet linking: one-time ``/link`` tokens, the EIP-4361 message for them, and its verification.

The flow: :meth:`LinkService.create_token` (from ``/link``) returns ``{public_url}/link/{token}``;
the page asks :meth:`LinkService.message_for` for the exact text to sign for an address, and
posts the signature to :meth:`LinkService.complete`, which checks everything, spends the token
and stores the link (message and signature kept verbatim, so anyone can re-verify it).

Choices, and why:

- ``domain`` is ``public_url``'s host[:port] and ``uri`` is ``{public_url}/link`` — the token is
  deliberately *not* in the signed text: the text is stored and shown to anyone who re-verifies,
  and the token is a bearer secret until spent. The nonce, stored with the token, binds the
  message to this one request instead.
- The nonce is made with the token; a message is accepted only if it carries the nonce of the
  token it is posted to, and spending the token (one conditional UPDATE) is the single use.
- The statement names the chat account (platform, user id, display name) and the bridge, in
  printable ASCII only (a wallet shows it; see :mod:`bridge.identity.siwe`), so a signature for
  one chat account cannot be replayed for another.
- Only the sha256 of a token is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bridge.identity.siwe import (
    SiweError,
    SiweMessage,
    check,
    checksum,
    format_timestamp,
    generate_nonce,
    parse,
    render,
)
from bridge.identity.verify import JsonRpc, SignatureError, verify_signature
from bridge.model import Author, ChatId, ChatRef, Platform
from bridge.notify import Notifier
from bridge.store import Store, links

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "TOKEN_TTL",
    "LinkError",
    "LinkService",
    "PendingLink",
    "RpcProvider",
    "short_address",
]

TOKEN_TTL = 10 * 60
"""Seconds a /link URL stays valid."""

_TOKEN = re.compile(r"[A-Za-z0-9_\-]{43}")  # token_urlsafe(32): 32 bytes, base64url, no padding
_SIGNATURE = re.compile(r"0x(?:[0-9a-fA-F]{2})+")
MAX_SIGNATURE_HEX = 2 + 2 * 16 * 1024
_NAME_LIMIT = 64

RpcProvider = Callable[[], Awaitable["JsonRpc | AsyncWeb3[Any] | None"]]
"""Returns the chain's JSON-RPC endpoint (made lazily: importing web3 is slow), or None."""


class LinkError(Exception):
    """The request cannot be served; ``status`` is the HTTP status, the message the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class PendingLink:
    """What a link page may show about its token (never the token's hash)."""

    platform: str
    user_id: str
    display_name: str
    expires_at: int


def short_address(address: str) -> str:
    """``0x1234…abcd``: enough to recognise a wallet in a chat line."""
    return f"{address[:6]}…{address[-4:]}"


def _ascii(text: str, limit: int = _NAME_LIMIT) -> str:
    """Printable ASCII only (the SIWE statement allows nothing else), shortened."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in text).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    return cleaned or "?"


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


class LinkService:
    """Issues link tokens and turns signed messages into stored wallet links.

    ``store`` is called for the open store on each use (the bridge opens it at start).
    ``rpc`` returns the chain's JSON-RPC endpoint, or None without one (then only plain accounts,
    EOAs, can link). ``clock`` returns Unix seconds (tests move it).
    """

    def __init__(
        self,
        *,
        store: Callable[[], Store],
        notifier: Notifier,
        public_url: str,
        chain_id: int,
        bridge_name: str,
        rpc: RpcProvider | None = None,
        clock: Callable[[], float] = time.time,
        token_ttl: int = TOKEN_TTL,
    ) -> None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"public_url {public_url!r} is not an http(s) URL")
        self._store = store
        self._notifier = notifier
        self.public_url = public_url.rstrip("/")
        self.domain = parts.netloc
        self.scheme = parts.scheme
        self.uri = f"{self.public_url}/link"
        self.chain_id = chain_id
        self._bridge_name = _ascii(bridge_name, 40)
        self._rpc = rpc
        self._clock = clock
        self._ttl = token_ttl

    def _now(self) -> int:
        return int(self._clock())

    # --- /link ----------------------------------------------------------------------------

    async def create_token(self, author: Author, chat: ChatRef) -> str:
        """A fresh one-time link URL for ``author``, who asked in ``chat``."""
        token = secrets.token_urlsafe(32)
        now = self._now()
        pending = links.LinkToken(
            token_hash=_hash(token),
            platform=author.platform,
            user_id=str(author.user_id),
            display_name=author.display_name,
            username=author.username,
            chat_platform=chat.platform,
            chat_id=str(chat.chat_id),
            nonce=generate_nonce(),
            created_at=now,
            expires_at=now + self._ttl,
            used_at=None,
        )
        async with self._store().transaction() as db:
            # Expired tokens are useless; forget them (a day later, so "expired" stays explainable).
            await links.prune_tokens(db, now - 86400)
            await links.add_token(db, pending)
        return f"{self.public_url}/link/{token}"

    # --- the page's API -------------------------------------------------------------------

    async def _live_token(self, token: str) -> links.LinkToken:
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise LinkError(404, "unknown link; ask for a new one with /link")
        pending = await links.get_token(self._store().db, _hash(token))
        if pending is None:
            raise LinkError(404, "unknown link; ask for a new one with /link")
        if pending.used_at is not None:
            raise LinkError(410, "this link was already used; ask for a new one with /link")
        if self._now() >= pending.expires_at:
            raise LinkError(410, "this link has expired; ask for a new one with /link")
        return pending

    async def pending(self, token: str) -> PendingLink:
        """Who a live token links (for the page); raises LinkError for a dead one."""
        live = await self._live_token(token)
        return PendingLink(live.platform, live.user_id, live.display_name, live.expires_at)

    def statement(self, pending: links.LinkToken) -> str:
        return (
            f"Link this wallet to the {_ascii(pending.platform, 16)} account "
            f"{_ascii(pending.user_id, 32)} ({_ascii(pending.display_name)}) "
            f"on the {self._bridge_name} chat bridge."
        )

    async def message_for(self, token: str, address: str) -> str:
        """The exact EIP-4361 text the holder of ``address`` must sign for this token."""
        live = await self._live_token(token)
        try:
            checked = checksum(address)
        except SiweError as exc:
            raise LinkError(400, str(exc)) from None
        now = self._now()
        msg = SiweMessage(
            domain=self.domain,
            address=checked,
            statement=self.statement(live),
            uri=self.uri,
            chain_id=self.chain_id,
            nonce=live.nonce,
            issued_at=format_timestamp(datetime.fromtimestamp(now, UTC)),
            expiration_time=format_timestamp(datetime.fromtimestamp(live.expires_at, UTC)),
        )
        return render(msg)

    async def complete(self, token: str, message: Any, signature: Any) -> links.WalletLink:
        """Verify a signed message for ``token``, store the link and announce it.

        Raises LinkError (4xx) with the reason for every refusal.
        """
        live = await self._live_token(token)
        if not isinstance(message, str) or not isinstance(signature, str):
            raise LinkError(400, "send JSON with the fields message and signature, both strings")
        if len(signature) > MAX_SIGNATURE_HEX or not _SIGNATURE.fullmatch(signature):
            raise LinkError(400, "the signature must be 0x followed by hexadecimal bytes")
        try:
            msg = parse(message)
        except SiweError as exc:
            raise LinkError(400, f"malformed message: {exc}") from None
        now = self._now()
        try:
            check(
                msg,
                expected_domain=self.domain,
                expected_uri=self.uri,
                expected_chain_id=self.chain_id,
                now=datetime.fromtimestamp(now, UTC),
            )
        except SiweError as exc:
            raise LinkError(403, str(exc)) from None
        if msg.nonce != live.nonce:
            raise LinkError(403, "unknown nonce: this message was not made for this link")
        if msg.statement != self.statement(live):
            raise LinkError(403, "the statement does not name the chat account of this link")
        rpc = await self._rpc() if self._rpc is not None else None
        try:
            method = await verify_signature(
                message,
                bytes.fromhex(signature[2:]),
                msg.address,
                rpc=rpc,
                chain_id=msg.chain_id,
            )
        except SignatureError as exc:
            raise LinkError(403, str(exc)) from None
        link = links.WalletLink(
            platform=live.platform,
            user_id=live.user_id,
            display_name=live.display_name,
            username=live.username.removeprefix("@") if live.username else None,
            address=msg.address,
            chain_id=msg.chain_id,
            method=method,
            message=message,
            signature=signature.lower(),
            linked_at=now,
        )
        async with self._store().transaction() as db:
            # The conditional UPDATE is the single use: a concurrent twin loses here.
            if not await links.use_token(db, live.token_hash, live.nonce, now):
                raise LinkError(410, "this link was already used; ask for a new one with /link")
            await links.add(db, link)
        who = live.username or live.display_name
        if live.chat_platform:
            platform: Platform = live.chat_platform
            await self._notifier.announce(
                ChatRef(platform, ChatId(live.chat_id)),
                f"@{who} linked {short_address(link.address)}",
            )
        return link

    # --- queries for the commands ---------------------------------------------------------

    async def unlink(self, platform: str, user_id: str, address: str | None = None) -> int:
        async with self._store().transaction() as db:
            return await links.remove(db, platform, user_id, address)

    async def wallets_of(self, platform: str, user_id: str) -> list[links.WalletLink]:
        return await links.wallets_of(self._store().db, platform, user_id)

    async def accounts_of(self, address: str) -> list[links.WalletLink]:
        return await links.accounts_of(self._store().db, address)

    async def find_accounts(self, platform: str, name: str) -> list[tuple[str, str]]:
        """(platform, user id) of linked accounts on ``platform`` whose linked display name or
        username is ``name`` (case-insensitive), most recently linked first."""
        found = await links.find_by_name(self._store().db, name, platform=platform)
        return list(dict.fromkeys((link.platform, link.user_id) for link in found))
