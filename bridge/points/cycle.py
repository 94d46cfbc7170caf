"""A closed cycle's claim list as canonical JSON, its Merkle root and its CID.

The document is exactly::

    {"claims": {"0x<EIP-55 address>": {"amount": "<cumulative, decimal>", "proof": ["0x…"]}},
     "cycle": n, "root": "0x…", "token": "0x…"}

serialised with sorted keys, no whitespace and ASCII only, so that the same list always gives
the same bytes; its CID is the CIDv1 (raw, sha2-256) of those bytes, as for feed records.
Anyone can check a list with :func:`verify_document`: every leaf is recomputed from the
address and amount, every proof must lead to the root, and the root must be the tree over all
the leaves (so no claim was left out of the proofs' tree or added beside it).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.feed.record import cid_v1_raw
from bridge.points.merkle import MAX_UINT256, ClaimTree, claim_leaf
from crypto.keys import checksum_address

__all__ = [
    "CycleDocument",
    "DocumentError",
    "build_document",
    "cid_of_sha256",
    "verify_document",
    "write_document",
]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")


class DocumentError(ValueError):
    """The list is malformed or does not prove what it claims."""


@dataclass(frozen=True, slots=True)
class CycleDocument:
    cycle: int
    root: str  # 0x-hex
    cid: str
    data: bytes
    amounts: dict[str, int]  # EIP-55 address -> cumulative base units


def _checksum(address: str) -> str:
    if not _ADDRESS.match(address):
        raise DocumentError(f"not an address: {address[:60]!r}")
    return checksum_address(bytes.fromhex(address[2:]))


def build_document(cycle: int, token: str, amounts: Mapping[str, int]) -> CycleDocument:
    """The list of ``cycle`` for ``{wallet: cumulative base units}`` (at least one wallet)."""
    if cycle < 1:
        raise ValueError("cycles count from 1")
    fixed = {_checksum(wallet): amount for wallet, amount in amounts.items()}
    if len(fixed) != len(amounts):
        raise ValueError("a wallet appears twice (in different letter cases)")
    leaves = {wallet: claim_leaf(wallet, amount) for wallet, amount in fixed.items()}
    tree = ClaimTree(list(leaves.values()))
    root_hex = "0x" + tree.root.hex()
    # Built directly in sorted order: json.dumps(sort_keys=True) would re-sort 100k keys.
    claims = {
        wallet: {
            "amount": str(fixed[wallet]),
            "proof": ["0x" + p.hex() for p in tree.proof(leaves[wallet])],
        }
        for wallet in sorted(fixed)
    }
    document = {"claims": claims, "cycle": cycle, "root": root_hex, "token": _checksum(token)}
    data = json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return CycleDocument(cycle, root_hex, cid_v1_raw(data), data, fixed)


def cid_of_sha256(digest: bytes) -> str:
    """The CIDv1 (raw, sha2-256) for a sha256 digest: what ``cid_v1_raw`` gives for the data."""
    import base64

    encoded = base64.b32encode(bytes([0x01, 0x55, 0x12, 0x20]) + digest).decode("ascii")
    return "b" + encoded.lower().rstrip("=")


def write_document(
    path: Path, cycle: int, token: str, amounts: Mapping[str, int]
) -> tuple[str, str]:
    """Write the list of ``cycle`` to ``path`` (0600, atomically) without holding it in memory;
    returns (root, CID). The bytes are exactly :func:`build_document`'s."""
    if cycle < 1:
        raise ValueError("cycles count from 1")
    fixed = {_checksum(wallet): amount for wallet, amount in amounts.items()}
    if len(fixed) != len(amounts):
        raise ValueError("a wallet appears twice (in different letter cases)")
    if not fixed:
        raise ValueError("a list needs at least one wallet")
    leaves = {wallet: claim_leaf(wallet, amount) for wallet, amount in fixed.items()}
    tree = ClaimTree(list(leaves.values()))
    root_hex = "0x" + tree.root.hex()
    digest = hashlib.sha256()
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:

        def emit(text: str) -> None:
            data = text.encode("ascii")
            digest.update(data)
            out.write(data)

        emit('{"claims":{')
        chunk: list[str] = []
        for i, wallet in enumerate(sorted(fixed)):
            proof = ",".join(f'"0x{p.hex()}"' for p in tree.proof(leaves[wallet]))
            sep = "," if i else ""
            chunk.append(f'{sep}"{wallet}":{{"amount":"{fixed[wallet]}","proof":[{proof}]}}')
            if len(chunk) >= 1000:
                emit("".join(chunk))
                chunk.clear()
        emit("".join(chunk))
        emit(f'}},"cycle":{cycle},"root":"{root_hex}","token":"{_checksum(token)}"}}')
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    return root_hex, cid_of_sha256(digest.digest())


def verify_document(data: bytes, *, max_claims: int = 2_000_000) -> CycleDocument:
    """Parse a list and check it completely; raise :class:`DocumentError` on any flaw."""
    try:
        document: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DocumentError(f"not JSON: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"claims", "cycle", "root", "token"}:
        raise DocumentError("expected exactly the keys claims, cycle, root, token")
    cycle, root, token, claims = (
        document["cycle"],
        document["root"],
        document["token"],
        document["claims"],
    )
    if not isinstance(cycle, int) or isinstance(cycle, bool) or cycle < 1:
        raise DocumentError("cycle must be a positive integer")
    if not isinstance(root, str) or not _HEX32.match(root):
        raise DocumentError("root must be 0x + 64 lower-case hex digits")
    if not isinstance(token, str):
        raise DocumentError("token must be an address")
    _checksum(token)
    if not isinstance(claims, dict) or not claims or len(claims) > max_claims:
        raise DocumentError("claims must be a non-empty object")
    expected = bytes.fromhex(root[2:])
    amounts = {wallet: _verified_claim(wallet, claim, expected) for wallet, claim in claims.items()}
    rebuilt = build_document(cycle, token, amounts)
    if rebuilt.root != root:
        raise DocumentError("the root is not the tree over exactly these claims")
    if rebuilt.data != data:
        raise DocumentError("the list is not in canonical form")
    return rebuilt


def _verified_claim(wallet: str, claim: Any, root: bytes) -> int:
    """The amount of one claim of a list, whose proof must lead to ``root``."""
    if _checksum(wallet) != wallet:
        raise DocumentError(f"{wallet} is not in EIP-55 form")
    if not isinstance(claim, dict) or set(claim) != {"amount", "proof"}:
        raise DocumentError(f"{wallet}: expected amount and proof")
    amount_text, proof = claim["amount"], claim["proof"]
    if not isinstance(amount_text, str) or not amount_text.isdigit():
        raise DocumentError(f"{wallet}: amount must be a decimal string")
    amount = int(amount_text)
    if amount > MAX_UINT256 or str(amount) != amount_text:
        raise DocumentError(f"{wallet}: amount is not a canonical uint256")
    if not isinstance(proof, list) or not all(
        isinstance(p, str) and _HEX32.match(p) for p in proof
    ):
        raise DocumentError(f"{wallet}: proof must be a list of 0x-hex 32-byte hashes")
    node = claim_leaf(wallet, amount)
    for sibling in (bytes.fromhex(p[2:]) for p in proof):
        node = _pair(node, sibling)
    if node != root:
        raise DocumentError(f"{wallet}: the proof does not lead to the root")
    return amount


def _pair(a: bytes, b: bytes) -> bytes:
    from crypto.keccak import keccak256

    return keccak256(a + b) if a <= b else keccak256(b + a)
