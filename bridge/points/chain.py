"""The distributor on chain, as the bridge needs it: read its state, publish a root with the
operator's key (the bridge identity key, as for feed anchors), and read ``Claimed`` events.

web3 is imported lazily (importing it costs about a second at start); one ``AsyncWeb3`` per
event loop (its HTTP session is bound to the loop that made it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = ["ClaimedEvent", "DistributorChain", "RootEvent"]

MAX_LOG_RANGE = 2000


@dataclass(frozen=True, slots=True)
class RootEvent:
    cycle: int
    root: str
    tx_hash: str
    block: int


@dataclass(frozen=True, slots=True)
class ClaimedEvent:
    account: str
    amount: int
    tx_hash: str
    log_index: int
    block: int


class DistributorChain:
    def __init__(
        self,
        w3: AsyncWeb3[Any],
        distributor: str,
        token: str,
        private_key: bytes | None,
        *,
        owns_provider: bool = False,
    ) -> None:
        from contracts import at

        self.w3 = w3
        self.distributor = at(w3, "PointsDistributor", distributor)
        self.token = at(w3, "CommunityPoints", token)  # only ERC-20 functions are used
        self.address = self.distributor.address
        self._key = private_key
        self._owns = owns_provider

    @classmethod
    def open(
        cls, rpc_url: str, distributor: str, token: str, private_key: bytes | None
    ) -> DistributorChain:
        from bridge.feed.anchor import open_web3

        return cls(open_web3(rpc_url), distributor, token, private_key, owns_provider=True)

    async def close(self) -> None:
        if self._owns:
            await self.w3.provider.disconnect()

    @property
    def operator(self) -> str | None:
        if self._key is None:
            return None
        from eth_account import Account

        return str(Account.from_key(self._key).address)

    async def head(self) -> int:
        return int(await self.w3.eth.block_number)

    async def state(self, block: int | Literal["latest"] = "latest") -> tuple[int, str]:
        """(cycle, root) as the distributor has them at ``block``."""
        fns = self.distributor.functions
        cycle = await fns.cycle().call(block_identifier=block)
        root = await fns.merkleRoot().call(block_identifier=block)
        return int(cycle), "0x" + bytes(root).hex()

    async def owner(self) -> str:
        return str(await self.distributor.functions.owner().call())

    async def funds(self) -> tuple[int, int]:
        """(the distributor's token balance, what was claimed so far)."""
        balance = await self.token.functions.balanceOf(self.address).call()
        claimed = await self.distributor.functions.totalClaimed().call()
        return int(balance), int(claimed)

    async def already_claimed(self, account: str) -> int:
        from web3 import Web3

        checksum = Web3.to_checksum_address(account)
        return int(await self.distributor.functions.alreadyClaimed(checksum).call())

    async def root_event(self, cycle: int, to_block: int) -> RootEvent | None:
        """The ``RootPublished`` of ``cycle`` in the canonical chain up to ``to_block``."""
        event = self.distributor.events.RootPublished
        logs = await event.get_logs(
            from_block=0, to_block=to_block, argument_filters={"cycle": cycle}
        )
        if not logs:
            return None
        found = logs[-1]
        return RootEvent(
            cycle=int(found["args"]["cycle"]),
            root="0x" + bytes(found["args"]["root"]).hex(),
            tx_hash="0x" + bytes(found["transactionHash"]).hex(),
            block=int(found["blockNumber"]),
        )

    async def tx_known(self, tx_hash: str) -> bool:
        """Is ``tx_hash`` still pending or mined (False: dropped, e.g. by a reorg)?"""
        from web3.exceptions import TransactionNotFound

        try:
            await self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return False
        return True

    async def publish(self, cycle: int, root: str) -> str:
        """Send ``publishRoot(cycle, root)`` signed with the operator key; returns the tx hash
        without waiting for it to be mined. A call that would revert raises before sending."""
        from eth_account import Account
        from web3.types import Nonce

        from contracts import nonce_manager

        if self._key is None:
            raise RuntimeError("no operator key to publish with")
        account = Account.from_key(self._key)
        call = self.distributor.functions.publishRoot(cycle, bytes.fromhex(root[2:]))
        nonces = nonce_manager(self.w3)
        async with nonces.lock(account.address):
            # A rewound chain (reorg) invalidates a cached nonce; a single publisher can
            # afford to re-read it every time.
            nonces.reset(account.address)
            nonce = await nonces.peek(self.w3, account.address)
            tx = await call.build_transaction({"from": account.address, "nonce": Nonce(nonce)})
            signed = account.sign_transaction(tx)
            tx_hash = await self.w3.eth.send_raw_transaction(signed.raw_transaction)
            nonces.consume(account.address)
        return "0x" + bytes(tx_hash).hex()

    async def claimed_events(self, from_block: int, to_block: int) -> list[ClaimedEvent]:
        event = self.distributor.events.Claimed
        logs = await event.get_logs(from_block=from_block, to_block=to_block)
        return [
            ClaimedEvent(
                account=str(item["args"]["account"]),
                amount=int(item["args"]["amount"]),
                tx_hash="0x" + bytes(item["transactionHash"]).hex(),
                log_index=int(item["logIndex"]),
                block=int(item["blockNumber"]),
            )
            for item in logs
        ]
