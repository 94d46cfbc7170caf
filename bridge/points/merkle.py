"""The claim list's Merkle tree: the leaves of :class:`PointsDistributor` on top of the feed's
sorted-pair keccak tree (``bridge.feed.merkle``, OpenZeppelin's ``MerkleProof`` pairing).

leaf = keccak256(abi.encodePacked(address account, uint256 cumulativeAmount)): 20 + 32 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bridge.feed.merkle import merkle_root, verify_proof
from crypto.keccak import keccak256

__all__ = ["ClaimTree", "claim_leaf", "claim_root", "claim_tree", "verify_claim"]

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


class ClaimTree:
    """Every level of the tree, so that any leaf's proof is read off in O(log n) without
    keeping n proofs in memory. Same tree as ``bridge.feed.merkle`` (sorted unique leaves, an
    odd node carried up unchanged): the root equals its ``merkle_root``."""

    def __init__(self, leaves: list[bytes]) -> None:
        level = sorted(set(leaves))
        if not level:
            raise ValueError("a Merkle tree needs at least one leaf")
        self._index = {leaf: i for i, leaf in enumerate(level)}
        self.levels = [level]
        while len(level) > 1:
            level = [
                _pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
            self.levels.append(level)

    @property
    def root(self) -> bytes:
        return self.levels[-1][0]

    def proof(self, leaf: bytes) -> list[bytes]:
        i = self._index[leaf]
        proof: list[bytes] = []
        for level in self.levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            i //= 2
        return proof


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b) if a <= b else keccak256(b + a)


def claim_tree(amounts: Mapping[K, int]) -> tuple[bytes, dict[K, list[bytes]]]:
    """The root and each account's proof, for ``{account: cumulative amount}``."""
    leaves = {account: claim_leaf(account, amount) for account, amount in amounts.items()}
    tree = ClaimTree(list(leaves.values()))
    return tree.root, {account: tree.proof(leaf) for account, leaf in leaves.items()}


def claim_root(amounts: Mapping[K, int]) -> bytes:
    """The root alone, computed by the feed's tree (an independent check of ``ClaimTree``)."""
    return merkle_root(claim_leaf(a, v) for a, v in amounts.items())


def verify_claim(account: str, cumulative_amount: int, proof: list[bytes], root: bytes) -> bool:
    return verify_proof(claim_leaf(account, cumulative_amount), proof, root)
