"""On-chain anchoring through the Feed contract: send ``post``/``postBatch`` with the bridge key,
and read ``Posted``/``BatchPosted`` events back for ``verify_entry``.

web3 is imported lazily (``import web3`` alone takes over a second and tens of MiB, too much for
every CLI start); one ``AsyncWeb3`` per event loop, as web3 providers are bound to the loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.feed.entry import AnchorEvent

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = ["AnchorReceipt", "ChainAnchor", "fetch_events", "open_web3"]

# Bounds eth_getLogs calls: a reader checks at most this many distinct anchor blocks.
MAX_BLOCKS_CHECKED = 200


@dataclass(frozen=True, slots=True)
class AnchorReceipt:
    tx: str
    block: int


def open_web3(rpc_url: str) -> AsyncWeb3[Any]:
    from web3 import AsyncHTTPProvider, AsyncWeb3
    from web3.types import RPCEndpoint

    provider = AsyncHTTPProvider(
        rpc_url, cache_allowed_requests=True, cacheable_requests={RPCEndpoint("eth_chainId")}
    )
    return AsyncWeb3(provider)


class ChainAnchor:
    """Sends anchors from the bridge key to one Feed contract."""

    def __init__(
        self,
        w3: AsyncWeb3[Any],
        contract: str,
        private_key: bytes,
        chain_id: int,
        *,
        owns_provider: bool = False,
    ) -> None:
        self.w3 = w3
        self.contract = contract
        self.chain_id = chain_id
        self._key = private_key
        self._owns = owns_provider

    async def post(self, digest: bytes, uri: str) -> AnchorReceipt:
        return await self._send("post", digest, uri)

    async def post_batch(self, root: bytes, uri: str) -> AnchorReceipt:
        return await self._send("postBatch", root, uri)

    async def _send(self, function: str, value: bytes, uri: str) -> AnchorReceipt:
        from contracts import at, send_transaction

        feed = at(self.w3, "Feed", self.contract)
        call = feed.functions[function](value, uri)
        receipt = await send_transaction(self.w3, call, private_key=self._key)
        return AnchorReceipt(
            tx="0x" + bytes(receipt["transactionHash"]).hex(), block=int(receipt["blockNumber"])
        )

    async def close(self) -> None:
        if self._owns:
            await self.w3.provider.disconnect()


async def fetch_events(
    w3: AsyncWeb3[Any], contract: str, blocks: Iterable[int]
) -> list[AnchorEvent]:
    """Every Posted/BatchPosted event of ``contract`` in the given blocks (each block once)."""
    from contracts import at

    feed = at(w3, "Feed", contract)
    found: list[AnchorEvent] = []
    wanted = sorted(set(blocks))[:MAX_BLOCKS_CHECKED]
    for block in wanted:
        for name, kind in (("Posted", "each"), ("BatchPosted", "batch")):
            event = feed.events[name]
            logs = await event.get_logs(from_block=block, to_block=block)
            for log in logs:
                args = log["args"]
                value = args["digest"] if kind == "each" else args["root"]
                found.append(
                    AnchorEvent(
                        kind=kind,  # type: ignore[arg-type]
                        contract=str(log["address"]),
                        poster=str(args["poster"]),
                        value=bytes(value),
                        uri=str(args["uri"]),
                        tx="0x" + bytes(log["transactionHash"]).hex(),
                        block=int(log["blockNumber"]),
                        timestamp=int(args["timestamp"]),
                    )
                )
    return found
