"""Plug wallet linking and NFT avatars into a bridge: one call from ``wire_features``.

``install_identity(bridge, commands, notifier)`` registers /link, /unlink, /whois and /avatar,
adds the link page, its API and ``/avatars/<hash>.png`` to the web app, and runs the avatar
re-check on a schedule. It returns an :class:`IdentityFeature` whose ``enrich`` the inbound
path calls so that relayed messages carry the verified avatar.

The chain client (an ``AsyncWeb3`` on ``[chain] rpc_url``) is made on first use — importing
web3 costs ~1.7 s — and closed when the bridge stops.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bridge.commands import Commands
from bridge.host import Host
from bridge.identity.commands import IdentityCommands, register_identity_commands
from bridge.identity.ens import EnsLookups, web3_lookups
from bridge.identity.service import LinkService
from bridge.identity.web import link_routes
from bridge.model import Author
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchPolicy
from bridge.nft.service import AvatarRechecker, AvatarService
from bridge.nft.web import avatar_routes
from bridge.notify import Notifier
from bridge.platform_index import PlatformIndex
from bridge.store import Store

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = ["ENS_CHAINS", "ChainClient", "IdentityFeature", "install_identity"]

# Chains where ENS's Universal Resolver is deployed; elsewhere every ENS call would fail.
ENS_CHAINS = frozenset({1, 11155111})


class ChainClient:
    """One lazily made AsyncWeb3 for the configured RPC (a component: closed at stop)."""

    name = "chain_client"

    def __init__(self, rpc_url: str | None) -> None:
        self._url = rpc_url
        self._w3: AsyncWeb3[Any] | None = None
        self._lock = asyncio.Lock()

    async def w3(self) -> AsyncWeb3[Any] | None:
        if self._url is None:
            return None
        async with self._lock:
            if self._w3 is None:
                from web3 import AsyncHTTPProvider, AsyncWeb3
                from web3.types import RPCEndpoint

                provider = AsyncHTTPProvider(
                    self._url,
                    cache_allowed_requests=True,
                    cacheable_requests={RPCEndpoint("eth_chainId")},
                    request_kwargs={"timeout": 10},
                )
                self._w3 = AsyncWeb3(provider)
            return self._w3

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        w3, self._w3 = self._w3, None
        if w3 is not None:
            await w3.provider.disconnect()

    def health(self) -> bool:
        return True


@dataclass
class IdentityFeature:
    links: LinkService
    avatars: AvatarService
    commands: IdentityCommands
    chain: ChainClient

    async def enrich(self, author: Author) -> Author:
        """The author with ``avatar_url`` set to their verified NFT avatar, if they have one."""
        return await self.avatars.enrich(author)

    async def avatar_url_for(self, platform: str, user_id: str) -> str | None:
        return await self.avatars.avatar_url_for(platform, user_id)


def install_identity(
    bridge: Host,
    commands: Commands,
    notifier: Notifier,
    *,
    policy: FetchPolicy = DEFAULT_POLICY,
    ens_chains: frozenset[int] = ENS_CHAINS,
    index: PlatformIndex | None = None,
) -> IdentityFeature:
    """Register the commands, routes and components of wallet linking and avatars.

    ENS names in /whois are looked up only when ``[chain] chain_id`` is in ``ens_chains``
    (default :data:`ENS_CHAINS`, where the Universal Resolver is deployed). The keyword is for
    tests only: ``parley run`` never passes it and no config key reaches it. Tests that place
    their own resolver at the Universal Resolver's address on anvil (``tests/chain/ens.py``)
    pass ``ENS_CHAINS | {31337}``.
    """
    settings = bridge.settings
    chain = ChainClient(settings.chain.rpc_url)

    def store() -> Store:
        return bridge.store

    links = LinkService(
        store=store,
        notifier=notifier,
        public_url=settings.web.public_url,
        chain_id=settings.chain.chain_id,
        bridge_name=settings.bridge.name,
        rpc=chain.w3,
    )
    avatars = AvatarService(
        store=store,
        notifier=notifier,
        public_url=settings.web.public_url,
        chain_id=settings.chain.chain_id,
        w3=chain.w3,
        ipfs_gateway=settings.nft.ipfs_gateway,
        arweave_gateway=settings.nft.arweave_gateway,
        max_image_bytes=settings.nft.max_image_bytes,
        fetch_timeout=settings.nft.fetch_timeout,
        recheck_hours=settings.nft.recheck_hours,
        policy=policy,
    )
    ens: EnsLookups | None = None
    if settings.chain.rpc_url is not None and settings.chain.chain_id in ens_chains:

        async def reverse(address: str) -> str | None:
            w3 = await chain.w3()
            return None if w3 is None else await web3_lookups(w3).reverse(address)

        async def forward(name: str) -> str | None:
            w3 = await chain.w3()
            return None if w3 is None else await web3_lookups(w3).forward(name)

        ens = EnsLookups(reverse=reverse, forward=forward)
    handlers = register_identity_commands(commands, links, avatars, ens, index)
    bridge.add_component(chain)
    bridge.add_component(AvatarRechecker(avatars))
    bridge.add_routes(link_routes(links, bridge_name=settings.bridge.name))
    bridge.add_routes(avatar_routes(avatars))
    return IdentityFeature(links=links, avatars=avatars, commands=handlers, chain=chain)
