"""``/tip`` and ``/tips``: tip intents, recipient resolution, and the tip page's data.

Recipient resolution for ``/tip <who> <amount> <token> [memo]`` (first match wins):

1. ``0x…`` (40 hex digits): that address.
2. ``name.eth`` (any dotted name): resolved through ENS, only when ``[chain] rpc_url`` is set.
3. ``<@123>`` / ``<@!123>`` (a Discord mention): the Discord user 123.
4. ``platform:id`` (``telegram:42``): that account.
5. ``@name`` or ``name``: a chat account with a linked wallet whose user id equals ``name``, or
   whose linked display name or chat username equals ``name`` (case-insensitive, with or
   without the ``@``);
   accounts on the tipper's own platform are preferred; several different accounts → the
   user is asked to be precise (``platform:id``).

An account is tipped at its most recently linked wallet. The bridge never holds funds or keys:
it only records the intent and watches the chain for the TipJar event that carries its id.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.commands import CommandReply, CommandRequest, UsageError
from bridge.model import Author, ChatRef
from bridge.names import clean_name, clean_text
from bridge.platform_index import PlatformIndex
from bridge.store import Store
from bridge.store import links as links_store
from bridge.store import tips as tips_store
from bridge.store.tips import StoredTip, TipIntent
from bridge.tips import abi, eip681
from bridge.tips.amounts import AmountError, format_amount, parse_amount
from bridge.tips.ens import EnsError, looks_like_ens, resolve_ens
from bridge.tips.rpc import RpcClient
from bridge.tips.tokens import TokenError, TokenInfo, Tokens

__all__ = [
    "INTENT_TTL",
    "NOT_CONFIGURED",
    "Recipient",
    "RoomDirectory",
    "TipConfig",
    "TipService",
    "short_address",
]

INTENT_TTL = 30 * 60
MAX_MEMO = 200
NOT_CONFIGURED = (
    "Tips are not set up on this bridge. The operator must set [chain] rpc_url (an Ethereum "
    "JSON-RPC URL) and [chain] tipjar (the TipJar contract; `parley contracts deploy` deploys "
    "one and writes its address into the config)."
)
# The user id in "platform:id" (the platform is any of the bridge's: PlatformIndex).
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9_.\-]{1,130}")


class _Room(Protocol):
    @property
    def members(self) -> tuple[ChatRef, ...]: ...


class RoomDirectory(Protocol):
    """What ``/tips`` needs from the router: the room a chat belongs to."""

    def room_of(self, chat: ChatRef) -> _Room | None: ...


@dataclass(frozen=True)
class TipConfig:
    """The settings tips depend on (from ``settings.chain`` and ``settings.web``)."""

    rpc_url: str | None
    chain_id: int
    tipjar: str | None
    confirmations: int
    tokens: dict[str, str]
    public_url: str
    explorer_tx_url: str | None = None
    """e.g. ``https://etherscan.io/tx/{tx}``; None shows the bare transaction hash."""

    @property
    def enabled(self) -> bool:
        return self.rpc_url is not None and self.tipjar is not None


@dataclass(frozen=True)
class Recipient:
    platform: str | None
    user_id: str | None
    name: str
    address: str


def short_address(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}"


def _clean(text: str, limit: int) -> str:
    return clean_name(text)[:limit]


