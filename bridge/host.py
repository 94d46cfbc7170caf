"""What a feature may ask of the bridge that runs it: the narrow interfaces of the composition.

Features (relay, wallet links + avatars, feed, tips, points, profile photos, the home page)
follow one convention, ``install_<feature>(host, commands, ...) -> <Feature>``: they register
their chat commands on ``commands``, add their long-lived parts with ``host.add_component`` /
``host.add_factory`` and their web pages with ``host.add_routes``, and take any other feature
they depend on as a keyword argument typed with a protocol from here. Only the composition
root (``bridge.compose``) imports the features; a feature never imports ``bridge.app`` or
``bridge.compose``, so dependencies run one way.

This module is a leaf of the feature graph: it imports only the core (config, store, router,
model, the web app's types).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bridge.model import Author, ChatRef, Inbound
from bridge.web.app import ComponentStatus, RouteRegistrar

if TYPE_CHECKING:
    from bridge.config import Settings
    from bridge.metrics import Metrics
    from bridge.router import Room, Router, RouterObserver
    from bridge.store import Store
    from bridge.waku.node import WakuNode

__all__ = [
    "Component",
    "ComponentFactory",
    "Enricher",
    "HealthResult",
    "Host",
    "Rooms",
    "Traffic",
]

HealthResult = bool | ComponentStatus


@runtime_checkable
class Component(Protocol):
    """A long-lived part of the bridge. ``start`` returns once the part is serving (it keeps
    its own background tasks); ``stop`` releases everything and must not raise for a part
    that is already stopped."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> HealthResult | Awaitable[HealthResult]: ...


class Host(Protocol):
    """The running bridge as a feature sees it (``bridge.app.Bridge`` is one)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def identity_key(self) -> bytes: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def store(self) -> Store:
        """The open store; only while the bridge runs (RuntimeError before start)."""
        ...

    @property
    def node(self) -> WakuNode:
        """The running Waku node; only while the bridge runs."""
        ...

    def add_component(self, component: Component) -> None: ...

    def add_factory(self, factory: ComponentFactory) -> None: ...

    def add_routes(self, registrar: RouteRegistrar) -> None: ...


ComponentFactory = Callable[[Host], Component]
"""A component built at its turn from the running core (``host.store``, ``host.node``)."""


class Enricher(Protocol):
    """What the relay's sink asks of the identity feature: the verified avatar on an author."""

    async def enrich(self, author: Author) -> Author: ...


class Rooms(Protocol):
    """Which room a chat belongs to."""

    def room_of(self, chat: ChatRef) -> Room | None: ...


class Traffic(Rooms, Protocol):
    """The relay as features that watch or decorate the traffic see it."""

    enricher: Enricher | None

    @property
    def router(self) -> Router: ...

    def add_observer(self, observer: RouterObserver) -> None: ...

    def add_inbound_listener(self, listener: Callable[[Inbound], Awaitable[None]]) -> None: ...
