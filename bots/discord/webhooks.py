"""The webhooks that post copies under the remote author's name: configured, found or made."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import discord

from bots.discord.common import WEBHOOK_NAME
from bots.discord.state import DiscordState

__all__ = ["Webhooks"]

log = logging.getLogger(__name__)


class Webhooks:
    """One webhook per bridged channel; other channels get a webhook named "Parley" created
    on first use when the bot has Manage Webhooks."""

    def __init__(self, state: DiscordState, configured: Mapping[int, tuple[int, str]]) -> None:
        self._state = state
        self.configured = dict(configured)
        self._by_channel: dict[int, discord.Webhook] = {}
        self._lock = asyncio.Lock()

    def configured_webhook(self, client: discord.Client, channel_id: int) -> discord.Webhook | None:
        hook = self.configured.get(channel_id)
        if hook is None:
            return None
        webhook = self._by_channel.get(channel_id)
        if webhook is None or webhook.id != hook[0]:
            webhook = discord.Webhook.partial(hook[0], hook[1], client=client)
            self._by_channel[channel_id] = webhook
        return webhook

    async def webhook_for(
        self, channel: discord.TextChannel, *, create: bool
    ) -> discord.Webhook | None:
        """The webhook that posts into ``channel``: configured, found, or made; None if none."""
        client = self._state.require_client()
        configured = self.configured_webhook(client, channel.id)
        if configured is not None:
            return configured
        cached = self._by_channel.get(channel.id)
        if cached is not None:
            return cached
        if not channel.permissions_for(channel.guild.me).manage_webhooks:
            return None
        async with self._lock:
            cached = self._by_channel.get(channel.id)
            if cached is not None:
                return cached
            try:
                found = await self._find(client, channel)
                if found is None and create:
                    found = await channel.create_webhook(
                        name=WEBHOOK_NAME, reason="Parley bridge: relays messages from other chats"
                    )
            except discord.Forbidden:
                return None
            if found is not None:
                self._state.own_webhooks.add(found.id)
                self._by_channel[channel.id] = found
            return found

    async def _find(
        self, client: discord.Client, channel: discord.TextChannel
    ) -> discord.Webhook | None:
        me = client.user.id if client.user is not None else None
        candidates = [
            w
            for w in await channel.webhooks()
            if w.token is not None and w.name == WEBHOOK_NAME and w.channel_id == channel.id
        ]
        # Prefer one this bot made: a same-named webhook of someone else is not ours to reuse.
        candidates.sort(key=lambda w: w.user is None or w.user.id != me)
        return candidates[0] if candidates else None

    async def by_id(
        self, client: discord.Client, channel_id: int, webhook_id: int
    ) -> discord.Webhook | None:
        configured = self.configured_webhook(client, channel_id)
        if configured is not None and configured.id == webhook_id:
            return configured
        cached = self._by_channel.get(channel_id)
        if cached is not None and cached.id == webhook_id:
            return cached
        channel = client.get_channel(channel_id)
        if isinstance(channel, discord.TextChannel):
            found = await self.webhook_for(channel, create=False)
            if found is not None and found.id == webhook_id:
                return found
        return None

    def forget(self, webhook: discord.Webhook) -> None:
        for channel_id, known in list(self._by_channel.items()):
            if known.id == webhook.id:
                del self._by_channel[channel_id]
                self.configured.pop(channel_id, None)
                log.warning(
                    "the webhook of Discord channel %s was deleted; a new one will be used",
                    channel_id,
                )
