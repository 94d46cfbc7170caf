"""The bridge's Prometheus metrics, on a registry the app owns.

Each ``Bridge`` has its own ``Metrics`` (never prometheus-client's global registry), so two
bridges in one test process do not collide and ``/metrics`` shows only this bridge.
Components receive the ``Metrics`` object and update the series they own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

__all__ = ["CONTENT_TYPE", "Metrics"]

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
