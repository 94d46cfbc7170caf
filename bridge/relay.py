"""The relay, wired: router + outbox + the configured platform adapters, as bridge components.

``install_relay(bridge, commands)`` (called by ``bridge.app.wire_features``) makes the relay;
its components, in start order:

- ``relay``: the router (config rooms + rooms made with ``/room join``) and the outbox, whose
  counters feed ``bridge.metrics``;
- ``telegram`` / ``discord``: the platform bots, when their token is set;
- ``waku_rooms``: the Waku adapter, when some room has a ``waku_chat``.

Each adapter component reports ``adapter.is_connected()`` as its health (``/health``). Every
adapter hands inbound events to one sink (:meth:`Relay.sink`) that counts ``messages_in``,
puts the author's verified NFT avatar on new messages (``identity.enrich``) and calls the
router. :class:`RelayNotifier` is the bridge's ``Notifier``: announcements go through the router
into the durable outbox; private notes go straight to the user's platform adapter.

Chat commands owned here: ``/rooms``, ``/delete`` and the admin-only ``/room``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast

from bridge.commands import (
    CommandOption,
    CommandReply,
    CommandRequest,
    Commands,
    CommandSpec,
    UsageError,
)
from bridge.flood import FloodLimiter
from bridge.model import (
    PLATFORMS,
    Adapter,
    Author,
    ChatId,
    ChatRef,
    DeleteMessage,
    DeliveryKind,
    Inbound,
    MessageId,
    NativeId,
    NewMessage,
    OutboundDelete,
    Platform,
    Reaction,
    UserId,
)
from bridge.names import clean_name
from bridge.outbox import DEFAULT_PACING, Outbox, OutboxPolicy, Pace
from bridge.platforms import PlatformContext, PlatformSpec
from bridge.profile_photos import PhotoSource, ProfilePhotos, photo_routes
from bridge.router import Room, Router, RouterObserver, rooms_from_settings
from bridge.store import outbox_rows
from bridge.store import rooms as room_store
from bridge.tasks import cancel_and_wait
from bridge.web.app import ComponentStatus

if TYPE_CHECKING:
    from bridge.app import Bridge
    from bridge.config import Settings
    from bridge.metrics import Metrics

__all__ = [
    "DELETE_SPEC",
    "ROOMS_SPEC",
    "ROOM_SPEC",
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
    """Per-chat pacing; None: the platforms' documented limits (``DEFAULT_PACING``)."""
    waku_health_interval: float = 5.0
    profile_photo_refresh: float = 6 * 3600.0
    platform_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Per registered platform (``bridge.platforms``): keywords for its factory's context."""


class Enricher(Protocol):
    """What the sink needs from the identity feature: the verified avatar on an author."""

    async def enrich(self, author: Author) -> Author: ...


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


# --- the notifier -----------------------------------------------------------------------------


