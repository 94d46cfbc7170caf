"""TipJar: ETH and ERC-20 tips go straight to the recipient, every refusal is a clear revert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from web3.exceptions import ContractLogicError

from contracts import TransactionFailed, at, deploy, load_artifact, send_transaction
from tests.chain.anvil import Anvil
from tests.contracts.helpers import ZERO_ADDRESS, error_data, events, reverts_with, sender

if TYPE_CHECKING:
    from web3 import AsyncWeb3
    from web3.contract import AsyncContract

pytestmark = pytest.mark.chain

REF = b"intent-42".ljust(32, b"\0")
ONE_ETH = 10**18


@pytest.fixture
async def jar(w3: AsyncWeb3[Any], anvil: Anvil) -> AsyncContract:
    return at(w3, "TipJar", await deploy(w3, "TipJar", private_key=anvil.private_keys[0]))


async def _token(w3: AsyncWeb3[Any], anvil: Anvil, name: str, *args: Any) -> AsyncContract:
    token = at(w3, name, await deploy(w3, name, *args, private_key=anvil.private_keys[0]))
    alice = anvil.addresses[0]
    await send_transaction(
        w3, token.functions.mint(alice, 10**12), private_key=anvil.private_keys[0]
    )
    return token


async def _approve(
    w3: AsyncWeb3[Any], anvil: Anvil, token: AsyncContract, spender: str, n: int
) -> None:
    await send_transaction(
        w3, token.functions.approve(spender, n), private_key=anvil.private_keys[0]
    )


# --- ETH ---------------------------------------------------------------------------------------


async def test_eth_tip_goes_straight_to_the_recipient(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    bob_before = await w3.eth.get_balance(bob)
    alice_before = await w3.eth.get_balance(alice)

    receipt = await send_transaction(
        w3, jar.functions.tipETH(bob, REF), private_key=anvil.private_keys[0], value=ONE_ETH // 100
    )

    assert await w3.eth.get_balance(bob) - bob_before == ONE_ETH // 100
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert alice_before - await w3.eth.get_balance(alice) == ONE_ETH // 100 + fee
    assert await w3.eth.get_balance(jar.address) == 0
    [tipped] = events(jar, "Tipped", receipt)
    assert tipped["args"] == {
        "from": alice,
        "to": bob,
        "token": ZERO_ADDRESS,
        "amount": ONE_ETH // 100,
        "ref": REF,
    }
    # All three addresses are indexed: a watcher can filter on recipient or token.
    assert len(receipt["logs"][0]["topics"]) == 4


async def test_eth_tip_to_a_contract_wallet(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    wallet = await deploy(
        w3, "TestWallet1271", anvil.addresses[1], private_key=anvil.private_keys[0]
    )
    receipt = await send_transaction(
        w3, jar.functions.tipETH(wallet, REF), private_key=anvil.private_keys[0], value=12345
    )
    assert await w3.eth.get_balance(wallet) == 12345
    [tipped] = events(jar, "Tipped", receipt)
    assert tipped["args"]["to"] == wallet
    assert tipped["args"]["amount"] == 12345


async def test_eth_tip_of_zero_reverts(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    call = jar.functions.tipETH(anvil.addresses[1], REF).call(sender(anvil.addresses[0], 0))
    await reverts_with(call, jar.abi, "ZeroAmount")


@pytest.mark.parametrize("recipient", ["zero", "jar"])
async def test_eth_tip_to_an_invalid_recipient_reverts(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract, recipient: str
) -> None:
    to = ZERO_ADDRESS if recipient == "zero" else jar.address
    call = jar.functions.tipETH(to, REF).call(sender(anvil.addresses[0], 1))
    await reverts_with(call, jar.abi, "InvalidRecipient", to)


async def test_eth_tip_to_oneself_reverts(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice = anvil.addresses[0]
    call = jar.functions.tipETH(alice, REF).call(sender(alice, 1))
    await reverts_with(call, jar.abi, "SelfTip")


async def test_a_refusing_recipient_makes_the_tip_revert(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    key = anvil.private_keys[0]
    refuser = await deploy(w3, "RevertingReceiver", private_key=key)
    tip = jar.functions.tipETH(refuser, REF)
    # Estimation reveals it before anything is sent ...
    await reverts_with(
        send_transaction(w3, tip, private_key=key, value=ONE_ETH),
        jar.abi,
        "EthTransferFailed",
        refuser,
    )
    # ... and a transaction mined anyway fails as a whole: nobody keeps anything.
    alice_before = await w3.eth.get_balance(anvil.addresses[0])
    with pytest.raises(TransactionFailed) as failed:
        await send_transaction(w3, tip, private_key=key, value=ONE_ETH, gas=200_000)
    receipt = failed.value.receipt
    assert receipt["logs"] == []
    assert await w3.eth.get_balance(refuser) == 0
    assert await w3.eth.get_balance(jar.address) == 0
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert await w3.eth.get_balance(anvil.addresses[0]) == alice_before - fee


async def test_reentering_through_the_eth_recipient_is_refused(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    key, carol = anvil.private_keys[0], anvil.addresses[2]
    attacker = at(
        w3,
        "ReentrantAttacker",
        await deploy(w3, "ReentrantAttacker", jar.address, carol, private_key=key),
    )
    carol_before = await w3.eth.get_balance(carol)

    receipt = await send_transaction(
        w3, jar.functions.tipETH(attacker.address, REF), private_key=key, value=1000
    )

    assert await attacker.functions.calls().call() == 1
    assert await attacker.functions.reentered().call() is False
    assert (await attacker.functions.lastError().call()).hex() == error_data(
        jar.abi, "ReentrancyGuardReentrantCall"
    ).removeprefix("0x")
    assert [e["args"]["to"] for e in events(jar, "Tipped", receipt)] == [attacker.address]
    assert await w3.eth.get_balance(attacker.address) == 1000
    assert await w3.eth.get_balance(carol) == carol_before
    assert await w3.eth.get_balance(jar.address) == 0


async def test_the_jar_accepts_no_stray_eth(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice = anvil.addresses[0]
    # No receive(), no fallback(), and tipToken is not payable.
    with pytest.raises(ContractLogicError):
        await w3.eth.call({**sender(alice, 1), "to": jar.address})
    with pytest.raises(ContractLogicError):
        await w3.eth.call({**sender(alice, 1, "0xdeadbeef"), "to": jar.address})
    token = await _token(w3, anvil, "TestERC20", "Test USD", "TUSD", 6)
    await _approve(w3, anvil, token, jar.address, 10)
    data = jar.encode_abi("tipToken", [token.address, anvil.addresses[1], 10, REF])
    with pytest.raises(ContractLogicError):
        await w3.eth.call({**sender(alice, 1, data), "to": jar.address})
    abi = load_artifact("TipJar").abi
    payable = [e.get("name", e["type"]) for e in abi if e.get("stateMutability") == "payable"]
    assert payable == ["tipETH"]


# --- ERC-20 ------------------------------------------------------------------------------------


async def test_token_tip_moves_tokens_from_sender_to_recipient(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    token = await _token(w3, anvil, "TestERC20", "Test USD", "TUSD", 6)
    assert await token.functions.decimals().call() == 6
    await _approve(w3, anvil, token, jar.address, 2_500_000)

    receipt = await send_transaction(
        w3,
        jar.functions.tipToken(token.address, bob, 2_500_000, REF),
        private_key=anvil.private_keys[0],
    )

    assert await token.functions.balanceOf(bob).call() == 2_500_000
    assert await token.functions.balanceOf(alice).call() == 10**12 - 2_500_000
    assert await token.functions.balanceOf(jar.address).call() == 0
    assert await token.functions.allowance(alice, jar.address).call() == 0
    [tipped] = events(jar, "Tipped", receipt)
    assert tipped["args"] == {
        "from": alice,
        "to": bob,
        "token": token.address,
        "amount": 2_500_000,
        "ref": REF,
    }


async def test_fee_on_transfer_token_emits_what_the_recipient_received(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    bob = anvil.addresses[1]
    token = await _token(w3, anvil, "FeeOnTransferERC20", "Fee", "FEE", 150)  # 1.5 %
    await _approve(w3, anvil, token, jar.address, 1_000_000)

    receipt = await send_transaction(
        w3,
        jar.functions.tipToken(token.address, bob, 1_000_000, REF),
        private_key=anvil.private_keys[0],
    )

    assert await token.functions.balanceOf(bob).call() == 985_000
    assert await token.functions.balanceOf(jar.address).call() == 0
    [tipped] = events(jar, "Tipped", receipt)
    assert tipped["args"]["amount"] == 985_000


async def test_a_token_that_delivers_nothing_reverts(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    token = await _token(w3, anvil, "FeeOnTransferERC20", "All fee", "ALL", 10_000)
    await _approve(w3, anvil, token, jar.address, 100)
    call = jar.functions.tipToken(token.address, anvil.addresses[1], 100, REF).call(
        sender(anvil.addresses[0])
    )
    await reverts_with(call, jar.abi, "NothingReceived")


async def test_insufficient_allowance_reverts_with_the_tokens_error(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    token = await _token(w3, anvil, "TestERC20", "Test USD", "TUSD", 6)
    await _approve(w3, anvil, token, jar.address, 99)
    call = jar.functions.tipToken(token.address, anvil.addresses[1], 100, REF).call(
        sender(anvil.addresses[0])
    )
    await reverts_with(call, token.abi, "ERC20InsufficientAllowance", jar.address, 99, 100)


async def test_insufficient_balance_reverts_with_the_tokens_error(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice = anvil.addresses[0]
    token = await _token(w3, anvil, "TestERC20", "Test USD", "TUSD", 6)
    await _approve(w3, anvil, token, jar.address, 10**13)
    call = jar.functions.tipToken(token.address, anvil.addresses[1], 10**13, REF).call(
        {"from": alice}
    )
    await reverts_with(call, token.abi, "ERC20InsufficientBalance", alice, 10**12, 10**13)


async def test_token_tip_argument_checks(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice, bob = anvil.addresses[0], anvil.addresses[1]
    token = await _token(w3, anvil, "TestERC20", "Test USD", "TUSD", 6)
    await _approve(w3, anvil, token, jar.address, 100)
    frm = sender(alice)
    tip = jar.functions.tipToken
    await reverts_with(tip(token.address, bob, 0, REF).call(frm), jar.abi, "ZeroAmount")
    await reverts_with(
        tip(token.address, ZERO_ADDRESS, 1, REF).call(frm),
        jar.abi,
        "InvalidRecipient",
        ZERO_ADDRESS,
    )
    await reverts_with(
        tip(token.address, jar.address, 1, REF).call(frm),
        jar.abi,
        "InvalidRecipient",
        jar.address,
    )
    await reverts_with(tip(token.address, alice, 1, REF).call(frm), jar.abi, "SelfTip")
    await reverts_with(
        tip(ZERO_ADDRESS, bob, 1, REF).call(frm), jar.abi, "InvalidToken", ZERO_ADDRESS
    )
    # An account without code is no token (a call to it would "succeed" with no data).
    await reverts_with(tip(bob, anvil.addresses[2], 1, REF).call(frm), jar.abi, "InvalidToken", bob)


async def test_reentering_through_the_token_is_refused(
    w3: AsyncWeb3[Any], anvil: Anvil, jar: AsyncContract
) -> None:
    alice, bob, carol = anvil.addresses[0], anvil.addresses[1], anvil.addresses[2]
    token = await _token(w3, anvil, "ReentrantERC20", jar.address, carol)
    await _approve(w3, anvil, token, jar.address, 500)

    receipt = await send_transaction(
        w3, jar.functions.tipToken(token.address, bob, 500, REF), private_key=anvil.private_keys[0]
    )

    assert await token.functions.attacked().call() is True
    assert await token.functions.reentered().call() is False
    assert (await token.functions.lastError().call()).hex() == error_data(
        jar.abi, "ReentrancyGuardReentrantCall"
    ).removeprefix("0x")
    assert [e["args"]["amount"] for e in events(jar, "Tipped", receipt)] == [500]
    assert await token.functions.balanceOf(bob).call() == 500
    assert await token.functions.balanceOf(carol).call() == 0
    assert await token.functions.balanceOf(alice).call() == 10**12 - 500
