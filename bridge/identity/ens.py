"""ENS names for linked wallets: shown only when the reverse record resolves and its forward
record points back at the same address (anyone can set a reverse record claiming any name).

The consistency rule is :func:`verified_name`, written against two small lookup functions so it
is testable without an ENS deployment. :func:`web3_lookups` supplies them from web3's ENS
module (imported lazily) over the configured RPC. Every error or timeout means "no name":
a name is decoration, never a reason for a command to fail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = ["EnsLookups", "verified_name", "web3_lookups"]

log = logging.getLogger(__name__)

ENS_TIMEOUT = 5.0
_MAX_NAME = 255


@dataclass(frozen=True)
class EnsLookups:
    """``reverse(address) -> name | None`` and ``forward(name) -> address | None``."""

    reverse: Callable[[str], Awaitable[str | None]]
    forward: Callable[[str], Awaitable[str | None]]


async def verified_name(
    address: str,
    lookups: EnsLookups | None,
    *,
    timeout: float = ENS_TIMEOUT,  # noqa: ASYNC109 - one deadline for both lookups
) -> str | None:
    """The primary ENS name of ``address`` if its forward record points back; else None."""
    if lookups is None:
        return None
    try:
        async with asyncio.timeout(timeout):
            name = await lookups.reverse(address)
            if not isinstance(name, str) or not name or len(name) > _MAX_NAME:
                return None
            if any(ord(c) < 0x20 or c.isspace() for c in name):
                return None  # a name shown in chat must not carry line breaks or spacing tricks
            forward = await lookups.forward(name)
    except Exception as exc:  # timeouts, RPC errors, a missing Universal Resolver ...
        log.debug("ENS lookup failed for %s: %s", address, exc)
        return None
    if not isinstance(forward, str) or forward.lower() != address.lower():
        return None
    return name


def web3_lookups(w3: AsyncWeb3[Any]) -> EnsLookups:
    """Lookups through web3's ENS (the Universal Resolver on the RPC's chain)."""

    async def reverse(address: str) -> str | None:
        from web3 import Web3

        name = await w3.ens.name(Web3.to_checksum_address(address))  # type: ignore[union-attr]
        return None if name is None else str(name)

    async def forward(name: str) -> str | None:
        found = await w3.ens.address(name)  # type: ignore[union-attr]
        return None if found is None else str(found)

    return EnsLookups(reverse=reverse, forward=forward)