class TipService:
    def __init__(
        self,
        config: TipConfig,
        store: Store | Callable[[], Store],
        *,
        rooms: RoomDirectory | None = None,
        clock: Callable[[], float] = time.time,
        intent_ttl: int = INTENT_TTL,
        ens_timeout: float = 5.0,
        index: PlatformIndex | None = None,
    ) -> None:
        self.config = config
        self._index = index if index is not None else PlatformIndex(())
        self._store = store
        self._rooms = rooms
        self._clock = clock
        self._ttl = intent_ttl
        self._ens_timeout = ens_timeout
        self.rpc = RpcClient(config.rpc_url) if config.rpc_url is not None else None
        self.tokens = Tokens(config.tokens, self.rpc)

    @property
    def store(self) -> Store:
        return self._store if isinstance(self._store, Store) else self._store()

    async def close(self) -> None:
        if self.rpc is not None:
            await self.rpc.close()

    def now(self) -> int:
        return int(self._clock())

    # --- /tip ------------------------------------------------------------------------------

    async def handle_tip(self, request: CommandRequest) -> CommandReply:
        if not self.config.enabled:
            return CommandReply(NOT_CONFIGURED, private=True)
        parts = request.raw_args.split(maxsplit=3)
        if len(parts) < 3:
            raise UsageError("Say who, how much and which token, e.g. /tip @bob 0.01 ETH")
        who, amount_text, token_text = parts[0], parts[1], parts[2]
        memo = clean_text(parts[3])[:MAX_MEMO] if len(parts) > 3 else ""
        try:
            token = await self.tokens.by_text(token_text)
        except TokenError as exc:
            raise UsageError(str(exc)) from None
        try:
            amount = parse_amount(amount_text, token.decimals, token.symbol)
        except AmountError as exc:
            raise UsageError(str(exc)) from None
        recipient = await self._resolve(who, request)
        intent = await self._create_intent(request, recipient, token, amount, memo)
        page = self.page_url(intent.id)
        lines = [
            f"Tip {format_amount(amount, token.decimals)} {token.symbol} to {recipient.name}"
            f" ({recipient.address}): open {page} to send it from your wallet"
            f" (valid {self._ttl // 60} min; the bridge never holds your funds).",
            f"Mobile wallet (EIP-681): {self.uris(intent)[-1]}",
        ]
        if token.address is not None:
            lines.append(
                "Token tips need two transactions: approve, then tipToken; the page does both."
            )
        return CommandReply("\n".join(lines), private=True)

    def page_url(self, intent_id: str) -> str:
        return f"{self.config.public_url}/tip/{intent_id}"

    async def _create_intent(
        self,
        request: CommandRequest,
        recipient: Recipient,
        token: TokenInfo,
        amount: int,
        memo: str,
    ) -> TipIntent:
        assert self.config.tipjar is not None
        now = self.now()
        intent = TipIntent(
            id="0x" + secrets.token_bytes(32).hex(),
            tipper_platform=request.author.platform,
            tipper_user_id=str(request.author.user_id),
            tipper_name=_clean(request.author.display_name, 80) or str(request.author.user_id),
            recipient_platform=recipient.platform,
            recipient_user_id=recipient.user_id,
            recipient_name=recipient.name,
            recipient_address=recipient.address,
            token=token.address,
            symbol=token.symbol,
            decimals=token.decimals,
            amount=amount,
            memo=memo,
            chat_platform=request.chat.platform,
            chat_id=str(request.chat.chat_id),
            chain_id=self.config.chain_id,
            tipjar=abi.to_checksum(self.config.tipjar),
            created_at=now,
            expires_at=now + self._ttl,
        )
        async with self.store.transaction() as db:
            await tips_store.add_intent(db, intent)
        return intent

    async def _resolve(self, who: str, request: CommandRequest) -> Recipient:
        who = who.strip()
        if who[:2].lower() == "0x":
            return await self._resolve_address(who, request.author)
        if looks_like_ens(who):
            return await self._resolve_ens(who)
        return await self._resolve_member(who, request.author)

    async def _resolve_address(self, who: str, author: Author) -> Recipient:
        try:
            address = abi.to_checksum(who)
        except ValueError as exc:
            raise UsageError(f"{who[:50]} is not a valid address: {exc}") from None
        if int(address, 16) == 0:
            raise UsageError("Tipping the zero address would burn the tip.")
        mine = await links_store.wallets_of(self.store.db, author.platform, author.user_id)
        if any(w.address.lower() == address.lower() for w in mine):
            raise UsageError("That is your own wallet.")
        accounts = await links_store.accounts_of(self.store.db, address)
        name = accounts[-1].display_name if accounts else short_address(address)
        return Recipient(None, None, _clean(name, 80), address)

    async def _resolve_ens(self, who: str) -> Recipient:
        if self.config.rpc_url is None:
            raise UsageError("ENS names need [chain] rpc_url; give a 0x address instead.")
        try:
            address = await resolve_ens(self.config.rpc_url, who, seconds=self._ens_timeout)
        except EnsError as exc:
            raise UsageError(f"{exc}. Give a 0x address instead.") from None
        return Recipient(None, None, who.lower(), abi.to_checksum(address))

    async def _resolve_member(self, who: str, author: Author) -> Recipient:
        """A chat member named by mention, ``platform:user_id`` or name, with a wallet."""
        platform: str | None = None
        key = who
        mention = self._index.native_user(who)
        explicit = self._index.qualified(who)
        if explicit is not None and _ACCOUNT_ID.fullmatch(explicit[1]) is None:
            explicit = None
        if mention:
            platform, key = mention
        elif explicit:
            platform, key = explicit
        key = key.removeprefix("@")
        if not key or len(key) > 130:
            raise UsageError("Name the recipient: @name, a platform user id, or a 0x address.")
        named = await self._accounts_named(key, platform, exact_id=bool(mention or explicit))
        if not named:
            raise UsageError(
                f"{who[:60]} has no linked wallet here (they can link one with /link), or the "
                "bridge does not know that name. You can also tip a 0x address."
            )
        same = [a for a in named if a[0] == author.platform]
        chosen = same or named
        if len({(a[0], a[1]) for a in chosen}) > 1:
            options = ", ".join(sorted({f"{a[0]}:{a[1]}" for a in chosen})[:5])
            raise UsageError(f"{who[:60]} is ambiguous; say which one: {options}")
        platform_, user_id, _ = chosen[0]
        if (platform_, user_id) == (author.platform, str(author.user_id)):
            raise UsageError("You cannot tip yourself.")
        wallets = await links_store.wallets_of(self.store.db, platform_, user_id)
        if not wallets:
            raise UsageError(f"{who[:60]} has no linked wallet.")
        latest = max(wallets, key=lambda w: w.linked_at)
        return Recipient(platform_, user_id, _clean(latest.display_name, 80), latest.address)

    async def _accounts_named(
        self, key: str, platform: str | None, *, exact_id: bool
    ) -> list[tuple[str, str, str]]:
        """(platform, user_id, display_name) of linked accounts matching ``key``, newest link
        first: by exact user id, or else also by linked display name or username."""
        db = self.store.db
        if exact_id:
            found = await links_store.wallets_of(db, platform, key) if platform else []
            found.sort(key=lambda link: link.linked_at, reverse=True)
        else:
            found = await links_store.find_by_name(db, key, platform=platform, match_user_id=True)
        named = ((link.platform, link.user_id, link.display_name) for link in found)
        return list(dict.fromkeys(named))

    # --- the tip page ----------------------------------------------------------------------

    async def intent(self, intent_id: str) -> TipIntent | None:
        if not re.match(r"^0x[0-9a-fA-F]{64}$", intent_id):
            return None
        intent = await tips_store.get_intent(self.store.db, intent_id)
        if intent is not None and intent.status == "open" and intent.expires_at <= self.now():
            async with self.store.transaction() as db:
                await tips_store.expire_intents(db, self.now())
            intent = await tips_store.get_intent(self.store.db, intent_id)
        return intent

    def uris(self, intent: TipIntent) -> list[str]:
        """The EIP-681 URIs to pay ``intent``, in order (approve first for a token)."""
        if intent.token is None:
            return [
                eip681.tip_eth_uri(
                    intent.tipjar,
                    intent.chain_id,
                    intent.recipient_address,
                    intent.id,
                    intent.amount,
                )
            ]
        return [
            eip681.approve_uri(intent.token, intent.chain_id, intent.tipjar, intent.amount),
            eip681.tip_token_uri(
                intent.tipjar,
                intent.chain_id,
                intent.token,
                intent.recipient_address,
                intent.amount,
                intent.id,
            ),
        ]

    def api_view(self, intent: TipIntent) -> dict[str, Any]:
        """Everything the tip page needs, calldata included (the page has no ABI encoder)."""
        display = format_amount(intent.amount, intent.decimals)
        if intent.token is None:
            tip_tx = {
                "to": intent.tipjar,
                "data": abi.tip_eth_calldata(intent.recipient_address, intent.id),
                "value": hex(intent.amount),
            }
            approve: dict[str, Any] | None = None
        else:
            tip_tx = {
                "to": intent.tipjar,
                "data": abi.tip_token_calldata(
                    intent.token, intent.recipient_address, intent.amount, intent.id
                ),
                "value": "0x0",
            }
            approve = {
                "token": intent.token,
                # eth_call data = allowance_prefix + the owner as a 32-byte word + spender_word
                "allowance_selector": abi.ALLOWANCE_SELECTOR,
                "spender_word": "0" * 24 + intent.tipjar[2:].lower(),
                "amount": hex(intent.amount),
                "tx": {
                    "to": intent.token,
                    "data": abi.approve_calldata(intent.tipjar, intent.amount),
                    "value": "0x0",
                },
            }
        return {
            "id": intent.id,
            "status": intent.status,
            "created_at": intent.created_at,
            "expires_at": intent.expires_at,
            "chain_id": intent.chain_id,
            "chain_id_hex": hex(intent.chain_id),
            "tipjar": intent.tipjar,
            "tipper": intent.tipper_name,
            "recipient": {"name": intent.recipient_name, "address": intent.recipient_address},
            "token": {
                "address": intent.token,
                "symbol": intent.symbol,
                "decimals": intent.decimals,
            },
            "amount": str(intent.amount),
            "amount_display": f"{display} {intent.symbol}",
            "memo": intent.memo,
            "eip681": self.uris(intent),
            "qr": f"/tip/{intent.id}/qr.svg",
            "tx": tip_tx,
            "approve": approve,
            "paid_tx": intent.paid_tx,
        }

    # --- /tips -----------------------------------------------------------------------------

    async def handle_tips(self, request: CommandRequest) -> CommandReply:
        chats: Sequence[ChatRef] = (request.chat,)
        if self._rooms is not None:
            room = self._rooms.room_of(request.chat)
            if room is not None and room.members:
                chats = room.members
        found = await tips_store.tips_in_chats(
            self.store.db, [(c.platform, str(c.chat_id)) for c in chats], 500
        )
        found = [t for t in found if t.symbol is not None and t.decimals is not None]
        if not found:
            hint = "" if self.config.enabled else " " + NOT_CONFIGURED
            return CommandReply(
                "No tips in this room yet. Send one with /tip @user 0.01 ETH." + hint
            )
        lines = ["Recent tips:"]
        for tip in found[:5]:
            lines.append(f"• {tip.tipper_name} → {tip.recipient_name}: {_amount(tip)}")
        lines.append("Top tippers: " + _ranking(found, lambda t: t.tipper_name))
        lines.append("Top recipients: " + _ranking(found, lambda t: t.recipient_name))
        return CommandReply("\n".join(lines))


def _amount(tip: StoredTip) -> str:
    assert tip.decimals is not None
    return f"{format_amount(tip.amount, tip.decimals)} {tip.symbol}"


def _ranking(found: list[StoredTip], key: Callable[[StoredTip], str], top: int = 3) -> str:
    """Names by number of tips, each with its total per token."""
    counts: dict[str, int] = defaultdict(int)
    totals: dict[str, dict[tuple[str, int], int]] = defaultdict(lambda: defaultdict(int))
    for tip in found:
        assert tip.symbol is not None and tip.decimals is not None
        counts[key(tip)] += 1
        totals[key(tip)][(tip.symbol, tip.decimals)] += tip.amount
    ordered = sorted(counts, key=lambda name: (-counts[name], name))[:top]
    parts = []
    for name in ordered:
        sums = ", ".join(
            f"{format_amount(units, decimals)} {symbol}"
            for (symbol, decimals), units in sorted(totals[name].items())
        )
        parts.append(f"{name} ({sums})")
    return "; ".join(parts)