class RelayNotifier:
    """The bridge's ``Notifier`` (see ``bridge.notify``)."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    async def announce(self, chat: ChatRef, text: str) -> None:
        queued = await self._relay.router.announce(chat, text, author_name=self._relay.bridge_name)
        if queued is None:
            # A chat in no room (a private chat with the bot, where /link is safest): the
            # outbox has no route there, but whoever asked there must hear the result.
            await self._say_directly(chat, text)

    async def _say_directly(self, chat: ChatRef, text: str) -> bool:
        adapter = self._relay.adapters.get(chat.platform)
        say = getattr(adapter, "say_in_chat", None)
        if say is None:
            return False
        try:
            return bool(await say(str(chat.chat_id), text))
        except Exception:
            log.exception("message to %s failed", chat)
            return False

    async def announce_room(self, chat: ChatRef, text: str) -> None:
        room = self._relay.router.room_of(chat)
        for member in room.members if room is not None else (chat,):
            await self.announce(member, text)

    async def tell_user(self, platform: Platform, user_id: UserId, text: str) -> bool:
        adapter = self._relay.adapters.get(platform)
        send_private = getattr(adapter, "send_private", None)
        if send_private is None:
            return False
        try:
            return bool(await send_private(str(user_id), text))
        except Exception:
            log.exception("private message on %s failed", platform)
            return False


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
        error = getattr(adapter, "last_error", None)
        detail = "connected" if up else "disconnected"
        if error:
            detail += f": {error}"
        communities = getattr(adapter, "communities", None)
        if communities is not None:
            detail += "; " + communities.summary()
        return ComponentStatus(up, detail)


# --- the relay --------------------------------------------------------------------------------


class Relay:
    """The running relay of one bridge: router, outbox, adapters, and the sink between them."""

    def __init__(
        self,
        bridge: Bridge,
        commands: Commands,
        *,
        tuning: RelayTuning | None = None,
        platforms: Sequence[PlatformSpec] = (),
    ) -> None:
        self.bridge = bridge
        self.platforms = tuple(platforms)
        self.settings: Settings = bridge.settings
        self.commands = commands
        self.tuning = tuning or RelayTuning()
        self.bridge_name = self.settings.bridge.name
        self.notifier = RelayNotifier(self)
        self.adapters: dict[Platform, Adapter] = {}
        self.enricher: Enricher | None = None
        self.photos: ProfilePhotos | None = None
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
        self._dynamic: dict[ChatRef, str] = {}
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

    def room_of(self, chat: ChatRef) -> Room | None:
        return None if self._router is None else self._router.room_of(chat)

    async def wait_idle(self) -> None:
        await self.outbox.wait_idle()

    # lifecycle (through the components)

    @property
    def core(self) -> _CoreComponent:
        """The router + outbox component: add it before anything that announces."""
        return self._core

    def install_adapters(self, bridge: Bridge) -> None:
        """Add one component per configured platform (after the features' components)."""
        settings = self.settings
        if any(room.waku_room for room in settings.rooms):
            bridge.add_component(_AdapterComponent(self, "waku_rooms", "waku", self._make_waku))
        for spec in self.platforms:
            if spec.enabled(settings):
                make = partial(self._make_from_spec, spec)
                bridge.add_component(_AdapterComponent(self, spec.name, spec.name, make))

    async def _start_core(self) -> None:
        store = self.bridge.store
        rooms = {room.name: room for room in self._config_rooms}
        self._dynamic = {}
        for member in await room_store.members(store.db):
            if member.chat in self._config_chats:
                continue  # the config wins (the chat was added there later)
            room = rooms.get(member.room, Room(member.room, ()))
            rooms[member.room] = Room(room.name, (*room.members, member.chat))
            self._dynamic[member.chat] = member.room
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
        if self.photos is not None:
            await self.photos.stop()
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
        registered = {s.name: s.pacing for s in self.platforms if s.pacing is not None}
        return {**DEFAULT_PACING, **registered}

    def _make_from_spec(self, spec: PlatformSpec) -> Adapter:
        context = PlatformContext(
            settings=self.settings,
            commands=self.commands,
            chats=[ChatId(c) for c in self._chats(spec.name)],
            public_url=self.settings.web.public_url,
            store=self.bridge.store,
            options=self.tuning.platform_options.get(spec.name, {}),
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

    def _make_waku(self) -> Adapter:
        from bridge.status.topics import DEFAULT_CLUSTER_ID
        from bridge.waku.adapter import WakuAdapter, WakuRoomConfig
        from bridge.waku.community import community_room

        rooms = {
            room.waku_chat: WakuRoomConfig(
                chat_id=room.waku_chat,
                pubsub_topic=room.waku_pubsub_topic,
                key=room.waku_key_bytes,
            )
            for room in self.settings.rooms
            if room.waku_chat is not None
        }
        for room in self.settings.rooms:
            ref = room.status_ref
            if ref is not None and room.waku_room is not None:
                community = community_room(
                    ref,
                    room.status_channel,
                    room.waku_pubsub_topic,
                    tuple(self.settings.waku.shards)
                    if self.settings.waku.cluster_id == DEFAULT_CLUSTER_ID
                    else (),
                )
                rooms[room.waku_room] = WakuRoomConfig(
                    chat_id=room.waku_room, pubsub_topic=community.pubsub_topic, community=community
                )
        adapter = WakuAdapter(
            node=self.bridge.node,
            store=self.bridge.store,
            identity_key=self.bridge.identity_key,
            rooms=rooms,
            bridge_name=self.bridge_name,
            health_interval=self.tuning.waku_health_interval,
            on_stat=self._waku_stat,
        )
        if adapter.communities is not None:
            self.bridge.metrics.watch_communities(adapter.communities)
        return adapter

    def _waku_stat(self, outcome: str) -> None:
        metrics = self.bridge.metrics
        if outcome == "publish_error":
            metrics.waku_publish_errors.inc()
            return
        if outcome.startswith("refused_"):  # status-go's community rules said no
            metrics.status_refused.labels(reason=outcome.removeprefix("refused_")).inc()
        # every message the node handed the rooms, whatever became of it
        metrics.waku_messages_received.inc()

    # inbound

    async def sink(self, event: Inbound) -> None:
        """Every adapter's inbound sink: clean the author, enrich, route, count."""
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
        if isinstance(event, NewMessage) and self.photos is not None:
            try:  # after the NFT avatar, which wins
                author = await self.photos.enrich(event.author)
            except Exception:
                log.exception("profile photo lookup failed for %s", event.author.user_id)
            else:
                event = replace(event, author=author)
        await self.router.handle(event)
        if isinstance(event, NewMessage):
            self.bridge.metrics.messages_in.labels(platform=event.source.platform).inc()
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("inbound listener %r failed", listener)

    # commands

    def register_commands(self) -> None:
        self.commands.register(ROOMS_SPEC, self._cmd_rooms)
        self.commands.register(DELETE_SPEC, self._cmd_delete)
        self.commands.register(ROOM_SPEC, self._cmd_room)

    async def _cmd_rooms(self, request: CommandRequest) -> CommandReply:
        rooms = self.router.rooms
        if not rooms:
            return CommandReply("This bridge has no rooms yet.")
        here = self.router.room_of(request.chat)
        lines = [f"{self.bridge_name} rooms:"]
        for room in sorted(rooms, key=lambda r: r.name):
            mark = " (this chat)" if here is not None and here.name == room.name else ""
            if request.is_admin:
                chats = ", ".join(str(c) for c in room.members) or "no chats"
            else:
                counts = {p: sum(c.platform == p for c in room.members) for p in PLATFORMS}
                chats = (
                    ", ".join(p if n == 1 else f"{p} ×{n}" for p, n in counts.items() if n)
                    or "no chats"
                )
            lines.append(f"• {room.name}{mark}: {chats}")
            state = self._community_state(room)
            if state:
                lines.append(f"  Status community: {state}")
        return CommandReply("\n".join(lines))

    def _community_state(self, room: Room) -> str | None:
        communities = getattr(self.adapters.get("waku"), "communities", None)
        if communities is None:
            return None
        for chat in room.members:
            if chat.platform == "waku" and chat.chat_id in communities.rooms:
                return str(communities.describe(chat.chat_id))
        return None

    async def _cmd_delete(self, request: CommandRequest) -> CommandReply:
        native = request.reply_to
        if native is None and request.args:
            # Discord slash commands cannot reply: take a message id or link instead.
            native = NativeId(request.args[0].rstrip("/").rsplit("/", 1)[-1])
        if native is None:
            raise UsageError("Reply to the message you want to delete.")
        stored = await self.router.lookup(request.chat, native)
        if stored is None:
            return CommandReply("The bridge did not relay that message.")
        own = (
            stored.author.platform == request.author.platform
            and stored.author.user_id == request.author.user_id
        )
        if not (own or request.is_admin):
            return CommandReply("Only the message's author or a bridge admin can delete it.")
        since = await outbox_rows.last_id(self.bridge.store.db)
        await self.router.handle(DeleteMessage(stored.source, stored.native_id))
        # The copies go through the outbox; the original and the command are ours to try.
        results: dict[ChatRef, str | None] = {}
        if stored.source.platform != "waku":
            results[stored.source] = await self._try_delete(stored.source, stored.native_id)
        if request.native_id is not None:
            await self._try_delete(request.chat, request.native_id)
        for target, state, error in await self._wait_outcomes(stored.id, since):
            results[target] = (
                None
                if state in ("delivered", "skipped")
                else ("still trying" if state in ("pending", "sending") else (error or "failed"))
            )
        return CommandReply(_delete_report(results))

    async def _wait_outcomes(
        self, message_id: MessageId, since: int
    ) -> list[tuple[ChatRef, outbox_rows.OutboxState, str | None]]:
        """The delete rows' outcomes, once all are final or ``_DELETE_WAIT`` seconds passed."""
        db = self.bridge.store.db
        deadline = time.monotonic() + _DELETE_WAIT
        while True:
            found = await outbox_rows.outcomes(db, message_id, "delete", since)
            if time.monotonic() >= deadline or all(
                state not in ("pending", "sending") for _, state, _ in found
            ):
                return found
            await asyncio.sleep(0.05)

    async def _try_delete(self, chat: ChatRef, native: NativeId) -> str | None:
        """Delete one message now; None when it went, else why not."""
        adapter = self.adapters.get(chat.platform)
        if adapter is None:
            return "not connected"
        key = f"cmd-delete-{secrets.token_hex(6)}"
        try:
            await adapter.delete(OutboundDelete(target=chat, idempotency_key=key, native_id=native))
        except Exception as exc:  # no rights (Telegram needs admin), already gone, ...
            log.info("could not delete %s in %s: %s", native, chat, exc)
            return str(exc) or type(exc).__name__
        return None

    async def _cmd_room(self, request: CommandRequest) -> CommandReply:
        action = request.args[0].lower() if request.args else ""
        if action in ("join", "create"):
            if len(request.args) < 2:
                raise UsageError(f"Name the room to {action}.")
            return await self._room_join(request, request.args[1], create=action == "create")
        if action == "leave":
            return await self._room_leave(request)
        if action == "status":
            return await self._room_status(request)
        raise UsageError("Say join, create, leave or status.")

    async def _room_join(
        self, request: CommandRequest, name: str, *, create: bool = False
    ) -> CommandReply:
        if _ROOM_NAME.fullmatch(name) is None:
            raise UsageError("Room names are letters, digits, '.', '_' and '-'.")
        chat = request.chat
        current = self.router.room_of(chat)
        if current is not None:
            if current.name == name:
                return CommandReply(f"This chat is already in room {name}.")
            where = "in the config" if chat in self._config_chats else "with /room join"
            return CommandReply(
                f"This chat is already in room {current.name} ({where}); /room leave first.",
                private=True,
            )
        if chat.platform == "waku":
            return CommandReply("Waku rooms are set in the config.", private=True)
        created = self.router.room(name) is None
        # A typo must not make a room nobody else is in: a new room is made only on request.
        if created and not create:
            return CommandReply(
                f"There is no room {name}. /rooms lists them; /room create {name} makes a new one."
            )
        if create and not created:
            return CommandReply(f"Room {name} exists already; /room join {name} joins it.")
        async with self.bridge.store.transaction() as db:
            by = f"{request.author.platform}:{request.author.user_id}"
            await room_store.add(db, name, chat, by, time.time())
        self.router.add_member(name, chat)
        self._dynamic[chat] = name
        self._watch(chat, True)
        return CommandReply(
            f"This chat joined room {name}" + (" (a new room)." if created else ".")
        )

    async def _room_leave(self, request: CommandRequest) -> CommandReply:
        chat = request.chat
        room = self.router.room_of(chat)
        if room is None:
            return CommandReply("This chat is in no room.", private=True)
        if chat in self._config_chats:
            return CommandReply(
                f"This chat is in room {room.name} by the config file; change it there.",
                private=True,
            )
        async with self.bridge.store.transaction() as db:
            await room_store.remove(db, chat)
        self.router.remove_member(chat)
        self._dynamic.pop(chat, None)
        self._watch(chat, False)
        return CommandReply(f"This chat left room {room.name}.")

    async def _recent_failures(self, where: str, params: list[str]) -> list[str]:
        """Delivery errors of the last hour, per platform: attempts that failed (retried, or
        given up), also when a later attempt went through, and the latest error."""
        since = time.time() - _RECENT
        rows = await self.bridge.store.db.execute_fetchall(
            "SELECT target_platform, state, COUNT(*), SUM(attempts), MAX(id) FROM relay_outbox"  # noqa: S608
            f" WHERE last_error IS NOT NULL AND state != 'skipped' AND created_at >= ?"
            f" AND ({where})"
            " GROUP BY target_platform, state",
            [since, *params],
        )
        if not rows:
            return ["no delivery errors in the last hour"]
        lines = ["delivery errors in the last hour:"]
        by_platform: dict[str, list[str]] = {}
        for platform, state, count, _attempts, _last in rows:
            label = {"delivered": "delivered after retrying", "failed": "given up"}.get(
                str(state), "still retrying"
            )
            by_platform.setdefault(str(platform), []).append(f"{count} {label}")
        for platform, parts in sorted(by_platform.items()):
            lines.append(f"  {platform}: " + ", ".join(parts))
        last = max(rows, key=lambda r: int(r[4]))
        found = list(
            await self.bridge.store.db.execute_fetchall(
                "SELECT last_error FROM relay_outbox WHERE id = ?", (int(last[4]),)
            )
        )
        if found:
            lines.append(f"  last ({last[0]}): {str(found[0][0])[:200]}")
        return lines

    def _watch(self, chat: ChatRef, on: bool) -> None:
        if chat.platform != "discord":
            return
        adapter = self.adapters.get("discord")
        method = getattr(adapter, "watch_channel" if on else "unwatch_channel", None)
        if method is not None:
            method(int(chat.chat_id))

    async def _room_status(self, request: CommandRequest) -> CommandReply:
        room = self.router.room_of(request.chat)
        if room is None:
            return CommandReply("This chat is in no room.", private=True)
        members = list(room.members)
        db = self.bridge.store.db
        where = " OR ".join("(target_platform = ? AND target_chat = ?)" for _ in members)
        params: list[str] = [v for c in members for v in (c.platform, c.chat_id)]
        async with db.execute(
            "SELECT COUNT(*) FROM relay_outbox WHERE state IN ('pending', 'sending')"  # noqa: S608
            f" AND ({where})",
            params,
        ) as cur:
            row = await cur.fetchone()
        depth = int(row[0]) if row is not None else 0
        lines = [f"Room {room.name}: {len(members)} chat(s), {depth} delivery(ies) waiting."]
        for platform in sorted({c.platform for c in members}):
            adapter = self.adapters.get(platform)
            state = (
                "not configured"
                if adapter is None
                else "connected"
                if adapter.is_connected()
                else "DISCONNECTED"
            )
            lines.append(f"{platform}: {state}")
            adapter_error = getattr(adapter, "last_error", None)
            if adapter_error:
                lines.append(f"  {adapter_error}")
            community = self._community_state(room) if platform == "waku" else None
            if community:
                lines.append(f"  Status community: {community}")
        lines += await self._recent_failures(where, params)
        return CommandReply("\n".join(lines))


METRICS_SAVE_INTERVAL = 60.0
"""Seconds between saves of the Prometheus counters (a kill -9 loses at most this much)."""
_RECENT = 3600.0
"""Seconds of delivery history /room status reports on."""
_DELETE_WAIT = 8.0
"""Seconds /delete waits for the copies' deletions before it reports."""
# Refusals as platforms word them, and what the admin can do about them.
_DELETE_HINTS = (
    ("can't be deleted", "the bot needs to be an admin with the Delete messages right"),
    ("missing permissions", "the bot needs the Manage Messages permission"),
)


def _delete_report(results: Mapping[ChatRef, str | None]) -> str:
    """``Deleted on …; not deleted on <platform>: <why>`` for /delete."""
    done = sorted({chat.platform for chat, error in results.items() if error is None})
    lines = ["Deleted on " + ", ".join(done) + "." if done else "Deleted nowhere."]
    for chat, error in sorted(results.items(), key=lambda item: str(item[0])):
        if error is None:
            continue
        why = error.splitlines()[0][:200]
        hint = next((h for phrase, h in _DELETE_HINTS if phrase in why.lower()), None)
        lines.append(f"Not deleted on {chat.platform}: {why}" + (f" ({hint})." if hint else "."))
    return "\n".join(lines)


# The config's pattern for room names (bridge.config.RoomSettings.name).
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


_ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

ROOMS_SPEC = CommandSpec("rooms", "List the bridged rooms and their platforms")
DELETE_SPEC = CommandSpec(
    "delete",
    "Delete a relayed message everywhere: reply to it (your own; admins: any)",
    "[message id]",
    (CommandOption("message", "the message id or link (Discord)", required=False),),
)
ROOM_SPEC = CommandSpec(
    "room",
    "Room management for admins: join <name>, create <name>, leave, status",
    "join <name> | create <name> | leave | status",
    (
        CommandOption("action", "join, create, leave or status"),
        CommandOption("name", "the room to join or create", required=False),
    ),
    admin_only=True,
)


def install_relay(
    bridge: Bridge,
    commands: Commands,
    *,
    tuning: RelayTuning | None = None,
    platforms: Sequence[PlatformSpec] = (),
) -> Relay:
    """Create the relay and register its commands. The caller adds ``relay.core`` first and
    calls ``relay.install_adapters(bridge)`` last (``wire_features`` does), so that the
    adapters start (and take messages) after everything else and stop first."""
    relay = Relay(bridge, commands, tuning=tuning, platforms=platforms)
    relay.register_commands()
    relay.photos = ProfilePhotos(
        lambda: bridge.store,
        lambda platform: (
            cast("PhotoSource | None", relay.adapters.get(platform))
            if hasattr(relay.adapters.get(platform), "profile_photo")
            else None
        ),
        bridge.settings.web.public_url,
        refresh=relay.tuning.profile_photo_refresh,
    )
    bridge.add_routes(photo_routes(relay.photos.image))
    return relay
