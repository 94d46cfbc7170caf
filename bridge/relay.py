"""The relay, wired: router + outbox + the configured platform adapters, as bridge components.

``install_relay(bridge, commands)`` (called by ``bridge.app.wire_features``) makes the relay;
its components, in start order:

- ``relay``: the router (config rooms + rooms made with ``/room join``) and the outbox, whose
  counters feed ``bridge.metrics``;
- one per registered platform its config turns on (``bots.registry``; the Status/Waku rooms'
  component is ``waku_rooms``).

Each adapter component reports ``adapter.is_connected()`` as its health (``/health``). Every
adapter hands inbound events to one sink (:meth:`Relay.sink`) that counts ``messages_in``,
puts the author's verified NFT avatar on new messages (``identity.enrich``) and calls the
router; a ``Command`` event is run by ``bridge.commands`` and answered instead. The bridge's
``Notifier`` is ``bridge.relay_notifier.RelayNotifier``; the relay's chat
commands (``/rooms``, ``/delete``, ``/room``) are ``bridge.room_commands``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from bridge.commands import Commands
from bridge.flood import FloodLimiter
from bridge.host import Enricher, Host
from bridge.model import (
    Adapter,
    Author,
    ChatId,
    ChatRef,
    Command,
    DeliveryKind,
    Inbound,
    NewMessage,
    Platform,
    Reaction,
)
from bridge.names import clean_name
from bridge.outbox import Outbox, OutboxPolicy, Pace
from bridge.platform_index import PlatformIndex
from bridge.platforms import PlatformContext, PlatformSpec
from bridge.relay_notifier import RelayNotifier
from bridge.router import Room, Router, RouterObserver, rooms_from_settings
from bridge.store import rooms as room_store
from bridge.store.origins import StoredOrigins
from bridge.store.parts import StoredParts
from bridge.store.platform_kv import PlatformKv
from bridge.store.status_communities import StoredCommunities
from bridge.tasks import cancel_and_wait
from bridge.web.app import ComponentStatus

if TYPE_CHECKING:
    from bridge.config import Settings
    from bridge.metrics import Metrics

__all__ = [
    "PrometheusOutboxMetrics",
    "Relay",
    "RelayNotifier",
    "RelayTuning",
    "install_relay",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayTuning:
    """Knobs that are not configuration: timings the tests shorten. Defaults are production."""

    outbox_policy: OutboxPolicy | None = None
    pacing: Mapping[Platform, Pace] | None = None
    """Per-chat pacing; None: the platforms' documented limits (their specs' ``pacing``)."""
    profile_photo_refresh: float = 6 * 3600.0
    platform_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per registered platform (``bridge.platforms``): keywords for its factory's context."""


# --- metrics ----------------------------------------------------------------------------------


class PrometheusOutboxMetrics:
    """The outbox's hooks onto the bridge's Prometheus series."""

    def __init__(self, metrics: Metrics) -> None:
        self._m = metrics

    def delivered(self, platform: Platform, kind: DeliveryKind) -> None:
        self._m.messages_out.labels(platform=platform).inc()

    def retried(self, platform: Platform, kind: DeliveryKind) -> None:
        self._m.delivery_retries.labels(platform=platform).inc()

    def failed(self, platform: Platform, kind: DeliveryKind) -> None:
        self._m.delivery_failures.labels(platform=platform).inc()

    def depth(self, open_rows: int) -> None:
        self._m.outbox_depth.set(open_rows)


# --- components -------------------------------------------------------------------------------


class _CoreComponent:
    """Router + outbox (started before the adapters, stopped after them)."""

    name = "relay"

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    async def start(self) -> None:
        await self._relay._start_core()

    async def stop(self) -> None:
        await self._relay._stop_core()

    def health(self) -> ComponentStatus:
        outbox = self._relay._outbox
        if outbox is None:
            return ComponentStatus(False, "stopped")
        return ComponentStatus(True, f"outbox depth {outbox.open_rows}")


