"""Per-sender, per-room flood limit: one person cannot hold a room's deliveries for minutes.

Each sender has a token bucket per room: ``burst`` messages at once, refilled at ``per_minute``.
A message over the limit is refused (not relayed anywhere, not stored) and the sender is told
once per flood: the notice comes again only after they have been quiet long enough for the
bucket to fill up. Everything under the limit is relayed as usual, so nothing that passes is
lost or delayed behind the flood (the platforms' own pacing then only has the allowed messages
to carry).

Time is the message's own timestamp (the platform's, never later than now), not its arrival:
after an outage, a catch-up delivers the missed conversation at once, and it must not count as
a flood. Waku timestamps are chosen by the sender, so a Waku sender can slip under the limit by
forging spaced-out times (Waku identities are free anyway); Telegram and Discord stamp their own.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["FloodLimiter", "Verdict"]

_MAX_SENDERS: Final = 10_000


class Verdict(Enum):
    RELAY = "relay"
    REFUSE_AND_TELL = "refuse and tell"
    REFUSE = "refuse"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    told: bool = False


class FloodLimiter:
    """Token buckets keyed by (room, platform, user id); bounded (the least recent go)."""

    def __init__(self, burst: int, per_minute: float, *, max_senders: int = _MAX_SENDERS) -> None:
        if burst < 1 or per_minute <= 0:
            raise ValueError("burst must be at least 1 and per_minute positive")
        self.burst = burst
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._max = max_senders
        self._buckets: OrderedDict[tuple[str, str, str], _Bucket] = OrderedDict()

    def check(self, room: str, platform: str, user_id: str, at: float) -> Verdict:
        """Count one message by this sender in this room, written at ``at`` (Unix seconds)."""
        key = (room, platform, user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), at)
            self._buckets[key] = bucket
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        # Timestamps can go backwards a little (whole seconds, clock skew): never refill then.
        elapsed = max(0.0, at - bucket.at)
        bucket.at = max(bucket.at, at)
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self._rate)
        if bucket.tokens >= self.burst:
            bucket.told = False  # quiet long enough: a new flood gets a new notice
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.RELAY
        if bucket.told:
            return Verdict.REFUSE
        bucket.told = True
        return Verdict.REFUSE_AND_TELL

    def notice(self, name: str) -> str:
        """What the sender is told (once per flood), in the chat they wrote in."""
        return (
            f"{name}, you are sending messages faster than this room relays them: messages over "
            f"{self.burst} at once or {self.per_minute:g} a minute are not relayed to the other "
            "chats. Slow down and they will be again. (This notice is shown once.)"
        )
