"""The bridge's Prometheus metrics, on a registry the app owns.

Each ``Bridge`` has its own ``Metrics`` (never prometheus-client's global registry), so two
bridges in one test process do not collide and ``/metrics`` shows only this bridge.
Components receive the ``Metrics`` object and update the series they own.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

import aiosqlite
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = ["CONTENT_TYPE", "Metrics", "metrics_route"]

log = logging.getLogger(__name__)

_KV_KEY = "metrics.counters"

# The classic text format: what generate_latest writes and what every Prometheus version
# scrapes (prometheus-client's own server sends it when the scraper does not negotiate).
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


class MembershipSource(Protocol):
    """What ``watch_communities`` reads: rooms, the states they can be in, and the current one."""

    @property
    def rooms(self) -> Collection[str]: ...
    @property
    def states(self) -> Sequence[str]: ...
    def state(self, room: str) -> str: ...


def _is_state(source: MembershipSource, room: str, state: str) -> Callable[[], float]:
    return lambda: float(source.state(room) == state)


class Metrics:
    """Counters and gauges shared by the router, the outbox, the adapters and the Waku layer.

    ``platform`` labels are the adapter names: "telegram", "discord", "waku", "web".
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        # prometheus-client appends "_total" to counter names in the exposition.
        self.messages_in = Counter(
            "messages_in", "Messages received from a platform", ["platform"], registry=r
        )
        self.messages_out = Counter(
            "messages_out", "Messages delivered to a platform", ["platform"], registry=r
        )
        self.delivery_retries = Counter(
            "delivery_retries", "Delivery attempts that will be retried", ["platform"], registry=r
        )
        self.delivery_failures = Counter(
            "delivery_failures",
            "Deliveries given up after the last retry",
            ["platform"],
            registry=r,
        )
        self.outbox_depth = Gauge("outbox_depth", "Deliveries waiting in the outbox", registry=r)
        self.waku_messages_received = Counter(
            "waku_messages_received", "Messages received from the Waku node", registry=r
        )
        self.waku_publish_errors = Counter(
            "waku_publish_errors", "Publishes the Waku node refused or failed", registry=r
        )
        self.status_refused = Counter(
            "status_refused",
            "Status community messages not relayed, by status-go's reason",
            ["reason"],
            registry=r,
        )
        self.status_membership = Gauge(
            "status_membership",
            "1 for the bridge's current state in each Status community room",
            ["room", "state"],
            registry=r,
        )
        self.component_up = Gauge(
            "component_up",
            "1 when a component reported healthy at the last health check",
            ["component"],
            registry=r,
        )

    def watch_communities(self, communities: MembershipSource) -> None:
        """Export each community room's state, read when /metrics is scraped."""
        for room in communities.rooms:
            for state in communities.states:
                self.status_membership.labels(room=room, state=state).set_function(
                    _is_state(communities, room, state)
                )

    def render(self) -> bytes:
        """The registry in the Prometheus text format (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def _counters(self) -> dict[str, Counter]:
        return {
            "messages_in": self.messages_in,
            "messages_out": self.messages_out,
            "delivery_retries": self.delivery_retries,
            "delivery_failures": self.delivery_failures,
            "waku_messages_received": self.waku_messages_received,
            "waku_publish_errors": self.waku_publish_errors,
        }

    def snapshot(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """Every counter's current values, per label set."""
        found: dict[str, list[tuple[dict[str, str], float]]] = {}
        for name, counter in self._counters().items():
            for family in counter.collect():
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        found.setdefault(name, []).append((dict(sample.labels), sample.value))
        return found

    async def save(self, db: aiosqlite.Connection) -> None:
        """Write the counters to the store (``kv``), inside the caller's transaction."""
        from bridge.store import kv

        await kv.set(db, _KV_KEY, json.dumps(self.snapshot(), sort_keys=True))

    async def restore(self, db: aiosqlite.Connection) -> None:
        """Add the counts saved by the previous run, so that counters count since the first
        start (Prometheus counters only ever grow; a restart is not a reset)."""
        from bridge.store import kv

        raw = await kv.get(db, _KV_KEY)
        if raw is None:
            return
        try:
            saved = json.loads(raw)
            counters = self._counters()
            for name, samples in saved.items():
                counter = counters.get(name)
                if counter is None:
                    continue
                for labels, value in samples:
                    if not isinstance(value, int | float) or value <= 0:
                        continue
                    target = counter.labels(**labels) if labels else counter
                    target.inc(float(value))
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("saved metrics unreadable (%s); counting from zero", exc)


def metrics_route(metrics: Metrics) -> web.RouteDef:
    """``GET /metrics`` serving ``metrics`` (for a second HTTP server, e.g. the Waku REST API)."""

    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    return web.get("/metrics", serve)
