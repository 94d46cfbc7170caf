"""What the bridge knows about tip tokens: ETH, the operator's ``[chain.tokens]``, and any
ERC-20 named by address (its ``decimals()`` and ``symbol()`` read once and cached)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.tips.abi import DECIMALS_SELECTOR, SYMBOL_SELECTOR, to_checksum
from bridge.tips.rpc import RpcClient, RpcError

__all__ = ["ETH", "TokenError", "TokenInfo", "Tokens"]

_SAFE_SYMBOL = re.compile(r"^[A-Za-z0-9$._-]{1,12}$")


class TokenError(ValueError):
    """The token is unknown or unreadable; the message is fit for the user."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    address: str | None  # EIP-55; None for ETH
    symbol: str
    decimals: int
    configured: bool  # ETH or listed by the operator (only those are announced unprompted)


ETH = TokenInfo(None, "ETH", 18, True)


class Tokens:
    def __init__(self, configured: Mapping[str, str], rpc: RpcClient | None) -> None:
        self._by_symbol = {symbol.upper(): to_checksum(addr) for symbol, addr in configured.items()}
        self._symbol_of = {addr.lower(): symbol for symbol, addr in self._by_symbol.items()}
        self._rpc = rpc
        self._cache: dict[str, TokenInfo] = {}

    @property
    def symbols(self) -> list[str]:
        return ["ETH", *sorted(self._by_symbol)]

    def configured_address(self, symbol: str) -> str | None:
        return self._by_symbol.get(symbol.upper())

    def is_configured(self, address: str | None) -> bool:
        return address is None or address.lower() in self._symbol_of

    async def by_text(self, text: str) -> TokenInfo:
        """``ETH``, a configured symbol (any case) or an ERC-20 address."""
        if text.upper() == "ETH":
            return ETH
        if text.lower().startswith("0x"):
            try:
                address = to_checksum(text)
            except ValueError as exc:
                raise TokenError(f"{text[:50]} is not a token address: {exc}") from exc
            return await self.info(address)
        configured = self.configured_address(text)
        if configured is None:
            raise TokenError(
                f"Unknown token {text[:20]!r}. This bridge knows {', '.join(self.symbols)};"
                " or give the token's 0x address."
            )
        return await self.info(configured)

    async def info(self, address: str | None) -> TokenInfo:
        """Symbol and decimals of a token (read from the chain once, then cached)."""
        if address is None:
            return ETH
        key = address.lower()
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if self._rpc is None:
            raise TokenError("Token tips need [chain] rpc_url.")
        configured = self._symbol_of.get(key)
        try:
            if not await self._rpc.get_code(address):
                raise TokenError(f"{address} is not a contract on this chain.")
            decimals = _decode_uint(await self._rpc.eth_call(address, DECIMALS_SELECTOR))
            symbol = configured or _decode_symbol(
                await self._rpc.eth_call(address, SYMBOL_SELECTOR)
            )
        except RpcError as exc:
            raise TokenError(
                f"Could not read the token at {address} (is it an ERC-20 on this chain?)."
            ) from exc
        if decimals is None or decimals > 36:
            raise TokenError(f"The token at {address} reports no usable decimals().")
        info = TokenInfo(to_checksum(address), symbol, decimals, configured is not None)
        self._cache[key] = info
        return info


def _decode_uint(raw: bytes) -> int | None:
    if len(raw) < 32:
        return None
    return int.from_bytes(raw[:32], "big")


def _decode_symbol(raw: bytes) -> str:
    """ABI ``string`` (or the old ``bytes32`` form); anything odd becomes ``TOKEN``."""
    text = ""
    if len(raw) >= 64 and int.from_bytes(raw[:32], "big") == 32:
        length = int.from_bytes(raw[32:64], "big")
        if length <= 64 and len(raw) >= 64 + length:
            text = raw[64 : 64 + length].decode("utf-8", errors="replace")
    elif len(raw) == 32:
        text = raw.rstrip(b"\0").decode("utf-8", errors="replace")
    return text if _SAFE_SYMBOL.match(text) else "TOKEN"
