"""PointsDistributor + CommunityPoints on anvil: cumulative claims, and every refusal as a clear
revert. Proofs come from ``bridge.points.merkle``; that they match OpenZeppelin's MerkleProof is
what these tests show (the contract verifies with OpenZeppelin's library)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from bridge.points.merkle import claim_tree
from contracts import at, deploy, load_artifact, send_transaction
from tests.chain.anvil import Anvil
from tests.contracts.helpers import events, reverts_with, sender

if TYPE_CHECKING:
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract

pytestmark = pytest.mark.chain

UNIT = 10**18
ABI = load_artifact("PointsDistributor").abi


async def _setup(
    w3: AsyncWeb3[Any], anvil: Anvil, fund: int = 1_000 * UNIT
) -> tuple[AsyncContract, AsyncContract]:
    owner_key = anvil.private_keys[0]
    owner = anvil.addresses[0]
    token = at(
        w3,
        "CommunityPoints",
        await deploy(
            w3, "CommunityPoints", "Points", "POINTS", owner, 10**6 * UNIT, private_key=owner_key
        ),
    )
    distributor = at(
        w3,
        "PointsDistributor",
        await deploy(w3, "PointsDistributor", token.address, owner, private_key=owner_key),
    )
    if fund:
        await send_transaction(
            w3, token.functions.transfer(distributor.address, fund), private_key=owner_key
        )
    return token, distributor


async def _publish(
    w3: AsyncWeb3[Any], anvil: Anvil, distributor: AsyncContract, cycle: int, root: bytes
) -> None:
    await send_transaction(
        w3, distributor.functions.publishRoot(cycle, root), private_key=anvil.private_keys[0]
    )


async def _claim(
    w3: AsyncWeb3[Any],
    anvil: Anvil,
    distributor: AsyncContract,
    who: int,
    amount: int,
    proof: list[bytes],
) -> Any:
    return await send_transaction(
        w3,
        distributor.functions.claim(anvil.addresses[who], amount, proof),
        private_key=anvil.private_keys[who],
    )


async def test_community_points_supply_goes_to_the_holder(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    token, _ = await _setup(w3, anvil, fund=0)
    assert await token.functions.symbol().call() == "POINTS"
    assert await token.functions.decimals().call() == 18
    assert await token.functions.balanceOf(anvil.addresses[0]).call() == 10**6 * UNIT


async def test_cumulative_claims_across_cycles(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    token, distributor = await _setup(w3, anvil)
    alice, bob, carol = anvil.addresses[1], anvil.addresses[2], anvil.addresses[3]
    assert await distributor.functions.merkleRoot().call() == b"\0" * 32

    first = {alice: 10 * UNIT, bob: 5 * UNIT}
    root1, proofs1 = claim_tree(first)
    await _publish(w3, anvil, distributor, 1, root1)
    assert await distributor.functions.merkleRoot().call() == root1
    assert await distributor.functions.cycle().call() == 1

    receipt = await _claim(w3, anvil, distributor, 1, 10 * UNIT, proofs1[alice])
    [claimed] = events(distributor, "Claimed", receipt)
    assert claimed["args"] == {"account": alice, "amount": 10 * UNIT}
    assert await token.functions.balanceOf(alice).call() == 10 * UNIT

    # Cycle 2: alice earned 4 more, bob missed cycle 1's claim, carol is new.
    second = {alice: 14 * UNIT, bob: 7 * UNIT, carol: 1 * UNIT}
    root2, proofs2 = claim_tree(second)
    await _publish(w3, anvil, distributor, 2, root2)
    await _claim(w3, anvil, distributor, 1, 14 * UNIT, proofs2[alice])
    receipt = await _claim(w3, anvil, distributor, 2, 7 * UNIT, proofs2[bob])
    assert events(distributor, "Claimed", receipt)[0]["args"]["amount"] == 7 * UNIT
    assert await token.functions.balanceOf(alice).call() == 14 * UNIT
    assert await token.functions.balanceOf(bob).call() == 7 * UNIT
    assert await distributor.functions.alreadyClaimed(alice).call() == 14 * UNIT
    assert await distributor.functions.totalClaimed().call() == 21 * UNIT
    # An old cycle's proof no longer leads to the root.
    await reverts_with(
        distributor.functions.claim(carol, 1 * UNIT, proofs1[alice]).call(sender(carol)),
        ABI,
        "InvalidProof",
    )


async def test_refusals(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    _, distributor = await _setup(w3, anvil)
    owner, alice, bob = anvil.addresses[0], anvil.addresses[1], anvil.addresses[2]
    root, proofs = claim_tree({alice: 3 * UNIT, bob: 2 * UNIT})

    # Only the owner publishes; cycles go in order, each once; the same root is not re-published.
    await reverts_with(
        distributor.functions.publishRoot(1, root).call(sender(alice)),
        ABI,
        "OwnableUnauthorizedAccount",
        alice,
    )
    await reverts_with(
        distributor.functions.publishRoot(2, root).call(sender(owner)), ABI, "CycleOutOfOrder", 1, 2
    )
    await _publish(w3, anvil, distributor, 1, root)
    await reverts_with(
        distributor.functions.publishRoot(1, root).call(sender(owner)), ABI, "CycleOutOfOrder", 2, 1
    )
    await reverts_with(
        distributor.functions.publishRoot(2, root).call(sender(owner)), ABI, "RootUnchanged", root
    )

    # A wrong amount, a wrong proof, another wallet's claim.
    await reverts_with(
        distributor.functions.claim(alice, 4 * UNIT, proofs[alice]).call(sender(alice)),
        ABI,
        "InvalidProof",
    )
    await reverts_with(
        distributor.functions.claim(alice, 3 * UNIT, proofs[bob]).call(sender(alice)),
        ABI,
        "InvalidProof",
    )
    await reverts_with(
        distributor.functions.claim(alice, 3 * UNIT, proofs[alice]).call(sender(bob)),
        ABI,
        "NotAccount",
        bob,
        alice,
    )
    # A double claim.
    await _claim(w3, anvil, distributor, 1, 3 * UNIT, proofs[alice])
    await reverts_with(
        distributor.functions.claim(alice, 3 * UNIT, proofs[alice]).call(sender(alice)),
        ABI,
        "NothingToClaim",
        3 * UNIT,
        3 * UNIT,
    )


async def test_an_unfunded_distributor_refuses_and_loses_nothing(
    w3: AsyncWeb3[Any], anvil: Anvil
) -> None:
    token, distributor = await _setup(w3, anvil, fund=UNIT)
    alice = anvil.addresses[1]
    root, proofs = claim_tree({alice: 3 * UNIT, anvil.addresses[2]: UNIT})
    await _publish(w3, anvil, distributor, 1, root)
    await reverts_with(
        distributor.functions.claim(alice, 3 * UNIT, proofs[alice]).call(sender(alice)),
        ABI,
        "InsufficientFunds",
        UNIT,
        3 * UNIT,
    )
    # Once the community tops it up, the same claim goes through in full.
    await send_transaction(
        w3,
        token.functions.transfer(distributor.address, 5 * UNIT),
        private_key=anvil.private_keys[0],
    )
    await _claim(w3, anvil, distributor, 1, 3 * UNIT, proofs[alice])
    assert await token.functions.balanceOf(alice).call() == 3 * UNIT


async def test_a_token_without_code_is_refused(w3: AsyncWeb3[Any], anvil: Anvil) -> None:
    from web3.exceptions import ContractCustomError

    with pytest.raises(ContractCustomError):
        await deploy(
            w3,
            "PointsDistributor",
            anvil.addresses[5],
            anvil.addresses[0],
            private_key=anvil.private_keys[0],
        )


@pytest.mark.parametrize("count", [1, 3, 7, 10])
async def test_every_proof_of_an_odd_or_even_tree_verifies_on_chain(
    w3: AsyncWeb3[Any], anvil: Anvil, count: int
) -> None:
    # Odd levels carry their last node up: OpenZeppelin's verifier must accept those proofs.
    _, distributor = await _setup(w3, anvil)
    amounts = {anvil.addresses[i]: (i + 1) * UNIT for i in range(count)}
    root, proofs = claim_tree(amounts)
    await _publish(w3, anvil, distributor, 1, root)
    for account, amount in amounts.items():
        paid = await distributor.functions.claim(account, amount, proofs[account]).call(
            sender(account)
        )
        assert paid == [] or paid is None
