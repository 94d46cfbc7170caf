"""Wiring the feed into the bridge: ``install_feed`` registers ``/post``, the feed component
and the ``/feed`` + ``/feed.atom`` routes; ``FeedFeature`` holds the router hooks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from bridge.commands import CommandOption, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.feed.service import AvatarInfo, FeedService, Profile
from bridge.model import Author, ChatRef, DiscordChannelId, MessageId, TelegramChatId, WakuChatId
from bridge.notify import Notifier
from bridge.store.messages import StoredMessage

if TYPE_CHECKING:
    from bridge.app import Bridge

__all__ = ["POST_SPEC", "FeedFeature", "feed_pubsub_topic", "install_feed"]

log = logging.getLogger(__name__)


class _HasAddress(Protocol):
    @property
    def address(self) -> str: ...


WalletsOf = Callable[[str, str], Awaitable[Sequence[_HasAddress]]]
AvatarFor = Callable[[str, str], Awaitable[AvatarInfo | str | None]]

POST_SPEC = CommandSpec(
    "post",
    "Cross-post to the public feed: reply to your own message, or give the text",
    "[text]",
    (
        CommandOption(
            "text",
            "what to post (or reply to your message; on Discord, give your message's link or id)",
            required=False,
        ),
    ),
)


def feed_pubsub_topic(settings: Any) -> str:
    """The pubsub topic the feed is published on: the first configured shard of the cluster."""
    waku = settings.waku
    return f"/waku/2/rs/{waku.cluster_id}/{waku.shards[0]}"


class FeedFeature:
    """The feed as ``wire_features`` sees it: the /post command (registered at once), the
    service (created when the bridge starts) and the router hooks."""

    def __init__(
        self,
        settings: Any,
        identity_key: bytes,
        notifier: Notifier | None,
        *,
        wallets_of: WalletsOf | None = None,
        avatar_for: AvatarFor | None = None,
    ) -> None:
        self._settings = settings
        self._key = identity_key
        self._notifier = notifier
        self._wallets_of = wallets_of
        self._avatar_for = avatar_for
        self.service: FeedService | None = None

    async def profile(self, author: Author) -> Profile:
        wallet: str | None = None
        avatar: AvatarInfo | None = None
        if self._wallets_of is not None:
            links = await self._wallets_of(author.platform, str(author.user_id))
            wallet = links[0].address if links else None
        if self._avatar_for is not None:
            found = await self._avatar_for(author.platform, str(author.user_id))
            avatar = AvatarInfo(found, None, True) if isinstance(found, str) else found
        return Profile(wallet=wallet, avatar=avatar)

    def _room_of(self, chat: ChatRef) -> str | None:
        for room in self._settings.rooms:
            members = [ChatRef.telegram(TelegramChatId(c)) for c in room.telegram_chats]
            members += [ChatRef.discord(DiscordChannelId(c)) for c in room.discord_channels]
            if room.waku_chat is not None:
                members.append(ChatRef.waku(WakuChatId(room.waku_chat)))
            members += [ChatRef.parse(c) for c in room.chats]
            if chat in members:
                return str(room.name)
        return None

    def create(self, bridge: Bridge) -> FeedService:
        """The component factory (``bridge.add_factory(feature.create)``)."""
        settings = self._settings
        feed = settings.feed
        chain = None
        if feed.anchor != "none":
            from bridge.feed.anchor import ChainAnchor, open_web3

            chain = ChainAnchor(
                open_web3(settings.chain.rpc_url),
                settings.chain.feed_contract,
                self._key,
                settings.chain.chain_id,
                owns_provider=True,
            )
        kubo_url = getattr(feed, "kubo_url", None)
        kubo = None
        if kubo_url:
            from bridge.feed.kubo import KuboClient

            kubo = KuboClient(kubo_url)
        self.service = FeedService(
            bridge.store,
            bridge.node,
            self._key,
            feed_chat=feed.waku_chat,
            pubsub_topic=feed_pubsub_topic(settings),
            rooms=self._room_of,
            auto_post_rooms=feed.auto_post_rooms,
            anchor_mode=feed.anchor,
            batch_interval=feed.batch_interval,
            chain=chain,
            kubo=kubo,
            profile=self.profile,
            notifier=self._notifier,
            public_url=settings.web.public_url,
        )
        return self.service

    async def handle_post(self, request: CommandRequest) -> CommandReply:
        if self.service is None:
            return CommandReply("The feed is not running yet; try again shortly.", private=True)
        return await self.service.handle_post(request)

    async def on_new_message(self, stored: StoredMessage) -> None:
        if self.service is not None:
            await self.service.on_new_message(stored)

    async def on_deleted(self, message_id: MessageId) -> None:
        if self.service is not None:
            await self.service.on_deleted(message_id)


def install_feed(
    bridge: Bridge,
    commands: Commands,
    notifier: Notifier | None,
    *,
    wallets_of: WalletsOf | None = None,
    avatar_for: AvatarFor | None = None,
) -> FeedFeature:
    """Register /post, the feed component, and the /feed and /feed.atom routes."""
    from bridge.web.feed import feed_routes

    feature = FeedFeature(
        bridge.settings,
        bridge.identity_key,
        notifier,
        wallets_of=wallets_of,
        avatar_for=avatar_for,
    )
    commands.register(POST_SPEC, feature.handle_post)
    bridge.add_factory(feature.create)
    bridge.add_routes(feed_routes(lambda: bridge.store, public_url=bridge.settings.web.public_url))
    return feature
