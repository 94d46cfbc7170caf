"""bridge.flood: the per-sender, per-room token bucket."""

from __future__ import annotations

from bridge.flood import FloodLimiter, Verdict


def test_burst_then_refused_with_one_notice_per_flood() -> None:
    limiter = FloodLimiter(3, 60.0)  # 3 at once, then one a second
    verdicts = [limiter.check("room", "telegram", "1", 100.0) for _ in range(10)]
    assert verdicts[:3] == [Verdict.RELAY] * 3
    assert verdicts[3] is Verdict.REFUSE_AND_TELL
    assert verdicts[4:] == [Verdict.REFUSE] * 6
    # Others in the room, and the same sender in another room, are not affected.
    assert limiter.check("room", "telegram", "2", 100.0) is Verdict.RELAY
    assert limiter.check("other", "telegram", "1", 100.0) is Verdict.RELAY
    # One second later one more passes; still within the same flood: no second notice.
    assert limiter.check("room", "telegram", "1", 101.0) is Verdict.RELAY
    assert limiter.check("room", "telegram", "1", 101.0) is Verdict.REFUSE
    # Quiet until the bucket is full: a new flood is told again.
    assert [limiter.check("room", "telegram", "1", 110.0) for _ in range(4)] == [
        Verdict.RELAY,
        Verdict.RELAY,
        Verdict.RELAY,
        Verdict.REFUSE_AND_TELL,
    ]


def test_times_going_backwards_never_refill() -> None:
    limiter = FloodLimiter(1, 60.0)
    assert limiter.check("r", "waku", "x", 100.0) is Verdict.RELAY
    assert limiter.check("r", "waku", "x", 50.0) is Verdict.REFUSE_AND_TELL
    assert limiter.check("r", "waku", "x", 100.5) is Verdict.REFUSE


def test_memory_is_bounded() -> None:
    limiter = FloodLimiter(1, 1.0, max_senders=100)
    for i in range(1000):
        limiter.check("r", "waku", str(i), 0.0)
    assert len(limiter._buckets) == 100
