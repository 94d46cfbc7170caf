"""The claim list's Merkle tree: the leaves of :class:`PointsDistributor` on top of the feed's
sorted-pair keccak tree (``bridge.feed.merkle``, OpenZeppelin's ``MerkleProof`` pairing).

leaf = keccak256(abi.encodePacked(address account, uint256 cumulativeAmount)): 20 + 32 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bridge.feed.merkle import merkle_proofs, verify_proof
from crypto.keccak import keccak256

__all__ = ["claim_leaf", "claim_tree", "verify_claim"]

MAX_UINT256 = 2**256 - 1

K = TypeVar("K", bound=str)


def claim_leaf(account: str, cumulative_amount: int) -> bytes:
    """The distributor's leaf for ``account`` (0x-hex, any case) and ``cumulative_amount``."""
    raw = bytes.fromhex(account.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError(f"not a 20-byte address: {account!r}")
    if not 0 <= cumulative_amount <= MAX_UINT256:
        raise ValueError("the amount does not fit a uint256")
    return keccak256(raw + cumulative_amount.to_bytes(32, "big"))


def claim_tree(amounts: Mapping[K, int]) -> tuple[bytes, dict[K, list[bytes]]]:
    """The root and each account's proof, for ``{account: cumulative amount}``."""
    leaves = {account: claim_leaf(account, amount) for account, amount in amounts.items()}
    root, proofs = merkle_proofs(leaves.values())
    return root, {account: proofs[leaf] for account, leaf in leaves.items()}


def verify_claim(account: str, cumulative_amount: int, proof: list[bytes], root: bytes) -> bool:
    return verify_proof(claim_leaf(account, cumulative_amount), proof, root)
