"""After start-up the bridge freezes its heap; full collections must not then come every few
dozen relayed messages (each was 50-70 ms on a bridge of 1,000 rooms)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Churns through young objects that survive a while (as relaying does: tasks, rows, SDK
# objects) and counts the collections of each generation. A process of its own: freezing
# would change the collector of the test process.
_CHURN = """
import gc, sys
from bridge.gc_tuning import settle_heap
if sys.argv[1] == "tuned":
    settle_heap()
else:
    gc.collect()
    gc.freeze()
counts = [0, 0, 0]
def seen(phase, info):
    if phase == "stop":
        counts[info["generation"]] += 1
gc.callbacks.append(seen)
keep = []
for i in range(400_000):
    node = {"i": i}
    node["self"] = node
    keep.append(node)
    if len(keep) > 5_000:
        del keep[:2_500]
print(counts[1], counts[2])
"""


def _collections(mode: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", _CHURN, mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_full_collections_are_rare_after_the_heap_is_settled() -> None:
    middle, full = _collections("frozen only")
    assert middle >= 30 and full >= 3  # what a bare freeze leads to
    middle, full = _collections("tuned")
    assert middle >= 30 and full == 0