class _AdapterComponent:
    def __init__(
        self, relay: Relay, name: str, platform: Platform, make: Callable[[], Adapter]
    ) -> None:
        self.name = name
        self._relay = relay
        self._platform = platform
        self._make = make
        self.adapter: Adapter | None = None

    async def start(self) -> None:
        adapter = self._make()
        self.adapter = adapter
        self._relay.adapters[self._platform] = adapter
        self._relay.outbox.attach(adapter)
        await adapter.start(self._relay.sink)

    async def stop(self) -> None:
        adapter, self.adapter = self.adapter, None
        if adapter is not None:
            await adapter.stop()

    def health(self) -> ComponentStatus:
        adapter = self.adapter
        if adapter is None:
            return ComponentStatus(False, "stopped")
        up = adapter.is_connected()
        error = adapter.last_error
        detail = "connected" if up else "disconnected"
        if error:
            detail += f": {error}"
        extra = adapter.status_detail()
        if extra is not None:
            detail += "; " + extra
        return ComponentStatus(up, detail)


# --- the relay --------------------------------------------------------------------------------


class Relay:
    """The running relay of one bridge: router, outbox, adapters, and the sink between them."""

    def __init__(
        self,
        bridge: Host,
        commands: Commands,
        *,
        tuning: RelayTuning | None = None,
        platforms: Sequence[PlatformSpec] = (),
        index: PlatformIndex | None = None,
    ) -> None:
        self.bridge = bridge
        self.platforms = tuple(platforms)
        self.index = index if index is not None else PlatformIndex.of(self.platforms)
        """Every platform's traits (pacing, mentions), from their specs."""
        self.settings: Settings = bridge.settings
        self.commands = commands
        self.tuning = tuning or RelayTuning()
        self.bridge_name = self.settings.bridge.name
        self.notifier = RelayNotifier(self)
        """The bridge's ``Notifier`` (``bridge.relay_notifier``)."""
        self.adapters: dict[Platform, Adapter] = {}
        self.enricher: Enricher | None = None
        self._metrics_saver: asyncio.Task[None] | None = None
        self._observers: list[RouterObserver] = []
        self._listeners: list[Callable[[Inbound], Awaitable[None]]] = []
        self._router: Router | None = None
        self._outbox: Outbox | None = None
        self._config_rooms = rooms_from_settings(self.settings.rooms)
        self._config_chats = {chat for room in self._config_rooms for chat in room.members}
        specs = {spec.name: spec for spec in self.platforms}
        for chat in self._config_chats:
            if chat.platform in specs:
                specs[chat.platform].parse_chat_id(chat.chat_id)  # ValueError names the chat
        self._core = _CoreComponent(self)

    # the parts, once running

    @property
    def router(self) -> Router:
        if self._router is None:
            raise RuntimeError("the relay is not running")
        return self._router

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            raise RuntimeError("the relay is not running")
        return self._outbox

    def add_observer(self, observer: RouterObserver) -> None:
        """Tell ``observer`` about committed new messages and deletes (e.g. the feed)."""
        self._observers.append(observer)
        if self._router is not None:
            self._router.add_observer(observer)

    def add_inbound_listener(self, listener: Callable[[Inbound], Awaitable[None]]) -> None:
        """Call ``listener`` with every inbound event once the router has committed it (e.g.
        community points counting reactions); a listener that raises is logged."""
        self._listeners.append(listener)

    def is_config_chat(self, chat: ChatRef) -> bool:
        """Whether the config file puts ``chat`` in a room (``/room`` cannot change it)."""
        return chat in self._config_chats

    def room_of(self, chat: ChatRef) -> Room | None:
        return None if self._router is None else self._router.room_of(chat)

    async def wait_idle(self) -> None:
        await self.outbox.wait_idle()

    # lifecycle (through the components)

    @property
    def core(self) -> _CoreComponent:
        """The router + outbox component: add it before anything that announces."""
        return self._core

    def install_adapters(self, bridge: Host) -> None:
        """Add one component per configured platform (after the features' components)."""
        settings = self.settings
        for spec in self.platforms:
            if spec.enabled(settings):
                make = partial(self._make_from_spec, spec)
                name = spec.component or spec.name
                bridge.add_component(_AdapterComponent(self, name, spec.name, make))

    async def _start_core(self) -> None:
        store = self.bridge.store
        rooms = {room.name: room for room in self._config_rooms}
        for member in await room_store.members(store.db):
            if member.chat in self._config_chats:
                continue  # the config wins (the chat was added there later)
            room = rooms.get(member.room, Room(member.room, ()))
            rooms[member.room] = Room(room.name, (*room.members, member.chat))
        self._outbox = Outbox(
            store,
            [],
            policy=self.tuning.outbox_policy,
            pacing=self._pacing(),
            metrics=PrometheusOutboxMetrics(self.bridge.metrics),
        )
        limits = self.settings.bridge
        flood = (
            FloodLimiter(limits.flood_burst, limits.flood_per_minute)
            if limits.flood_burst > 0
            else None
        )
        self._router = Router(store, rooms.values(), notify=self._outbox.notify, flood=flood)
        for observer in self._observers:
            self._router.add_observer(observer)
        await self._outbox.start()
        await self.bridge.metrics.restore(store.db)
        self._metrics_saver = asyncio.create_task(self._save_metrics(), name="metrics-save")

    async def _save_metrics(self) -> None:
        """Counters survive restarts: saved every ``METRICS_SAVE_INTERVAL`` and at stop."""
        while True:
            await asyncio.sleep(METRICS_SAVE_INTERVAL)
            try:
                async with self.bridge.store.transaction() as db:
                    await self.bridge.metrics.save(db)
            except Exception:
                log.exception("saving the metrics failed")

    async def _stop_core(self) -> None:
        saver, self._metrics_saver = self._metrics_saver, None
        if saver is not None:
            await cancel_and_wait(saver)
            try:
                async with self.bridge.store.transaction() as db:
                    await self.bridge.metrics.save(db)
            except Exception:
                log.exception("saving the metrics failed")
        outbox, self._outbox = self._outbox, None
        if outbox is not None:
            await outbox.stop()
        self._router = None
        self.adapters.clear()

    def _pacing(self) -> Mapping[Platform, Pace]:
        if self.tuning.pacing is not None:
            return self.tuning.pacing
        return self.index.pacing()

    def _make_from_spec(self, spec: PlatformSpec) -> Adapter:
        store = self.bridge.store
        context = PlatformContext(
            settings=self.settings,
            commands=tuple(self.commands.specs()),
            chats=[ChatId(c) for c in self._chats(spec.name)],
            public_url=self.settings.web.public_url,
            kv=PlatformKv(store, spec.name),
            parts=StoredParts(lambda: store, spec.name),
            origins=StoredOrigins(lambda: store, spec.name),
            community_records=StoredCommunities(store),
            options=self.tuning.platform_options.get(spec.name, {}),
            node=self.bridge.node,
            identity_key=self.bridge.identity_key,
            metrics=self.bridge.metrics,
        )
        return spec.factory(context)

    def _chats(self, platform: Platform) -> list[str]:
        return sorted(
            {
                c.chat_id
                for room in self.router.rooms
                for c in room.members
                if c.platform == platform
            }
        )

    # inbound

    async def sink(self, event: Inbound) -> None:
        """Every adapter's inbound sink: clean the author, enrich, route, count. A command is
        not routed: it is run and answered (``Commands.run``)."""
        if isinstance(event, Command):
            await self.commands.run(event)
            return
        if isinstance(event, NewMessage | Reaction):
            # Only the bridge's own records may mark an author verified (enrich, below).
            event = replace(event, author=_cleaned(event.author))
        if isinstance(event, NewMessage) and self.enricher is not None:
            try:
                author = await self.enricher.enrich(event.author)
            except Exception:
                log.exception("avatar lookup failed for %s", event.author.user_id)
            else:
                if author != event.author:
                    event = replace(event, author=author)
        await self.router.handle(event)
        if isinstance(event, NewMessage):
            self.bridge.metrics.messages_in.labels(platform=event.source.platform).inc()
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("inbound listener %r failed", listener)


METRICS_SAVE_INTERVAL = 60.0
"""Seconds between saves of the Prometheus counters (a kill -9 loses at most this much)."""
_MAX_AUTHOR_NAME = 256


def _cleaned(author: Author) -> Author:
    """``author`` with names cleaned the one way every platform shows them and no claim of
    being verified."""
    name = clean_name(author.display_name, _MAX_AUTHOR_NAME)
    username = clean_name(author.username, _MAX_AUTHOR_NAME) if author.username else None
    return replace(
        author,
        display_name=name or username or clean_name(author.user_id, 64) or "someone",
        username=username or None,
        verified=False,
    )


def install_relay(
    bridge: Host,
    commands: Commands,
    *,
    tuning: RelayTuning | None = None,
    platforms: Sequence[PlatformSpec] = (),
    index: PlatformIndex | None = None,
) -> Relay:
    """Create the relay (its commands are ``bridge.room_commands``). The caller adds
    ``relay.core`` first and calls ``relay.install_adapters(bridge)`` last (``wire_features``
    does), so that the adapters start (and take messages) after everything else and stop
    first."""
    relay = Relay(bridge, commands, tuning=tuning, platforms=platforms, index=index)
    return relay
