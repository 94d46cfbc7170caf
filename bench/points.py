"""Benchmark: closing a community-points cycle for 100,000 members.

Run from the repository root: ``.venv/bin/python -m bench.points [--members N] [--entries K]``.
Fills a fresh store with ``--members`` linked accounts (each its own wallet) and ``K`` ledger
entries each, then times ``CycleManager.close`` end to end, as ``/cycle close`` runs it: the
per-account sums, the wallet map, the cumulative amounts, the Merkle tree, every proof, the
canonical JSON, its CID, the claims rows and the file. Then it checks the list independently
(``verify_document``: every proof, the root, canonical form) and times that too.

Memory: the peak RSS of the process (``ru_maxrss``) before and after the close, and the peak
of Python allocations during the close alone (a second close of the same data, traced).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == _REPO / "bench":
    sys.path[0] = str(_REPO)

from bridge.config import PointsSettings  # noqa: E402
from bridge.points.closing import CycleManager  # noqa: E402
from bridge.points.cycle import verify_document  # noqa: E402
from bridge.points.service import PointsService  # noqa: E402
from bridge.store import Store  # noqa: E402
from crypto.keys import checksum_address  # noqa: E402

TOKEN = "0x" + "11" * 20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _fill(store: Store, members: int, entries: int) -> None:
    now = int(time.time())
    async with store.transaction() as db:
        await db.executemany(
            "INSERT INTO wallet_links (platform, user_id, display_name, address, chain_id, method,"
            " message, signature, linked_at) VALUES ('telegram', ?, ?, ?, 1, 'eoa', 'm', '0x', ?)",
            (
                (str(i), f"user{i}", checksum_address(i.to_bytes(20, "big")), now)
                for i in range(1, members + 1)
            ),
        )
        await db.executemany(
            "INSERT INTO points_entries (cycle, room, platform, user_id, person, kind, amount,"
            " actor, reason, ref, day, created_at)"
            " VALUES (1, 'main', 'telegram', ?, ?, 'message', ?, 'x', 'message', NULL, ?, ?)",
            (
                (str(i), f"account:telegram:{i}", 1 + (i * 7 + k) % 5, now // 86400, now)
                for i in range(1, members + 1)
                for k in range(entries)
            ),
        )


async def _close(directory: Path, members: int, entries: int) -> dict[str, float]:
    store = await Store.open(directory / "parley.db", checkpoint_interval=None)
    try:
        config = PointsSettings(rooms=["main"], token=TOKEN)
        service = PointsService(config, lambda: store)
        started = time.perf_counter()
        await _fill(store, members, entries)
        filled = time.perf_counter() - started
        manager = CycleManager(service, config, directory / "cycles", chain=None)
        rss_before = _rss_mib()
        started = time.perf_counter()
        done = await manager.close("bench")
        seconds = time.perf_counter() - started
        rss_after = _rss_mib()
        path = directory / "cycles" / "1.json"
        data = path.read_bytes()
        started = time.perf_counter()
        checked = verify_document(data)
        verify_seconds = time.perf_counter() - started
        assert checked.root == done.root and checked.cid == done.cid
        assert len(checked.amounts) == members
        del checked, data
        # The same close again, traced, for the Python heap of the close alone.
        async with store.transaction() as db:
            for table in ("points_claims", "points_cycles", "points_allocated"):
                await db.execute(f"DELETE FROM {table}")
        tracemalloc.start()
        await manager.close("bench")
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {
            "fill": filled,
            "close": seconds,
            "verify": verify_seconds,
            "size_mib": path.stat().st_size / 2**20,
            "rss_before": rss_before,
            "rss_after": rss_after,
            "heap_peak": traced_peak / 2**20,
            "members": done.members,
        }
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=3, help="ledger entries per member")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="parley-points-bench-") as tmp:
        r = asyncio.run(_close(Path(tmp), args.members, args.entries))
    print(
        f"members {int(r['members']):,}, {args.entries} entries each (filled in {r['fill']:.1f} s)"
    )
    print(
        f"close (sums, wallets, Merkle tree + proofs, canonical JSON, CID, rows, file):"
        f" {r['close']:.2f} s; list {r['size_mib']:.1f} MiB"
    )
    print(f"verify the list independently (every proof, root, canonical form): {r['verify']:.2f} s")
    print(
        f"peak RSS {r['rss_before']:.0f} MiB before the close, {r['rss_after']:.0f} MiB after;"
        f" Python heap peak during the close {r['heap_peak']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
