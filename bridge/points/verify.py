"""Check a cycle's claim list, independently of the bridge that published it.

    python -m bridge.points.verify 3.json [--rpc URL --distributor 0x…]

Recomputes every leaf from its address and amount, checks every proof and that the root is
the tree over exactly these claims, that the file is in canonical form, and prints its CID
(compare with the one the bridge announced). With ``--rpc`` and ``--distributor`` it also reads
the distributor's ``cycle()`` and ``merkleRoot()``: for the latest cycle they must match the
list (an older cycle's root has been replaced on chain by a newer one; its ``RootPublished``
event remains). Exit status 0 when everything holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bridge.points.cycle import DocumentError, verify_document

__all__ = ["main"]


async def _on_chain(rpc: str, distributor: str) -> tuple[int, str]:
    from bridge.feed.anchor import open_web3
    from contracts import at

    w3 = open_web3(rpc)
    try:
        contract = at(w3, "PointsDistributor", distributor)
        cycle = int(await contract.functions.cycle().call())
        root = "0x" + bytes(await contract.functions.merkleRoot().call()).hex()
        return cycle, root
    finally:
        await w3.provider.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.points.verify", description=__doc__)
    parser.add_argument("list", type=Path, help="the cycle's JSON file")
    parser.add_argument("--rpc", help="an Ethereum JSON-RPC URL")
    parser.add_argument("--distributor", help="the PointsDistributor address")
    args = parser.parse_args(argv)
    try:
        document = verify_document(args.list.read_bytes())
    except (OSError, DocumentError) as exc:
        print(f"INVALID: {exc}")
        return 1
    total = sum(document.amounts.values())
    print(
        f"cycle {document.cycle}: {len(document.amounts)} claims, {total} base units in all,"
        f" root {document.root}, CID {document.cid}: every proof checks"
    )
    if args.rpc and args.distributor:
        cycle, root = asyncio.run(_on_chain(args.rpc, args.distributor))
        if cycle == document.cycle and root != document.root:
            print(f"MISMATCH: cycle {cycle} on chain has root {root}")
            return 1
        if cycle == document.cycle:
            print(f"on chain: cycle {cycle}, the same root")
        else:
            print(f"on chain: cycle {cycle} (root {root}); this list is cycle {document.cycle}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
