"""A protocol-level Discord stand-in: REST API v10 and the gateway websocket, on 127.0.0.1.

The real discord.py 2.7 ``Client`` runs against it unmodified; it is pointed here with
:meth:`FakeDiscord.patched` (which sets ``discord.http.Route.BASE`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` and restores them afterwards)::

    async with FakeDiscord() as fake, fake.patched():
        guild = fake.add_guild("Parley")
        channel = fake.add_text_channel(guild, "general")
        alice = fake.add_member(guild, "alice")
        client = discord.Client(intents=intents, guild_ready_timeout=0.1)
        await client.login(fake.token)
        task = asyncio.create_task(client.connect())
        ...
        fake.user_sends(channel.id, alice, "hello")
        await fake.wait_for(lambda: fake.messages(channel.id)[1:], timeout=5)
        await client.close()

Like real Discord, every message created over REST or through a webhook is echoed on the
gateway (MESSAGE_CREATE; webhook ones carry ``webhook_id``), edits and deletes likewise.
Faults: :meth:`FakeDiscord.fail_next`, :meth:`FakeDiscord.drop_gateway`,
:meth:`FakeDiscord.send_reconnect`, :meth:`FakeDiscord.send_invalid_session`.
Every REST request is recorded in :attr:`FakeDiscord.rest_calls`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TypeVar

from aiohttp import web

from tests.fakes.discord_core import GatewayEvent
from tests.fakes.discord_gateway import DiscordGateway
from tests.fakes.discord_http import API_PREFIX, matches
from tests.fakes.discord_models import (
    DEFAULT_BOT_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    MANAGE_WEBHOOKS,
    MESSAGE_TYPE_DEFAULT,
    PRIVILEGED_INTENTS,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeRole,
    FakeUser,
    FakeWebhook,
    Fault,
    InteractionResponse,
    Json,
    RestCall,
    WebhookExecution,
    new_id,
    new_token,
    now_iso,
)
from tests.fakes.discord_rest import DiscordRest
from tests.fakes.discord_webhooks import DiscordWebhooks

__all__ = [
    "API_PREFIX",
    "DEFAULT_BOT_PERMISSIONS",
    "EVERYONE_PERMISSIONS",
    "MANAGE_WEBHOOKS",
    "PRIVILEGED_INTENTS",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeInteraction",
    "FakeUser",
    "FakeWebhook",
    "GatewayEvent",
    "InteractionResponse",
    "RestCall",
    "WebhookExecution",
]

_T = TypeVar("_T")


class FakeDiscord(DiscordRest, DiscordWebhooks, DiscordGateway):
    """Discord's REST API and gateway for one bot application, with a control API for tests."""

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=64 * 1024 * 1024)
        self._add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for conn in list(self._connections):
            conn.close(1001, "going away")
        for conn in list(self._connections):
            await conn.finish()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        """Point discord.py (process-wide) at this fake; restore the old endpoints on exit."""
        import discord.gateway
        import discord.http
        import yarl

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # ------------------------------------------------------------------ world setup

    def add_guild(
        self, name: str = "Parley Test", *, bot_permissions: int = DEFAULT_BOT_PERMISSIONS
    ) -> FakeGuild:
        """A guild the bot is in; ``bot_permissions``: its role (e.g. no MANAGE_WEBHOOKS)."""
        gid = new_id()
        guild = FakeGuild(id=gid, name=name, owner_id=self.owner.id)
        guild.roles[gid] = FakeRole(id=gid, name="@everyone", permissions=EVERYONE_PERMISSIONS)
        bot_role = FakeRole(
            id=new_id(), name=self.bot_user.username, permissions=bot_permissions, position=1
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[self.owner.id] = FakeMember(self.owner, [])
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, [bot_role.id])
        self.guilds[gid] = guild
        return guild

    def add_text_channel(self, guild: FakeGuild | int, name: str = "general") -> FakeChannel:
        g = self._guild(guild)
        channel = FakeChannel(id=new_id(), name=name, guild_id=g.id, position=len(g.channels))
        g.channels[channel.id] = channel
        self.channels[channel.id] = channel
        self._messages[channel.id] = {}
        return channel

    def add_member(
        self,
        guild: FakeGuild | int,
        username: str,
        *,
        global_name: str | None = None,
        avatar: str | None = None,
        bot: bool = False,
        role_ids: Sequence[int] = (),
    ) -> FakeUser:
        g = self._guild(guild)
        user = FakeUser(
            id=new_id(), username=username, global_name=global_name, avatar=avatar, bot=bot
        )
        self.users[user.id] = user
        g.members[user.id] = FakeMember(user, list(role_ids))
        return user

    def add_role(self, guild: FakeGuild | int, name: str, permissions: int = 0) -> FakeRole:
        g = self._guild(guild)
        role = FakeRole(id=new_id(), name=name, permissions=permissions, position=len(g.roles))
        g.roles[role.id] = role
        return role

    def add_webhook(self, channel_id: int, name: str = "Parley") -> FakeWebhook:
        """A webhook that already exists (as if made in Discord's UI); configured by id + token."""
        channel = self._channel(channel_id)
        webhook = FakeWebhook(
            id=new_id(),
            token=new_token(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            name=name,
        )
        self.webhooks[webhook.id] = webhook
        return webhook

    # ------------------------------------------------------------------ inspection

    def messages(self, channel_id: int) -> list[Json]:
        """The channel's live messages, oldest first (REST representation)."""
        return list(self._messages.get(channel_id, {}).values())

    def message(self, channel_id: int, message_id: int) -> Json:
        return self._messages[channel_id][message_id]

    def requests(self, pattern: str) -> list[RestCall]:
        """Recorded REST calls whose ``"METHOD /path"`` (no /api/v10) matches an fnmatch pattern."""
        return [c for c in self.rest_calls if matches(pattern, c.method, c.path)]

    def events(self, event_type: str) -> list[GatewayEvent]:
        return [e for e in self.gateway_events if e.type == event_type]

    def file_bytes(self, url: str) -> bytes:
        """The bytes of an attachment by its URL."""
        att_id = int(url.rsplit("/", 2)[-2])
        return self._files[att_id].data

    async def wait_for(self, predicate: Callable[[], _T], timeout: float = 5.0) -> _T:  # noqa: ASYNC109
        """Wait until ``predicate()`` (re-checked on every request/event) is truthy; return it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("FakeDiscord.wait_for: condition not met")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.25))

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        pattern: str,
        status: int = 429,
        *,
        count: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
        via: bool = True,
        body: Json | None = None,
    ) -> None:
        """Answer the next ``count`` requests matching ``pattern`` with ``status``.

        ``pattern`` is an fnmatch pattern over ``"METHOD /path"`` without ``/api/v10``, e.g.
        ``"POST /channels/*/messages"`` or ``"POST /webhooks/*"``. A 429 carries Discord's body
        ``{message, retry_after, global}`` and, unless ``via=False``, the ``Via`` header without
        which discord.py treats it as a Cloudflare ban and does not retry.
        """
        self._faults.append(Fault(pattern, status, count, retry_after, is_global, via, body))

    def drop_gateway(self, code: int | None = None) -> None:
        """Cut every gateway connection: abruptly (no close frame) or with close ``code``."""
        for conn in list(self._connections):
            if code is None:
                conn.abort()
            else:
                conn.close(code, "dropped by test")

    def send_reconnect(self) -> None:
        """Op 7 RECONNECT on every connection: the client should RESUME."""
        for conn in self._connections:
            conn.send(json.dumps({"op": 7, "d": None}))

    def send_invalid_session(self, resumable: bool = False) -> None:
        """Op 9 INVALID_SESSION (discord.py re-IDENTIFIES after a 5 s sleep if not resumable)."""
        for conn in self._connections:
            if not resumable and conn.session is not None:
                self._sessions.pop(conn.session.id, None)
            conn.send(json.dumps({"op": 9, "d": resumable}))

    # ------------------------------------------------------------------ control API: users act

    def user_sends(
        self,
        channel_id: int,
        user: FakeUser | int,
        content: str,
        *,
        reply_to: int | None = None,
        attachments: Sequence[tuple[str, bytes]] | None = None,
        embeds: Sequence[Json] = (),
    ) -> Json:
        """A user posts in a channel: stored and dispatched as MESSAGE_CREATE."""
        channel = self._channel(channel_id)
        author = self._user(user)
        self._check_can_post(channel, author)
        payload: Json = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            payload["message_reference"] = {"message_id": str(reply_to)}
        files = [(f"files[{i}]", name, data) for i, (name, data) in enumerate(attachments or ())]
        return self._create_message(channel, author, payload, files)

    def user_forwards(
        self, channel_id: int, user: FakeUser | int, source_channel_id: int, message_id: int
    ) -> Json:
        """A user forwards a message into a channel: Discord posts a message with no content,
        a forward reference and a snapshot of the original (without its author)."""
        channel = self._channel(channel_id)
        author = self._user(user)
        self._check_can_post(channel, author)
        original = self._message(source_channel_id, message_id)
        source = self.channels[source_channel_id]
        message: Json = {
            "id": str(new_id()),
            "type": MESSAGE_TYPE_DEFAULT,
            "channel_id": str(channel.id),
            "author": author.to_dict(),
            "content": "",
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "reactions": [],
            "pinned": False,
            "flags": 1 << 14,  # HAS_SNAPSHOT
            "components": [],
            "message_reference": {
                "type": 1,  # FORWARD
                "message_id": original["id"],
                "channel_id": original["channel_id"],
                "guild_id": None if source.guild_id is None else str(source.guild_id),
            },
            "message_snapshots": [
                {
                    "message": {
                        key: original[key]
                        for key in (
                            "type",
                            "content",
                            "embeds",
                            "attachments",
                            "timestamp",
                            "edited_timestamp",
                            "flags",
                            "mentions",
                            "mention_roles",
                        )
                    }
                }
            ],
        }
        self._messages.setdefault(channel.id, {})[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        self._broadcast(
            "MESSAGE_CREATE", self._message_event(message), intent=self._message_intent(channel)
        )
        self._notify()
        return message

    def user_edits(self, channel_id: int, message_id: int, content: str) -> Json:
        message = self._message(channel_id, message_id)
        return self._edit_message(message, {"content": content}, [])

    def user_deletes(self, channel_id: int, message_id: int) -> None:
        self._delete_message(self._message(channel_id, message_id))

    def user_reacts(
        self, channel_id: int, message_id: int, user: FakeUser | int, emoji: str
    ) -> None:
        self._react(self._message(channel_id, message_id), self._user(user), emoji, add=True)

    def user_unreacts(
        self, channel_id: int, message_id: int, user: FakeUser | int, emoji: str
    ) -> None:
        self._react(self._message(channel_id, message_id), self._user(user), emoji, add=False)

    # ------------------------------------------------------------------ HTTP plumbing

    def _add_routes(self, app: web.Application) -> None:
        p = API_PREFIX
        r = app.router
        r.add_get("/", self._gateway)
        r.add_get("/attachments/{channel_id}/{att_id}/{filename}", self._get_attachment)
        r.add_get(p + "/gateway", self._get_gateway)
        r.add_get(p + "/gateway/bot", self._get_gateway_bot)
        r.add_get(p + "/users/{user_id}", self._get_user)
        r.add_post(p + "/users/@me/channels", self._create_dm)
        r.add_get(p + "/oauth2/applications/@me", self._get_application)
        r.add_get(p + "/applications/@me", self._get_application)
        r.add_get(p + "/channels/{channel_id}", self._get_channel)
        r.add_get(p + "/channels/{channel_id}/messages", self._list_messages)
        r.add_post(p + "/channels/{channel_id}/messages", self._post_message)
        r.add_post(p + "/channels/{channel_id}/typing", self._typing)
        r.add_get(p + "/channels/{channel_id}/messages/{message_id}", self._get_message)
        r.add_patch(p + "/channels/{channel_id}/messages/{message_id}", self._patch_message)
        r.add_delete(p + "/channels/{channel_id}/messages/{message_id}", self._delete_message_route)
        reaction = p + "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me"
        r.add_put(reaction, self._put_reaction)
        r.add_delete(reaction, self._delete_reaction)
        r.add_get(p + "/channels/{channel_id}/webhooks", self._list_channel_webhooks)
        r.add_post(p + "/channels/{channel_id}/webhooks", self._create_webhook)
        r.add_get(p + "/guilds/{guild_id}", self._get_guild)
        r.add_get(p + "/guilds/{guild_id}/channels", self._get_guild_channels)
        r.add_get(p + "/guilds/{guild_id}/members/{user_id}", self._get_member)
        r.add_get(p + "/guilds/{guild_id}/webhooks", self._list_guild_webhooks)
        r.add_get(p + "/webhooks/{webhook_id}", self._get_webhook)
        r.add_delete(p + "/webhooks/{webhook_id}", self._delete_webhook)
        r.add_get(p + "/webhooks/{webhook_id}/{token}", self._get_webhook_with_token)
        r.add_post(p + "/webhooks/{webhook_id}/{token}", self._execute_webhook)
        wm = p + "/webhooks/{webhook_id}/{token}/messages/{message_id}"
        r.add_get(wm, self._get_webhook_message)
        r.add_patch(wm, self._patch_webhook_message)
        r.add_delete(wm, self._delete_webhook_message)
        r.add_get(p + "/applications/{app_id}/commands", self._get_commands)
        r.add_put(p + "/applications/{app_id}/commands", self._put_commands)
        r.add_get(p + "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands)
        r.add_put(p + "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands)
        r.add_post(
            p + "/interactions/{interaction_id}/{token}/callback", self._interaction_callback
        )

    # ------------------------------------------------------------------ gateway

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeDiscord]:
        """``async with fake.running():`` == start + patched + stop."""
        await self.start()
        try:
            with self.patched():
                yield self
        finally:
            await self.stop()
