"""pytest fixtures for tests that need a chain: a session-wide anvil and a per-test AsyncWeb3.

Under tests/chain/ and tests/contracts/ their conftest.py imports these; elsewhere, load this
module as a plugin (``pytest_plugins = ["tests.chain.fixtures"]`` in tests/conftest.py).

- ``anvil`` (session, sync): an :class:`tests.chain.anvil.Anvil` with ``rpc_url``,
  ``chain_id`` (31337), ``private_keys`` and ``addresses`` (10 accounts, 10 000 ETH each).
- ``w3`` (function, async): an ``AsyncWeb3`` on that anvil, inside ``evm_snapshot`` /
  ``evm_revert`` so nothing a test does is seen by the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from contracts import nonce_manager
from tests.chain.anvil import Anvil, start_anvil

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = ["anvil", "w3"]


# The fixture is defined once per conftest that imports it (tests/chain, tests/contracts) and
# once more if loaded as a plugin; all those definitions share one process.
_shared: dict[str, Any] = {"node": None, "users": 0}


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    """One anvil for the whole session; stopped by PID at the end."""
    if _shared["node"] is None:
        _shared["node"] = start_anvil()
    node: Anvil = _shared["node"]
    _shared["users"] += 1
    try:
        yield node
    finally:
        _shared["users"] -= 1
        if _shared["users"] == 0:
            _shared["node"] = None
            node.stop()


@pytest.fixture
async def w3(anvil: Anvil) -> AsyncIterator[AsyncWeb3[Any]]:
    """An AsyncWeb3 for this test's event loop; the chain is rolled back afterwards."""
    from web3 import AsyncHTTPProvider, AsyncWeb3
    from web3.types import RPCEndpoint

    provider = AsyncHTTPProvider(
        anvil.rpc_url,
        cache_allowed_requests=True,
        cacheable_requests={RPCEndpoint("eth_chainId")},
    )
    web3 = AsyncWeb3(provider)
    snapshot = (await provider.make_request(RPCEndpoint("evm_snapshot"), []))["result"]
    try:
        yield web3
    finally:
        try:
            reply = await provider.make_request(RPCEndpoint("evm_revert"), [snapshot])
            if reply.get("result") is not True:
                raise RuntimeError(f"evm_revert({snapshot}) failed: {reply}")
            nonce_manager(web3).reset()
        finally:
            await provider.disconnect()
