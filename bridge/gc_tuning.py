"""The cyclic garbage collector's settings for a running bridge (``parley run``, the benches).

Everything imported and built at start lives as long as the process: ``gc.freeze()`` moves it
out of the collector's generations, which keeps later collections short (they showed as the
bridge's latency spikes in bench/relay.py).

After a freeze the oldest generation starts empty, and CPython then runs a full collection
every 10 collections of the middle one (its "a quarter of the long-lived objects are new"
rule always holds): under load, one every few dozen relayed messages, each 50–70 ms on a
bridge of 1,000 rooms, and 0.2 s of CPU in a 2,000-message burst. A threshold of 1,000 lets
the middle generation's collections reclaim what they can and leaves a full collection for
every ~10,000 young ones, which still bounds what cyclic garbage can accumulate.
"""

from __future__ import annotations

import gc

__all__ = ["OLDEST_THRESHOLD", "settle_heap"]

OLDEST_THRESHOLD = 1000


def settle_heap() -> None:
    """Once started: collect, freeze what exists, and space out the full collections."""
    gc.collect()
    gc.freeze()
    young, middle, _oldest = gc.get_threshold()
    gc.set_threshold(young, middle, OLDEST_THRESHOLD)
