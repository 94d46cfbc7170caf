"""Cycle close → canonical list → root on anvil → claims, and the failure cases: nothing to
publish, a cycle still publishing, a restart mid-close, a reorg, a root published by someone
else, a distributor owned by another key, an unfunded distributor."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bridge.points.chain import DistributorChain
from bridge.points.closing import ClaimBook, CloseRefused, CycleManager, claim_calldata
from bridge.points.cycle import verify_document
from bridge.store import points as points_store
from contracts import at, deploy, send_transaction
from tests.chain.anvil import Anvil
from tests.points.support import ADMIN, ALICE, BOB, CAROL, Env, points_env

if TYPE_CHECKING:
    from web3 import AsyncWeb3

pytestmark = pytest.mark.chain

UNIT = 10**18
CONFIRMATIONS = 2


async def _rpc(w3: AsyncWeb3[Any], method: str, params: list[Any]) -> Any:
    from web3.types import RPCEndpoint

    reply = await w3.provider.make_request(RPCEndpoint(method), params)
    assert "error" not in reply, reply
    return reply["result"]


async def mine(w3: AsyncWeb3[Any], blocks: int = CONFIRMATIONS) -> None:
    await _rpc(w3, "anvil_mine", [hex(blocks)])


@dataclass
class Chain:
    token: Any
    distributor: Any
    said: list[str]


@contextlib.asynccontextmanager
async def cycle_env(
    w3: AsyncWeb3[Any],
    anvil: Anvil,
    tmp_path: Path,
    *,
    fund: int = 1000 * UNIT,
    owner: int = 0,
) -> AsyncIterator[tuple[Env, CycleManager, Chain]]:
    key = anvil.private_keys[0]
    token = at(
        w3,
        "CommunityPoints",
        await deploy(
            w3, "CommunityPoints", "P", "POINTS", anvil.addresses[0], 10**6 * UNIT, private_key=key
        ),
    )
    distributor = at(
        w3,
        "PointsDistributor",
        await deploy(
            w3, "PointsDistributor", token.address, anvil.addresses[owner], private_key=key
        ),
    )
    if fund:
        await send_transaction(
            w3, token.functions.transfer(distributor.address, fund), private_key=key
        )
    said: list[str] = []

    async def announce(text: str) -> None:
        said.append(text)

    async with points_env(tmp_path, token=token.address, distributor=distributor.address) as env:
        manager = make_manager(
            env, w3, anvil, tmp_path, distributor.address, token.address, announce
        )
        yield env, manager, Chain(token, distributor, said)


def make_manager(
    env: Env,
    w3: AsyncWeb3[Any],
    anvil: Anvil,
    tmp_path: Path,
    distributor: str,
    token: str,
    announce: Any,
) -> CycleManager:
    chain = DistributorChain(w3, distributor, token, anvil.private_keys[0])
    return CycleManager(
        env.service,
        env.service.config,
        tmp_path / "cycles",
        chain=chain,
        confirmations=CONFIRMATIONS,
        announce=announce,
        clock=env.clock,
    )


async def _claim(w3: AsyncWeb3[Any], book: ClaimBook, distributor: str, account: str) -> int:
    found = await book.lookup(account)
    assert found is not None
    _, wallet, amount, proof = found
    tx_hash = await w3.eth.send_transaction(
        {"from": wallet, "to": distributor, "data": claim_calldata(wallet, amount, proof)}  # type: ignore[typeddict-item]
    )
    receipt = await w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    return amount


async def _publish(manager: CycleManager, w3: AsyncWeb3[Any]) -> None:
    await manager.step()  # sends
    await mine(w3)
    await manager.step()  # confirms


async def test_close_publish_and_claim_across_cycles(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice, bob, carol = anvil.addresses[1], anvil.addresses[2], anvil.addresses[3]
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, alice)
        await env.link(BOB, bob)
        await env.say(ALICE, "alice writes one")
        await env.say(ALICE, "alice writes two")
        await env.say(BOB, "bob writes once")
        await env.say(CAROL, "carol is not linked")

        done = await manager.close("telegram:9")
        assert (done.cycle, done.members, done.total_points) == (1, 2, 3)
        assert done.warning is None
        path = await manager.document(1)
        assert path is not None and path.stat().st_mode & 0o777 == 0o600
        document = verify_document(path.read_bytes())
        assert (document.root, document.cid) == (done.root, done.cid)
        assert document.amounts == {alice: 2 * UNIT, bob: 1 * UNIT}
        # Entries made after the close belong to cycle 2.
        assert await points_store.current_cycle(env.store.db) == 2

        await manager.step()
        assert (await points_store.get_cycle(env.store.db, 1)).status == "closing"  # type: ignore[union-attr]
        await mine(w3)
        await manager.step()
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and row.status == "published" and row.tx_hash
        assert "0x" + bytes(await chain.distributor.functions.merkleRoot().call()).hex() == (
            done.root
        )
        assert any(s.startswith("Cycle 1 is on chain") for s in chain.said)

        book = ClaimBook(manager)
        assert await _claim(w3, book, chain.distributor.address, alice) == 2 * UNIT
        await mine(w3)
        await manager.watch_claims()
        assert chain.said[-1].startswith("Alice claimed 2 POINTS (tx 0x")

        # Cycle 2: carol links (her earlier point becomes claimable), alice earns one more;
        # bob never claimed cycle 1 and claims both in one go.
        await env.link(CAROL, carol)
        await env.say(ALICE, "alice writes three")
        done = await manager.close("telegram:9")
        assert (done.cycle, done.members, done.total_points) == (2, 3, 5)
        await _publish(manager, w3)
        assert await _claim(w3, book, chain.distributor.address, alice) == 3 * UNIT
        assert await _claim(w3, book, chain.distributor.address, bob) == 1 * UNIT
        assert await _claim(w3, book, chain.distributor.address, carol) == 1 * UNIT
        balances = [await chain.token.functions.balanceOf(a).call() for a in (alice, bob, carol)]
        assert balances == [3 * UNIT, 1 * UNIT, 1 * UNIT]
        # A double claim is refused by the contract, and nothing is paid twice.
        from web3.exceptions import ContractCustomError

        found = await book.lookup(alice)
        assert found is not None
        with pytest.raises(ContractCustomError):
            await chain.distributor.functions.claim(alice, found[2], found[3]).call({"from": alice})


async def test_close_refusals(w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path) -> None:
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, _):
        await env.say(CAROL, "carol is not linked")
        with pytest.raises(CloseRefused, match="No member with a linked wallet"):
            await manager.close("x")
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        await manager.close("x")
        with pytest.raises(CloseRefused, match="Cycle 1 is still being published"):
            await manager.close("x")
        await _publish(manager, w3)
        await env.say(CAROL, "still unlinked")
        with pytest.raises(CloseRefused, match="Nothing new since cycle 1"):
            await manager.close("x")


async def test_relinking_moves_only_unpaid_points(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    first, second = anvil.addresses[1], anvil.addresses[4]
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, _):
        await env.link(ALICE, first, at=1000)
        await env.say(ALICE, "alice writes one")
        await env.say(ALICE, "alice writes two")
        await manager.close("x")
        await _publish(manager, w3)
        await env.link(ALICE, second, at=2000)
        await env.say(ALICE, "alice writes three")
        await manager.close("x")
        claims = await points_store.claims_of(env.store.db, 2)
        assert claims == {first: 2, second: 1}
        # A deduction after a payout does not take back what a wallet may already claim.
        await env.command(ADMIN, "/deduct @alice 5 spam", admin=True)
        await _publish(manager, w3)
        await env.say(ALICE, "alice writes four")
        with pytest.raises(CloseRefused, match="Nothing new"):
            await manager.close("x")


async def test_restart_mid_close_rebuilds_the_list_and_never_sends_twice(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        done = await manager.close("x")
        path = tmp_path / "cycles" / "1.json"
        original = path.read_bytes()
        path.unlink()  # a crash between the commit and the file
        await manager.step()  # the root is sent...
        # ...and the bridge restarts before it is confirmed.
        again = make_manager(
            env, w3, anvil, tmp_path, chain.distributor.address, chain.token.address, None
        )
        await again.start()
        try:
            assert path.read_bytes() == original
            await mine(w3)
            await again.step()
        finally:
            await again.stop()
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and row.status == "published" and row.cid == done.cid
        logs = await chain.distributor.events.RootPublished.get_logs(from_block=0)
        assert len(logs) == 1


async def test_a_crash_before_the_list_is_built_is_finished_at_start(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, anvil.addresses[1])
        await env.link(BOB, anvil.addresses[2])
        await env.say(ALICE, "alice writes")
        await env.say(BOB, "bob writes")
        done = await manager.close("x")
        original = (tmp_path / "cycles" / "1.json").read_bytes()
        # As the close's commit leaves it: claims fixed, no root, no file yet.
        async with env.store.transaction() as db:
            await points_store.set_root(db, 1, "", "")
        (tmp_path / "cycles" / "1.json").unlink()
        await manager.step()  # the publisher finishes the list, and sends nothing unbuilt
        assert await chain.distributor.functions.cycle().call() == 0
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and (row.root, row.cid) == (done.root, done.cid)
        assert (tmp_path / "cycles" / "1.json").read_bytes() == original
        await _publish(manager, w3)
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and row.status == "published"


async def test_a_reorg_that_drops_the_root_resends_it(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        done = await manager.close("x")
        snapshot = await _rpc(w3, "evm_snapshot", [])
        await manager.step()
        first = await points_store.get_cycle(env.store.db, 1)
        assert first is not None and first.tx_hash is not None
        assert await chain.distributor.functions.cycle().call() == 1
        # The block with the root is reorganised away (the transaction with it).
        await _rpc(w3, "evm_revert", [snapshot])
        await mine(w3, 3)
        assert await chain.distributor.functions.cycle().call() == 0
        await manager.step()  # notices, and sends again
        await mine(w3)
        await manager.step()
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and row.status == "published"
        # The same signed transaction may come back with the same hash: what shows the resend
        # is the publisher noticing the loss.
        assert "is not on chain any more: resending" in caplog.text
        assert await chain.distributor.functions.cycle().call() == 1
        root = await chain.distributor.functions.merkleRoot().call()
        assert "0x" + bytes(root).hex() == done.root


async def test_a_root_published_elsewhere_is_reported_not_overwritten(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        await manager.close("x")
        await send_transaction(
            w3,
            chain.distributor.functions.publishRoot(1, b"\x01" * 32),
            private_key=anvil.private_keys[0],
        )
        await mine(w3)
        await manager.step()
        assert manager.problem is not None and "not this bridge's" in manager.problem
        assert not manager.health()
        row = await points_store.get_cycle(env.store.db, 1)
        assert row is not None and row.status == "closing"


async def test_a_distributor_owned_by_another_key_is_a_clear_problem(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    async with cycle_env(w3, anvil, tmp_path, owner=5) as (env, manager, _):
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        await manager.close("x")
        await manager.step()
        assert manager.problem is not None
        assert "OwnableUnauthorizedAccount(address)" in manager.problem


async def test_an_unfunded_distributor_is_announced_and_claims_wait(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path
) -> None:
    alice = anvil.addresses[1]
    async with cycle_env(w3, anvil, tmp_path, fund=0) as (env, manager, chain):
        await env.link(ALICE, alice)
        await env.say(ALICE, "alice writes")
        done = await manager.close("x")
        assert done.warning is not None
        assert "holds 0 POINTS but members can claim 1: send it 1 more POINTS" in done.warning
        await _publish(manager, w3)
        book = ClaimBook(manager)
        found = await book.lookup(alice)
        assert found is not None
        from web3.exceptions import ContractCustomError

        with pytest.raises(ContractCustomError):
            await chain.distributor.functions.claim(alice, found[2], found[3]).call({"from": alice})
        await send_transaction(
            w3,
            chain.token.functions.transfer(chain.distributor.address, 5 * UNIT),
            private_key=anvil.private_keys[0],
        )
        assert await _claim(w3, book, chain.distributor.address, alice) == UNIT


async def test_anyone_can_verify_a_published_cycle(
    w3: AsyncWeb3[Any], anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bridge.points.verify import main as verify

    async with cycle_env(w3, anvil, tmp_path) as (env, manager, chain):
        await env.link(ALICE, anvil.addresses[1])
        await env.say(ALICE, "alice writes")
        done = await manager.close("x")
        await _publish(manager, w3)
        path = tmp_path / "cycles" / "1.json"
        args = [str(path), "--rpc", anvil.rpc_url, "--distributor", chain.distributor.address]
        assert await asyncio.to_thread(verify, args) == 0
        out = capsys.readouterr().out
        assert f"root {done.root}, CID {done.cid}: every proof checks" in out
        assert "on chain: cycle 1, the same root" in out
        forged = tmp_path / "forged.json"
        forged.write_bytes(path.read_bytes().replace(b'"amount":"1', b'"amount":"9'))
        assert await asyncio.to_thread(verify, [str(forged)]) == 1
        assert "INVALID" in capsys.readouterr().out
