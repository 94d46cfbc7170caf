"""Community points: contributions earn points, cycles publish them on chain, members claim.

``install_points(bridge, commands, notifier, traffic=relay)`` plugs everything into a bridge: the
commands (``/points``, ``/leaderboard``, ``/award``, ``/deduct``, ``/cycle``), the scoring hooks
(a router observer for messages and deletes, the relay's inbound listener for reactions), the
web routes (leaderboard, cycle lists, claim page) and a component that publishes roots and
watches claims. Without ``[points] rooms`` nothing is counted and the commands say so.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bridge.commands import CommandOption, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.host import Enricher, Host, Traffic
from bridge.model import Author
from bridge.platform_index import PlatformIndex
from bridge.points.closing import ClaimBook, CloseRefused, CycleManager
from bridge.points.service import PointsService
from bridge.points.web import points_routes
from bridge.store import points as points_store
from bridge.web.app import ComponentStatus

if TYPE_CHECKING:
    from bridge.notify import Notifier

__all__ = ["PointsFeature", "install_points"]

log = logging.getLogger(__name__)

OFF = "Community points are off on this bridge ([points] rooms is empty)."


class PointsFeature:
    """What ``wire_features`` holds: the service (at once) and the cycle manager (at start)."""

    name = "points"

    def __init__(
        self,
        bridge: Host,
        relay: Traffic,
        notifier: Notifier | None,
        index: PlatformIndex | None = None,
    ) -> None:
        settings = bridge.settings
        self.settings = settings
        self.config = settings.points
        self._bridge = bridge
        self._relay = relay
        self._notifier = notifier
        self.service = PointsService(
            self.config,
            lambda: bridge.store,
            rooms=relay,
            lookup=lambda chat, native: relay.router.lookup(chat, native),
            public_url=settings.web.public_url,
            index=index,
        )
        self.manager: CycleManager | None = None
        self.book: ClaimBook | None = None
        self.poll_interval = 4.0

    # the component

    async def start(self) -> None:
        from bridge.points.chain import DistributorChain

        chain = None
        config, chain_settings = self.config, self.settings.chain
        if (
            config.enabled
            and chain_settings.rpc_url is not None
            and config.distributor is not None
            and config.token is not None
        ):
            chain = DistributorChain.open(
                chain_settings.rpc_url,
                config.distributor,
                config.token,
                self._bridge.identity_key,
            )
        self.manager = CycleManager(
            self.service,
            config,
            self.settings.bridge.data_dir / "points" / "cycles",
            chain=chain,
            confirmations=chain_settings.confirmations,
            announce=self.announce,
            poll_interval=self.poll_interval,
        )
        self.book = ClaimBook(self.manager)
        await self.manager.start()

    async def stop(self) -> None:
        manager, self.manager = self.manager, None
        if manager is not None:
            await manager.stop()

    def health(self) -> ComponentStatus:
        manager = self.manager
        if manager is None or manager.health():
            return ComponentStatus(True)
        return ComponentStatus(False, manager.problem or "the cycle task stopped")

    async def announce(self, text: str) -> None:
        if self._notifier is None:
            return
        for name in self.config.rooms:
            room = self._relay.router.room(name)
            if room is not None and room.members:
                await self._notifier.announce_room(room.members[0], text)

    # /cycle

    async def handle_cycle(self, request: CommandRequest) -> CommandReply:
        if not self.config.enabled:
            return CommandReply(OFF, private=True)
        if self.manager is None:
            return CommandReply("Points are not running yet; try again shortly.", private=True)
        action = request.args[0].lower() if request.args else "status"
        if action == "close":
            actor = f"{request.author.platform}:{request.author.user_id}"
            try:
                done = await self.manager.close(actor)
            except CloseRefused as exc:
                return CommandReply(f"Cycle not closed: {exc}", private=True)
            lines = [
                f"Cycle {done.cycle} closed: {done.members} wallets, {done.total_points} points"
                f" in all (cumulative). Root {done.root}",
                f"List: {done.url} (CID {done.cid}). The root is being published on chain;"
                " members claim once it is confirmed.",
            ]
            if done.warning:
                lines.append(done.warning)
            return CommandReply("\n".join(lines))
        if action != "status":
            return CommandReply("Usage: /cycle close | /cycle status", private=True)
        db = self.service.store.db
        closed = await points_store.cycles(db)
        lines = [f"Cycle {await points_store.current_cycle(db)} is open."]
        for cycle in closed[-3:]:
            where = f", tx {cycle.tx_hash}" if cycle.tx_hash else ""
            lines.append(f"Cycle {cycle.cycle}: {cycle.status}, root {cycle.root}{where}")
        if self.manager.problem:
            lines.append(f"Problem: {self.manager.problem}")
        return CommandReply("\n".join(lines), private=True)


class PointsEnricher:
    """Puts a member's points after their name (those who asked with /points show)."""

    def __init__(self, inner: Enricher | None, service: PointsService) -> None:
        self._inner = inner
        self._service = service

    async def enrich(self, author: Author) -> Author:
        if self._inner is not None:
            author = await self._inner.enrich(author)
        return await self._service.shown_name(author)


def _off(handler: Any, enabled: bool) -> Any:
    async def wrapped(request: CommandRequest) -> CommandReply:
        if not enabled:
            return CommandReply(OFF, private=True)
        reply: CommandReply = await handler(request)
        return reply

    return wrapped


def register_commands(commands: Commands, feature: PointsFeature) -> None:
    service, on = feature.service, feature.config.enabled
    commands.register(
        CommandSpec(
            "points",
            "Your points (or someone's) in this room: this cycle, rank and total",
            "[@user | show | hide]",
            (CommandOption("user", "@user, or show/hide your points by your name", False),),
        ),
        _off(service.handle_points, on),
    )
    commands.register(
        CommandSpec("leaderboard", "This cycle's top contributors in this room"),
        _off(service.handle_leaderboard, on),
    )
    for name, handler, what in (
        ("award", service.handle_award, "Give points"),
        ("deduct", service.handle_deduct, "Take points away"),
    ):
        commands.register(
            CommandSpec(
                name,
                f"{what} (admins), with a reason everyone can read",
                "@user <points> <reason>",
                (
                    CommandOption("user", "@user or platform:user_id"),
                    CommandOption("points", "a whole number"),
                    CommandOption("reason", "why"),
                ),
                admin_only=True,
            ),
            _off(handler, on),
        )
    commands.register(
        CommandSpec(
            "cycle",
            "Close the points cycle and publish its root, or show the cycles (admins)",
            "close | status",
            (CommandOption("action", "close or status", False),),
            admin_only=True,
        ),
        feature.handle_cycle,
    )


def install_points(
    bridge: Host,
    commands: Commands,
    notifier: Notifier | None,
    *,
    traffic: Traffic,
    index: PlatformIndex | None = None,
) -> PointsFeature:
    """Register the commands, scoring hooks, routes and the cycle component."""
    relay = traffic
    feature = PointsFeature(bridge, relay, notifier, index)
    register_commands(commands, feature)
    if feature.config.enabled:
        relay.add_observer(feature.service)
        relay.add_inbound_listener(feature.service.on_inbound)
        relay.enricher = PointsEnricher(relay.enricher, feature.service)
    bridge.add_routes(points_routes(feature))
    bridge.add_component(feature)
    return feature
