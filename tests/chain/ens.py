"""ENS on anvil: a :class:`TestEns` resolver placed where web3 looks for the Universal Resolver.

web3.py 8 reads ENS only through the Universal Resolver at :data:`UNIVERSAL_RESOLVER` (and
raises ``BadFunctionCallOutput`` where it is missing), which anvil does not have.
:func:`install_ens` deploys ``contracts/test/TestUniversalResolver.sol``, copies its runtime
code to that address with ``anvil_setCode`` and returns a handle whose ``set_addr`` /
``set_name`` fill its tables.
``anvil_setCode`` moves code, not storage, so the contract has no constructor state: the first
account that calls a setter (here always ``private_key``) becomes its owner.

Use it with the ``w3`` fixture: its ``evm_snapshot``/``evm_revert`` also removes the code
and the records again after the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts import at, deploy, send_transaction

if TYPE_CHECKING:
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract

__all__ = ["UNIVERSAL_RESOLVER", "TestEns", "install_ens"]

UNIVERSAL_RESOLVER = "0xeEeEEEeE14D718C2B47D9923Deab1335E144EeEe"
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class TestEns:
    """The resolver at :data:`UNIVERSAL_RESOLVER`, changed by transactions of ``private_key``."""

    __test__ = False  # not a pytest test class despite its name

    w3: AsyncWeb3[Any]
    contract: AsyncContract
    private_key: bytes

    async def set_addr(self, name: str, address: str | None) -> None:
        """Forward record: ``name`` resolves to ``address`` (None clears it)."""
        from web3 import Web3

        target = Web3.to_checksum_address(address or ZERO_ADDRESS)
        call = self.contract.functions.setAddr(_normal(name), target)
        await send_transaction(self.w3, call, private_key=self.private_key)

    async def set_name(self, address: str, name: str | None) -> None:
        """Reverse record: the primary name of ``address`` is ``name`` (None clears it)."""
        from web3 import Web3

        call = self.contract.functions.setName(
            Web3.to_checksum_address(address), "" if name is None else _normal(name)
        )
        await send_transaction(self.w3, call, private_key=self.private_key)

    async def set_primary(self, name: str, address: str) -> None:
        """Both records: ``name`` → ``address`` and ``address`` → ``name``."""
        await self.set_addr(name, address)
        await self.set_name(address, name)


def _normal(name: str) -> str:
    """ENS-normalised, as web3 hashes it (the contract hashes the text it is given)."""
    from ens.utils import normalize_name  # type: ignore[import-untyped]  # no py.typed

    return str(normalize_name(name))


async def install_ens(w3: AsyncWeb3[Any], private_key: bytes) -> TestEns:
    """Put an empty :class:`TestEns` resolver at the Universal Resolver's address."""
    from web3.types import RPCEndpoint

    deployed = await deploy(w3, "TestUniversalResolver", private_key=private_key)
    code = await w3.eth.get_code(deployed)
    reply = await w3.provider.make_request(
        RPCEndpoint("anvil_setCode"), [UNIVERSAL_RESOLVER, code.to_0x_hex()]
    )
    if "error" in reply:
        raise RuntimeError(f"anvil_setCode failed: {reply['error']}")
    return TestEns(w3, at(w3, "TestUniversalResolver", UNIVERSAL_RESOLVER), private_key)
