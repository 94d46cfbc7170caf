"""The Merkle tree that batch anchors commit to: sorted-pair keccak256, OpenZeppelin-compatible.

- Leaves are the entries' 32-byte digests (sha256 of the canonical record bytes), sorted
  ascending and de-duplicated, so the root depends only on the set of entries.
- A parent is ``keccak256(min(a, b) ‖ max(a, b))`` (the sorted pair), so a proof is a plain
  list of sibling hashes with no left/right flags; OpenZeppelin's ``MerkleProof.verify``
  accepts it as is.
- A level with an odd count carries its last node up unchanged.
- A one-leaf tree's root is the leaf itself (and its proof is empty).

Leaves are not hashed again: a forged "leaf" would have to be a record whose sha256 equals an
inner node, which is a preimage attack on sha256.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crypto.keccak import keccak256

__all__ = ["merkle_proofs", "merkle_root", "verify_proof"]


def _pair(a: bytes, b: bytes) -> bytes:
    return keccak256(a + b) if a <= b else keccak256(b + a)


def _leaves(digests: Iterable[bytes]) -> list[bytes]:
    leaves = sorted(set(digests))
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    if any(len(leaf) != 32 for leaf in leaves):
        raise ValueError("leaves are 32-byte digests")
    return leaves


def merkle_root(digests: Iterable[bytes]) -> bytes:
    level = _leaves(digests)
    while len(level) > 1:
        level = [
            _pair(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


def merkle_proofs(digests: Iterable[bytes]) -> tuple[bytes, dict[bytes, list[bytes]]]:
    """The root and every leaf's proof (sibling hashes from the leaf up)."""
    level = _leaves(digests)
    proofs: dict[bytes, list[bytes]] = {leaf: [] for leaf in level}
    # Which leaves sit under each node of the current level.
    under: list[list[bytes]] = [[leaf] for leaf in level]
    while len(level) > 1:
        next_level: list[bytes] = []
        next_under: list[list[bytes]] = []
        for i in range(0, len(level), 2):
            if i + 1 == len(level):
                next_level.append(level[i])
                next_under.append(under[i])
                continue
            left, right = level[i], level[i + 1]
            for leaf in under[i]:
                proofs[leaf].append(right)
            for leaf in under[i + 1]:
                proofs[leaf].append(left)
            next_level.append(_pair(left, right))
            next_under.append(under[i] + under[i + 1])
        level, under = next_level, next_under
    return level[0], proofs


def verify_proof(leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    node = leaf
    for sibling in proof:
        if len(sibling) != 32:
            return False
        node = _pair(node, sibling)
    return node == root
