"""Non-custodial tips: ``/tip`` intents, the tip page, the chain watcher, ``/tips``.

``install_tips(bridge, commands, notifier)`` plugs everything into a bridge. Without
``[chain] rpc_url`` and ``[chain] tipjar`` the commands still answer (explaining what the
operator must configure) and no watcher runs. web3 is never imported here (only ENS
resolution imports it, when a user tips an ENS name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.host import Host
from bridge.platform_index import PlatformIndex
from bridge.tips.service import NOT_CONFIGURED, RoomDirectory, TipConfig, TipService
from bridge.tips.web import tip_routes

if TYPE_CHECKING:
    from bridge.commands import Commands
    from bridge.config import Settings
    from bridge.notify import Notifier
    from bridge.tips.watcher import TipWatcher

__all__ = [
    "NOT_CONFIGURED",
    "TipConfig",
    "TipService",
    "TipsComponent",
    "config_from_settings",
    "install_tips",
    "register_commands",
]

TIP_USAGE = "@user|0xaddress|name.eth <amount> <ETH|SYMBOL|0xtoken> [memo]"


def config_from_settings(settings: Settings) -> TipConfig:
    chain = settings.chain
    tokens = dict(chain.tokens)
    if settings.points.token is not None:
        # Community points are tipped like any token once [points] token is set.
        tokens.setdefault("POINTS", settings.points.token)
    return TipConfig(
        rpc_url=chain.rpc_url,
        chain_id=chain.chain_id,
        tipjar=chain.tipjar,
        confirmations=chain.confirmations,
        tokens=tokens,
        public_url=settings.web.public_url,
        # Optional key (e.g. "https://etherscan.io/tx/{tx}"), read if the config defines it.
        explorer_tx_url=getattr(chain, "explorer_tx_url", None),
    )


def register_commands(commands: Commands, service: TipService) -> None:
    from bridge.commands import CommandOption, CommandSpec

    commands.register(
        CommandSpec(
            "tip",
            "Tip someone in ETH or a token, from your own wallet",
            TIP_USAGE,
            (
                CommandOption("user", "@user, a 0x address or an ENS name"),
                CommandOption("amount", "e.g. 0.01"),
                CommandOption("token", "ETH, a token symbol or a token address"),
                CommandOption("memo", "a short note", required=False),
            ),
            private_reply=True,  # the tip page link is for the tipper alone
        ),
        service.handle_tip,
    )
    commands.register(
        CommandSpec("tips", "Recent tips in this room, top tippers and recipients"),
        service.handle_tips,
    )


class TipsComponent:
    """Runs the watcher (when tips are configured) and closes the service's RPC client."""

    name = "tips"

    def __init__(self, service: TipService, watcher: TipWatcher | None) -> None:
        self.service = service
        self.watcher = watcher

    async def start(self) -> None:
        if self.watcher is not None:
            await self.watcher.start()

    async def stop(self) -> None:
        try:
            if self.watcher is not None:
                await self.watcher.stop()
        finally:
            await self.service.close()

    def health(self) -> bool:
        return self.watcher is None or self.watcher.health()


def install_tips(
    bridge: Host,
    commands: Commands,
    notifier: Notifier,
    *,
    rooms: RoomDirectory | None = None,
    poll_interval: float = 4.0,
    index: PlatformIndex | None = None,
) -> TipService:
    """Register /tip and /tips, the tip page routes, and the chain watcher component."""
    config = config_from_settings(bridge.settings)
    service = TipService(config, lambda: bridge.store, rooms=rooms, index=index)
    register_commands(commands, service)
    bridge.add_routes(tip_routes(service, bridge_name=bridge.settings.bridge.name))

    def factory(running: Host) -> TipsComponent:
        watcher = None
        if config.enabled and config.rpc_url is not None and config.tipjar is not None:
            from bridge.tips.rpc import RpcClient
            from bridge.tips.watcher import TipWatcher

            watcher = TipWatcher(
                lambda: running.store,
                RpcClient(config.rpc_url),
                notifier,
                chain_id=config.chain_id,
                tipjar=config.tipjar,
                confirmations=config.confirmations,
                tokens=service.tokens,
                explorer_tx_url=config.explorer_tx_url,
                poll_interval=poll_interval,
                owns_rpc=True,
            )
        return TipsComponent(service, watcher)

    bridge.add_factory(factory)
    return service
