"""ENS names as tip recipients: forward resolution through web3 (imported only when used)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

__all__ = ["EnsError", "looks_like_ens", "resolve_ens"]

_ENS = re.compile(r"^(?:[a-z0-9\-_]{1,63}\.)+[a-z]{2,63}$", re.IGNORECASE)


class EnsError(ValueError):
    """The name could not be resolved; the message is fit for the user."""


def looks_like_ens(text: str) -> bool:
    return len(text) <= 255 and _ENS.match(text) is not None


async def resolve_ens(rpc_url: str, name: str, *, seconds: float = 5.0) -> str:
    """The address ``name`` resolves to (EIP-55); ``EnsError`` on any failure."""
    try:
        from web3 import AsyncHTTPProvider, AsyncWeb3
    except ImportError as exc:  # pragma: no cover - web3 is a dependency
        raise EnsError("ENS support is not installed") from exc
    provider = AsyncHTTPProvider(rpc_url)
    w3: AsyncWeb3[Any] = AsyncWeb3(provider)
    try:
        async with asyncio.timeout(seconds):
            address = await w3.ens.address(name)  # type: ignore[union-attr]
    except TimeoutError as exc:
        raise EnsError(f"resolving {name} timed out") from exc
    except Exception as exc:
        # Without the Universal Resolver (most test chains, many L2s) web3 raises
        # BadFunctionCallOutput; a malformed name raises InvalidName.
        raise EnsError(f"could not resolve {name} on this chain ({type(exc).__name__})") from exc
    finally:
        await provider.disconnect()
    if address is None or int(address, 16) == 0:
        raise EnsError(f"{name} does not resolve to an address")
    return str(address)
