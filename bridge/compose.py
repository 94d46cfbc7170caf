"""The composition root: the one module that imports the features and plugs them into a bridge.

Every feature follows one convention (``bridge.host``): ``install_<feature>(host, commands,
...)`` registers its commands, components and web routes, and receives what it needs from
other features as keyword arguments. Features never import this module nor ``bridge.app``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bridge.commands import Commands
from bridge.feed.feature import install_feed
from bridge.host import Host
from bridge.identity.install import install_identity
from bridge.model import Adapter, Feature
from bridge.nft.safe_fetch import FetchPolicy
from bridge.platform_index import PlatformIndex
from bridge.platforms import PlatformSpec
from bridge.points import install_points
from bridge.profile_photos import PhotoSource, install_profile_photos
from bridge.relay import Relay, RelayTuning, install_relay
from bridge.room_commands import install_room_commands
from bridge.tips import install_tips
from bridge.web.home import install_home

__all__ = ["wire_features"]


def wire_features(
    bridge: Host,
    *,
    tuning: RelayTuning | None = None,
    avatar_fetch_policy: FetchPolicy | None = None,
    platforms: Sequence[PlatformSpec] = (),
) -> Relay:
    """The one place where ``parley run`` plugs features into the bridge.

    Builds the command registry and the relay (``bridge.relay``: router, outbox, and the
    adapters whose tokens or rooms are configured), and installs wallet linking + NFT avatars,
    the public feed, tips, points, profile photos and the home page. Components start in the
    order added here, after the core: the relay's router and outbox, the features, and the
    platform adapters last. Returns the relay.

    Both keywords are for tests only; ``parley run`` passes neither, and no config key reaches
    them. ``tuning``: shorter timeouts, no pacing. ``avatar_fetch_policy``: replaces the
    SSRF-safe :data:`~bridge.nft.safe_fetch.DEFAULT_POLICY` for NFT metadata and image fetches
    (end-to-end tests admit their own server on 127.0.0.1 with it); None keeps the default.
    ``platforms``: the registered platform specs (``bots.registry``), from the entry point.
    """
    commands = Commands(bridge.settings.bridge.name)
    index = PlatformIndex.of(platforms)
    relay = install_relay(bridge, commands, tuning=tuning, platforms=platforms, index=index)
    notifier = relay.notifier
    bridge.add_component(relay.core)
    install_room_commands(bridge, commands, relay=relay)
    if avatar_fetch_policy is None:
        identity = install_identity(bridge, commands, notifier, index=index)
    else:
        identity = install_identity(
            bridge, commands, notifier, policy=avatar_fetch_policy, index=index
        )
    relay.enricher = identity
    feed = install_feed(
        bridge,
        commands,
        notifier,
        wallets_of=identity.links.wallets_of,
        avatar_for=identity.avatar_url_for,
        index=index,
    )
    relay.add_observer(feed)
    install_tips(bridge, commands, notifier, rooms=relay, index=index)
    install_points(bridge, commands, notifier, traffic=relay, index=index)
    install_profile_photos(
        bridge,
        commands,
        traffic=relay,
        sources=lambda platform: _photo_source(relay.adapters.get(platform)),
        refresh=relay.tuning.profile_photo_refresh,
    )
    install_home(bridge, commands, traffic=relay)
    relay.install_adapters(bridge)
    return relay


def _photo_source(adapter: Adapter | None) -> PhotoSource | None:
    # An optional ability of an adapter (Telegram has it): fetching its users' profile photos.
    if adapter is None or Feature.PROFILE_PHOTOS not in adapter.capabilities:
        return None
    return adapter
