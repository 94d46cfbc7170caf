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
import fnmatch
import hashlib
import json
import mimetypes
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote

from aiohttp import BodyPartReader, WSMsgType, web

from tests.fakes.discord_models import (
    APP_FLAG_GUILD_MEMBERS_LIMITED,
    APP_FLAG_MESSAGE_CONTENT_LIMITED,
    APP_FLAG_PRESENCE_LIMITED,
    ATTACHMENT_SIZE_LIMIT,
    CHANNEL_TYPE_DM,
    DEFAULT_BOT_PERMISSIONS,
    EVERYONE_PERMISSIONS,
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_MESSAGES,
    MANAGE_WEBHOOKS,
    MAX_CONTENT,
    MESSAGE_TYPE_CHAT_INPUT_COMMAND,
    MESSAGE_TYPE_DEFAULT,
    MESSAGE_TYPE_REPLY,
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
    StoredFile,
    WebhookExecution,
    invalid_form,
    mentioned_role_ids,
    mentioned_user_ids,
    new_id,
    new_token,
    now_iso,
)

__all__ = [
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
API_PREFIX = "/api/v10"
_COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
_OPTION_USER = 6
_OPTION_ATTACHMENT = 11


class ApiError(Exception):
    """Raised by a handler to answer with Discord's JSON error body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body


def _error(status: int, code: int, message: str) -> ApiError:
    return ApiError(status, {"message": message, "code": code})


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (discord.py insists)."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


@dataclass
class _Body:
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (field, filename, data)

    def payload(self) -> Json:
        """The JSON payload: the body itself, or ``payload_json`` of a multipart body."""
        if "payload_json" in self.form:
            value: Any = json.loads(self.form["payload_json"])
        else:
            value = self.json
        return value if isinstance(value, dict) else {}


_BODY = web.RequestKey("body", _Body)


@dataclass
class GatewayEvent:
    """A dispatch (op 0) the fake put into a session, as the client receives it."""

    session_id: str
    seq: int
    type: str
    data: Json


class _Close:
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message


class _Connection:
    """One gateway websocket; frames go through a queue so that their order is kept."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.query = dict(request.query)
        self.session: _Session | None = None
        self.alive = True
        self.server_closed = False
        self._queue: asyncio.Queue[str | _Close | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    def send(self, frame: str) -> None:
        if self.alive:
            self._queue.put_nowait(frame)

    def close(self, code: int, message: str = "") -> None:
        if self.alive:
            self.server_closed = True
            self._queue.put_nowait(_Close(code, message))

    def abort(self) -> None:
        """Cut the TCP connection without a close frame."""
        self.alive = False
        self.server_closed = True
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    async def _write(self) -> None:
        while True:
            item = await self._queue.get()
            if item is None:
                return
            try:
                if isinstance(item, _Close):
                    self.alive = False
                    await self.ws.close(code=item.code, message=item.message.encode())
                    return
                await self.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                self.alive = False
                return

    async def finish(self) -> None:
        self.alive = False
        self._queue.put_nowait(None)
        with contextlib.suppress(Exception):
            await self._writer


@dataclass
class _Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    conn: _Connection | None = None


class FakeDiscord:
    """Discord's REST API and gateway for one bot application, with a control API for tests."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token.parley",
        bot_name: str = "ParleyBot",
        granted_intents: int = PRIVILEGED_INTENTS,
        heartbeat_interval_ms: int = 41_250,
        members_in_guild_create: bool = False,
    ) -> None:
        self.token = token
        self.bot_user = FakeUser(id=new_id(), username=bot_name, bot=True)
        self.application_id = self.bot_user.id
        self.owner = FakeUser(id=new_id(), username="app-owner")
        self.granted_intents = granted_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.members_in_guild_create = members_in_guild_create
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.users: dict[int, FakeUser] = {
            self.bot_user.id: self.bot_user,
            self.owner.id: self.owner,
        }
        self.webhooks: dict[int, FakeWebhook] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.commands: dict[int | None, list[Json]] = {}
        # Records.
        self.rest_calls: list[RestCall] = []
        self.webhook_executions: list[WebhookExecution] = []
        self.gateway_events: list[GatewayEvent] = []
        self.gateway_received: list[Json] = []
        self.identifies: list[Json] = []
        self.resumes: list[Json] = []
        self.deleted_messages: list[Json] = []
        self.ephemeral_messages: dict[int, Json] = {}
        self._messages: dict[int, dict[int, Json]] = {}
        self._files: dict[int, StoredFile] = {}
        self._reactors: dict[int, dict[str, list[int]]] = {}
        self._faults: list[Fault] = []
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be set to."""
        return f"{self.url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

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

    def dm_channel(self, user: FakeUser | int) -> FakeChannel:
        """The DM channel between the bot and ``user`` (created on first use)."""
        u = self._user(user)
        for channel in self.channels.values():
            if channel.type == CHANNEL_TYPE_DM and channel.recipients[0].id == u.id:
                return channel
        channel = FakeChannel(
            id=new_id(), name="", guild_id=None, type=CHANNEL_TYPE_DM, recipients=[u]
        )
        self.channels[channel.id] = channel
        self._messages[channel.id] = {}
        return channel

    # ------------------------------------------------------------------ inspection

    def messages(self, channel_id: int) -> list[Json]:
        """The channel's live messages, oldest first (REST representation)."""
        return list(self._messages.get(channel_id, {}).values())

    def message(self, channel_id: int, message_id: int) -> Json:
        return self._messages[channel_id][message_id]

    def requests(self, pattern: str) -> list[RestCall]:
        """Recorded REST calls whose ``"METHOD /path"`` (no /api/v10) matches an fnmatch pattern."""
        return [c for c in self.rest_calls if _matches(pattern, c.method, c.path)]

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

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

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

    def user_invokes_command(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        channel_id: int,
        user: FakeUser | int,
    ) -> FakeInteraction:
        """A user runs a registered slash command: dispatched as INTERACTION_CREATE.

        Option values: str/int/float/bool as is; a FakeUser for USER options; a
        ``(filename, bytes)`` pair for ATTACHMENT options.
        """
        channel = self._channel(channel_id)
        author = self._user(user)
        command, scope = self._find_command(name, channel.guild_id)
        resolved: Json = {}
        option_list: list[Json] = []
        declared = {o["name"]: o for o in command.get("options") or []}
        for key, value in (options or {}).items():
            if key not in declared:
                raise ValueError(f"/{name} has no option {key!r}")
            opt_type = int(declared[key]["type"])
            if opt_type == _OPTION_USER:
                target = self._user(value)
                resolved.setdefault("users", {})[str(target.id)] = target.to_dict()
                if channel.guild_id is not None:
                    member = self._guild(channel.guild_id).members.get(target.id)
                    if member is not None:
                        resolved.setdefault("members", {})[str(target.id)] = member.to_dict(
                            with_user=False, permissions=0
                        )
                value = str(target.id)
            elif opt_type == _OPTION_ATTACHMENT:
                filename, file_data = value
                att = self._store_attachment(channel.id, filename, file_data, None)
                resolved.setdefault("attachments", {})[att["id"]] = att
                value = att["id"]
            option_list.append({"name": key, "type": opt_type, "value": value})
        data: Json = {"id": command["id"], "name": name, "type": 1, "options": option_list}
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        interaction = FakeInteraction(
            id=new_id(),
            token=new_token(),
            name=name,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            user=author,
            payload={},
        )
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": 2,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.to_dict(),
            "token": interaction.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if channel.guild_id is not None:
            guild = self._guild(channel.guild_id)
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = "en-US"
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["member"] = guild.members[author.id].to_dict(
                permissions=guild.permissions_of(author.id)
            )
            payload["app_permissions"] = str(guild.permissions_of(self.bot_user.id))
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = author.to_dict()
            payload["app_permissions"] = str(EVERYONE_PERMISSIONS)
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        interaction.payload = payload
        self.interactions[interaction.id] = interaction
        self._broadcast("INTERACTION_CREATE", payload, intent=None)
        return interaction

    # ------------------------------------------------------------------ helpers: lookup

    def _guild(self, guild: FakeGuild | int) -> FakeGuild:
        gid = guild.id if isinstance(guild, FakeGuild) else guild
        return self.guilds[gid]

    def _user(self, user: FakeUser | int) -> FakeUser:
        uid = user.id if isinstance(user, FakeUser) else int(user)
        return self.users[uid]

    def _channel(self, channel_id: int) -> FakeChannel:
        return self.channels[channel_id]

    def _message(self, channel_id: int, message_id: int) -> Json:
        return self._messages[channel_id][message_id]

    def _check_can_post(self, channel: FakeChannel, author: FakeUser) -> None:
        if channel.guild_id is not None:
            if author.id not in self._guild(channel.guild_id).members:
                raise ValueError(f"{author.username} is not a member of guild {channel.guild_id}")
        elif author.id != self.bot_user.id and author not in channel.recipients:
            raise ValueError(f"{author.username} is not in DM channel {channel.id}")

    def _find_command(self, name: str, guild_id: int | None) -> tuple[Json, int | None]:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name and int(command.get("type", 1)) == 1:
                    return command, scope
        raise ValueError(f"slash command /{name} is not registered")

    # ------------------------------------------------------------------ gateway dispatch

    def _broadcast(self, event: str, data: Json, *, intent: int | None) -> None:
        for session in list(self._sessions.values()):
            if intent is not None and not session.intents & intent:
                continue
            self._dispatch_to(session, event, self._adjust_for(session, event, data))

    def _adjust_for(self, session: _Session, event: str, data: Json) -> Json:
        """Strip message content for sessions without MESSAGE_CONTENT, as Discord does."""
        if (
            event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            or session.intents & INTENT_MESSAGE_CONTENT
        ):
            return data
        if data.get("guild_id") is None:
            return data
        bot_id = str(self.bot_user.id)
        if data.get("author", {}).get("id") == bot_id:
            return data
        if any(m.get("id") == bot_id for m in data.get("mentions", [])):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    def _dispatch_to(self, session: _Session, event: str, data: Json) -> None:
        session.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data})
        session.log.append((session.seq, frame))
        self.gateway_events.append(GatewayEvent(session.id, session.seq, event, data))
        if session.conn is not None:
            session.conn.send(frame)
        self._notify()

    def _message_event(self, message: Json) -> Json:
        """The gateway form of a message: REST form plus guild_id and the author's member."""
        data = dict(message)
        channel = self.channels[int(message["channel_id"])]
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
            author_id = int(message["author"]["id"])
            member = self.guilds[channel.guild_id].members.get(author_id)
            if member is not None and "webhook_id" not in message:
                data["member"] = member.to_dict(with_user=False)
        return data

    @staticmethod
    def _message_intent(channel: FakeChannel) -> int:
        return INTENT_GUILD_MESSAGES if channel.guild_id is not None else INTENT_DIRECT_MESSAGES

    # ------------------------------------------------------------------ messages

    def _validate(
        self, payload: Json, files: Sequence[tuple[str, str, bytes]], *, edit: bool
    ) -> None:
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            content = str(content)
        if content is not None and len(content) > MAX_CONTENT:
            raise ApiError(
                400,
                invalid_form(
                    "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
                ),
            )
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise ApiError(
                400,
                invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."),
            )
        for _field_name, _filename, data in files:
            if len(data) > ATTACHMENT_SIZE_LIMIT:
                raise _error(413, 40005, "Request entity too large")
        has_other = any(payload.get(k) for k in ("sticker_ids", "components", "poll"))
        if not edit and not content and not embeds and not files and not has_other:
            raise _error(400, 50006, "Cannot send an empty message")

    def _store_attachment(
        self, channel_id: int, filename: str, data: bytes, meta: Json | None
    ) -> Json:
        att_id = new_id()
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self._files[att_id] = StoredFile(filename, content_type, data)
        url = f"{self.url}/attachments/{channel_id}/{att_id}/{filename}"
        att: Json = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
            "ephemeral": False,
            "flags": 0,
        }
        if meta and meta.get("description"):
            att["description"] = meta["description"]
        return att

    def _attachments(
        self, channel_id: int, payload: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> list[Json]:
        metas: dict[str, Json] = {}
        for meta in payload.get("attachments") or []:
            if isinstance(meta, dict) and "id" in meta:
                metas[str(meta["id"])] = meta
        result = []
        for index, (field_name, filename, data) in enumerate(files):
            key = field_name[len("files[") : -1] if field_name.startswith("files[") else str(index)
            meta = metas.get(key)
            name = str(meta.get("filename") or filename) if meta else filename
            result.append(self._store_attachment(channel_id, name, data, meta))
        return result

    def _mentions(
        self, channel: FakeChannel, content: str, allowed: Json | None, replied: FakeUser | None
    ) -> tuple[list[Json], list[str], bool]:
        parse = (
            ["users", "roles", "everyone"] if allowed is None else list(allowed.get("parse") or [])
        )
        allowed_users = {str(u) for u in (allowed or {}).get("users") or []}
        allowed_roles = {str(r) for r in (allowed or {}).get("roles") or []}
        guild = self.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        mentions: list[Json] = []
        ids = [
            uid
            for uid in mentioned_user_ids(content)
            if uid in self.users and ("users" in parse or str(uid) in allowed_users)
        ]
        replied_user = True if allowed is None else bool(allowed.get("replied_user", False))
        if replied is not None and replied_user and replied.id not in ids:
            ids.append(replied.id)
        for uid in ids:
            data = self.users[uid].to_dict()
            if guild is not None and uid in guild.members:
                data["member"] = guild.members[uid].to_dict(with_user=False)
            mentions.append(data)
        roles = [
            str(r)
            for r in mentioned_role_ids(content)
            if guild is not None
            and r in guild.roles
            and ("roles" in parse or str(r) in allowed_roles)
        ]
        everyone = ("@everyone" in content or "@here" in content) and "everyone" in parse
        return mentions, roles, everyone

    def _create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        payload: Json,
        files: Sequence[tuple[str, str, bytes]],
        *,
        webhook: FakeWebhook | None = None,
        webhook_author: Json | None = None,
        message_type: int = MESSAGE_TYPE_DEFAULT,
        interaction: FakeInteraction | None = None,
    ) -> Json:
        self._validate(payload, files, edit=False)
        content = str(payload.get("content") or "")
        flags = int(payload.get("flags") or 0)
        ephemeral = interaction is not None and bool(flags & FLAG_EPHEMERAL)
        reference: Json | None = None
        referenced: Json | None = None
        ref = payload.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id") is not None and webhook is None:
            ref_channel = int(ref.get("channel_id") or channel.id)
            parent = self._messages.get(ref_channel, {}).get(int(ref["message_id"]))
            if parent is None:
                if ref.get("fail_if_not_exists", True):
                    raise ApiError(
                        400,
                        invalid_form(
                            "message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message"
                        ),
                    )
            else:
                reference = {
                    "type": 0,
                    "message_id": parent["id"],
                    "channel_id": parent["channel_id"],
                    "guild_id": None if channel.guild_id is None else str(channel.guild_id),
                }
                referenced = {k: v for k, v in parent.items() if k != "referenced_message"}
                message_type = MESSAGE_TYPE_REPLY
        replied = (
            self.users.get(int(referenced["author"]["id"])) if referenced is not None else None
        )
        if referenced is not None and "webhook_id" in referenced:
            replied = None
        allowed = payload.get("allowed_mentions")
        mentions, mention_roles, everyone = self._mentions(
            channel, content, allowed if isinstance(allowed, dict) else None, replied
        )
        message: Json = {
            "id": str(new_id()),
            "type": message_type,
            "channel_id": str(channel.id),
            "author": webhook_author if webhook_author is not None else author.to_dict(),
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(channel.id, payload, files),
            "embeds": list(payload.get("embeds") or []),
            "reactions": [],
            "pinned": False,
            "flags": flags & FLAG_EPHEMERAL if interaction is not None else 0,
            "components": list(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        if webhook is not None:
            message["webhook_id"] = str(webhook.id)
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": 2,
                "user": interaction.user.to_dict(),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
                "name": interaction.name,
                "command_type": 1,
            }
        if reference is not None:
            message["message_reference"] = reference
            message["referenced_message"] = referenced
        if ephemeral:
            self.ephemeral_messages[int(message["id"])] = message
            self._notify()
            return message
        self._messages.setdefault(channel.id, {})[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        self._broadcast(
            "MESSAGE_CREATE", self._message_event(message), intent=self._message_intent(channel)
        )
        self._notify()
        return message

    def _edit_message(
        self, message: Json, payload: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> Json:
        self._validate(payload, files, edit=True)
        channel = self.channels[int(message["channel_id"])]
        if "content" in payload:
            message["content"] = str(payload["content"] or "")
            allowed = payload.get("allowed_mentions")
            mentions, roles, everyone = self._mentions(
                channel, message["content"], allowed if isinstance(allowed, dict) else None, None
            )
            message.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        if "embeds" in payload:
            message["embeds"] = list(payload["embeds"] or [])
        if "components" in payload:
            message["components"] = list(payload["components"] or [])
        if "attachments" in payload or files:
            keep = {str(a["id"]) for a in payload.get("attachments") or [] if isinstance(a, dict)}
            kept = [a for a in message["attachments"] if a["id"] in keep]
            message["attachments"] = kept + self._attachments(channel.id, payload, files)
        message["edited_timestamp"] = now_iso()
        if int(message["id"]) in self.ephemeral_messages:
            self._notify()
            return message
        self._broadcast(
            "MESSAGE_UPDATE", self._message_event(message), intent=self._message_intent(channel)
        )
        self._notify()
        return message

    def _delete_message(self, message: Json) -> None:
        mid = int(message["id"])
        if self.ephemeral_messages.pop(mid, None) is not None:
            self._notify()
            return
        channel = self.channels[int(message["channel_id"])]
        del self._messages[channel.id][mid]
        self.deleted_messages.append(message)
        data: Json = {"id": message["id"], "channel_id": message["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self._broadcast("MESSAGE_DELETE", data, intent=self._message_intent(channel))
        self._notify()

    def _react(self, message: Json, user: FakeUser, emoji: str, *, add: bool) -> None:
        channel = self.channels[int(message["channel_id"])]
        emoji_data: Json
        if ":" in emoji:
            name, _, eid = emoji.partition(":")
            emoji_data = {"id": eid, "name": name}
        else:
            emoji_data = {"id": None, "name": emoji}
        reactors = self._reactors.setdefault(int(message["id"]), {})
        users = reactors.setdefault(emoji, [])
        if add == (user.id in users):
            return  # adding twice / removing what is not there changes nothing
        if add:
            users.append(user.id)
        else:
            users.remove(user.id)
        message["reactions"] = [
            {
                "emoji": {"id": None, "name": e}
                if ":" not in e
                else {"id": e.split(":")[1], "name": e.split(":")[0]},
                "count": len(u),
                "count_details": {"burst": 0, "normal": len(u)},
                "me": self.bot_user.id in u,
                "me_burst": False,
                "burst_colors": [],
            }
            for e, u in reactors.items()
            if u
        ]
        data: Json = {
            "user_id": str(user.id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "emoji": emoji_data,
            "burst": False,
            "type": 0,
        }
        intent = INTENT_DIRECT_MESSAGE_REACTIONS
        if channel.guild_id is not None:
            intent = INTENT_GUILD_MESSAGE_REACTIONS
            data["guild_id"] = str(channel.guild_id)
            member = self.guilds[channel.guild_id].members.get(user.id)
            if add and member is not None:
                data["member"] = member.to_dict()
        if add:
            data["message_author_id"] = message["author"]["id"]
            data["burst_colors"] = []
        self._broadcast(
            "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, intent=intent
        )

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

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)
        body = await _read_body(request)
        request[_BODY] = body
        path = (
            request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        )
        call = RestCall(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body.json,
            form=dict(body.form),
            files=list(body.files),
        )
        self.rest_calls.append(call)
        response: web.StreamResponse
        fault = self._take_fault(request.method, path)
        if fault is not None:
            response = _fault_response(fault)
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = json_response(exc.body, exc.status)
            except web.HTTPException:
                raise
        call.status = response.status
        self._notify()
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and _matches(fault.pattern, method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _require_bot(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise _error(401, 0, "401: Unauthorized")

    def _channel_from(self, request: web.Request) -> FakeChannel:
        channel = self.channels.get(_int(request.match_info["channel_id"]))
        if channel is None:
            raise _error(404, 10003, "Unknown Channel")
        return channel

    def _message_from(self, request: web.Request, channel: FakeChannel) -> Json:
        message = self._messages.get(channel.id, {}).get(_int(request.match_info["message_id"]))
        if message is None:
            raise _error(404, 10008, "Unknown Message")
        return message

    def _bot_permissions(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return EVERYONE_PERMISSIONS
        return self.guilds[channel.guild_id].permissions_of(self.bot_user.id)

    def _public(self, message: Json) -> Json:
        return {k: v for k, v in message.items() if not k.startswith("_")}

    # ------------------------------------------------------------------ REST handlers

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        stored = self._files.get(_int(request.match_info["att_id"]))
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.gateway_url.rstrip("/")})

    async def _get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {"url": self.gateway_url.rstrip("/"), "shards": 1, "session_start_limit": limit}
        )

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        uid = request.match_info["user_id"]
        if uid == "@me":
            data = self.bot_user.to_dict()
            data.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
            return json_response(data)
        user = self.users.get(_int(uid))
        if user is None:
            raise _error(404, 10013, "Unknown User")
        return json_response(user.to_dict())

    async def _get_application(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        flags = 0
        if self.granted_intents & INTENT_GUILD_MEMBERS:
            flags |= APP_FLAG_GUILD_MEMBERS_LIMITED
        if self.granted_intents & INTENT_GUILD_PRESENCES:
            flags |= APP_FLAG_PRESENCE_LIMITED
        if self.granted_intents & INTENT_MESSAGE_CONTENT:
            flags |= APP_FLAG_MESSAGE_CONTENT_LIMITED
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "Parley test application",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.to_dict(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": flags,
                "bot": self.bot_user.to_dict(),
                "summary": "",
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds),
            }
        )

    async def _create_dm(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        payload = request[_BODY].payload()
        user = self.users.get(_int(payload.get("recipient_id")))
        if user is None:
            raise ApiError(400, invalid_form("recipient_id", "NUMBER_TYPE_COERCE", "Unknown user"))
        return json_response(self.dm_channel(user).to_dict())

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        return json_response(self._channel_from(request).to_dict())

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        self._channel_from(request)
        return web.Response(status=204)

    async def _list_messages(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        limit = min(int(request.query.get("limit", "50")), 100)
        items = sorted(
            self._messages[channel.id].values(), key=lambda m: int(m["id"]), reverse=True
        )
        if "before" in request.query:
            items = [m for m in items if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            items = [m for m in items if int(m["id"]) > int(request.query["after"])]
            items = list(reversed(list(reversed(items))[:limit]))
        return json_response([self._public(m) for m in items[:limit]])

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        body: _Body = request[_BODY]
        message = self._create_message(channel, self.bot_user, body.payload(), body.files)
        return json_response(self._public(message))

    async def _get_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        return json_response(self._public(self._message_from(request, channel)))

    async def _patch_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        if message["author"]["id"] != str(self.bot_user.id) or "webhook_id" in message:
            raise _error(403, 50005, "Cannot edit a message authored by another user")
        body: _Body = request[_BODY]
        return json_response(self._public(self._edit_message(message, body.payload(), body.files)))

    async def _delete_message_route(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        own = message["author"]["id"] == str(self.bot_user.id) and "webhook_id" not in message
        if not own and not self._bot_permissions(channel) & MANAGE_MESSAGES:
            raise _error(403, 50013, "Missing Permissions")
        self._delete_message(message)
        return web.Response(status=204)

    async def _put_reaction(self, request: web.Request) -> web.StreamResponse:
        return await self._reaction_route(request, add=True)

    async def _delete_reaction(self, request: web.Request) -> web.StreamResponse:
        return await self._reaction_route(request, add=False)

    async def _reaction_route(self, request: web.Request, *, add: bool) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        emoji = unquote(request.match_info["emoji"])
        if not emoji:
            raise _error(400, 10014, "Unknown Emoji")
        self._react(message, self.bot_user, emoji, add=add)
        return web.Response(status=204)

    def _require_manage_webhooks(self, channel: FakeChannel) -> None:
        if not self._bot_permissions(channel) & MANAGE_WEBHOOKS:
            raise _error(403, 50013, "Missing Permissions")

    async def _list_channel_webhooks(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        self._require_manage_webhooks(channel)
        return json_response(
            [w.to_dict() for w in self.webhooks.values() if w.channel_id == channel.id]
        )

    async def _list_guild_webhooks(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise _error(404, 10004, "Unknown Guild")
        if not guild.permissions_of(self.bot_user.id) & MANAGE_WEBHOOKS:
            raise _error(403, 50013, "Missing Permissions")
        return json_response(
            [w.to_dict() for w in self.webhooks.values() if w.guild_id == guild.id]
        )

    async def _create_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        self._require_manage_webhooks(channel)
        payload = request[_BODY].payload()
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise ApiError(
                400,
                invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."),
            )
        _check_webhook_name("name", name)
        webhook = FakeWebhook(
            id=new_id(),
            token=new_token(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            name=name,
            avatar=_hash(payload["avatar"]) if payload.get("avatar") else None,
            creator=self.bot_user,
            application_id=self.application_id,
        )
        self.webhooks[webhook.id] = webhook
        return json_response(webhook.to_dict())

    async def _get_guild(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise _error(404, 10004, "Unknown Guild")
        data = guild.to_dict(bot_id=self.bot_user.id, include_all_members=False)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return json_response(data)

    async def _get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise _error(404, 10004, "Unknown Guild")
        return json_response([c.to_dict() for c in guild.channels.values()])

    async def _get_member(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(_int(request.match_info["guild_id"]))
        if guild is None:
            raise _error(404, 10004, "Unknown Guild")
        member = guild.members.get(_int(request.match_info["user_id"]))
        if member is None:
            raise _error(404, 10007, "Unknown Member")
        return json_response(member.to_dict())

    def _webhook_from(self, request: web.Request, *, check_token: bool) -> FakeWebhook:
        webhook = self.webhooks.get(_int(request.match_info["webhook_id"]))
        if webhook is None:
            raise _error(404, 10015, "Unknown Webhook")
        if check_token and request.match_info["token"] != webhook.token:
            raise _error(401, 50027, "Invalid Webhook Token")
        return webhook

    async def _get_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        return json_response(self._webhook_from(request, check_token=False).to_dict())

    async def _delete_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        webhook = self._webhook_from(request, check_token=False)
        self._require_manage_webhooks(self.channels[webhook.channel_id])
        del self.webhooks[webhook.id]
        return web.Response(status=204)

    async def _get_webhook_with_token(self, request: web.Request) -> web.StreamResponse:
        return json_response(self._webhook_from(request, check_token=True).to_dict(with_user=False))

    def _interaction_by_token(self, request: web.Request) -> FakeInteraction | None:
        if _int(request.match_info["webhook_id"]) != self.application_id:
            return None
        token = request.match_info["token"]
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        return None

    async def _execute_webhook(self, request: web.Request) -> web.StreamResponse:
        body: _Body = request[_BODY]
        payload = body.payload()
        wait = request.query.get("wait", "false").lower() in ("1", "true")
        interaction = self._interaction_by_token(request)
        if interaction is not None:
            return self._followup(interaction, payload, body, wait)
        webhook = self._webhook_from(request, check_token=True)
        username = payload.get("username")
        if username is not None:
            if not isinstance(username, str) or not 1 <= len(username) <= 80:
                raise ApiError(
                    400,
                    invalid_form(
                        "username", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."
                    ),
                )
            _check_webhook_name("username", username)
        avatar_url = payload.get("avatar_url")
        author = {
            "id": str(webhook.id),
            "username": username or webhook.name,
            "global_name": None,
            "discriminator": "0000",
            "avatar": _hash(avatar_url)
            if isinstance(avatar_url, str) and avatar_url
            else webhook.avatar,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
        }
        channel = self.channels[webhook.channel_id]
        execution = WebhookExecution(webhook.id, payload, [(f, d) for _, f, d in body.files], None)
        self.webhook_executions.append(execution)
        message = self._create_message(
            channel, self.bot_user, payload, body.files, webhook=webhook, webhook_author=author
        )
        execution.message = message
        if not wait:
            return web.Response(status=204)
        return json_response(self._public(message))

    def _webhook_message(self, request: web.Request) -> tuple[Json, FakeInteraction | None]:
        interaction = self._interaction_by_token(request)
        mid_text = request.match_info["message_id"]
        if interaction is not None:
            if mid_text == "@original":
                if interaction.original_message is None:
                    raise _error(404, 10008, "Unknown Message")
                return interaction.original_message, interaction
            mid = _int(mid_text)
            for resp in interaction.responses:
                if resp.message is not None and int(resp.message["id"]) == mid:
                    return resp.message, interaction
            raise _error(404, 10008, "Unknown Message")
        webhook = self._webhook_from(request, check_token=True)
        message = self._messages.get(webhook.channel_id, {}).get(_int(mid_text))
        if message is None or message.get("webhook_id") != str(webhook.id):
            raise _error(404, 10008, "Unknown Message")
        return message, None

    async def _get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message, _ = self._webhook_message(request)
        return json_response(self._public(message))

    async def _patch_webhook_message(self, request: web.Request) -> web.StreamResponse:
        body: _Body = request[_BODY]
        payload = body.payload()
        interaction = self._interaction_by_token(request)
        if (
            interaction is not None
            and request.match_info["message_id"] == "@original"
            and interaction.original_message is None
            and interaction.acknowledged
        ):
            # Editing a deferred response creates the message.
            deferred = next((r for r in interaction.responses if r.type == 5), None)
            flags = int((deferred.data if deferred else {}).get("flags") or 0)
            message = self._interaction_message(
                interaction, {**payload, "flags": flags}, body.files
            )
            interaction.original_message = message
            interaction.responses.append(
                InteractionResponse("edit_original", None, payload, message)
            )
            return json_response(self._public(message))
        message, interaction = self._webhook_message(request)
        edited = self._edit_message(message, payload, body.files)
        if interaction is not None:
            interaction.responses.append(InteractionResponse("edit", None, payload, edited))
        return json_response(self._public(edited))

    async def _delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message, _ = self._webhook_message(request)
        self._delete_message(message)
        return web.Response(status=204)

    # --- application commands and interactions

    async def _get_commands(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        scope = _int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        return json_response(self.commands.get(scope, []))

    async def _put_commands(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        if _int(request.match_info["app_id"]) != self.application_id:
            raise _error(403, 50035, "Invalid application")
        scope = _int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        if scope is not None and scope not in self.guilds:
            raise _error(404, 10004, "Unknown Guild")
        body: _Body = request[_BODY]
        items = body.json if isinstance(body.json, list) else []
        existing = {(c["name"], c["type"]): c for c in self.commands.get(scope, [])}
        result: list[Json] = []
        for index, item in enumerate(items):
            name = str(item.get("name", ""))
            ctype = int(item.get("type", 1))
            if not _COMMAND_NAME_RE.match(name) or (ctype == 1 and name != name.lower()):
                raise ApiError(
                    400,
                    {
                        "message": "Invalid Form Body",
                        "code": 50035,
                        "errors": {str(index): {"name": {}}},
                    },
                )
            old = existing.get((name, ctype))
            command: Json = {
                "id": old["id"] if old else str(new_id()),
                "application_id": str(self.application_id),
                "version": str(new_id()),
                "type": ctype,
                "name": name,
                "description": item.get("description", ""),
                "options": item.get("options", []),
                "default_member_permissions": item.get("default_member_permissions"),
                "dm_permission": item.get("dm_permission", True),
                "nsfw": item.get("nsfw", False),
                "contexts": item.get("contexts"),
                "integration_types": item.get("integration_types", [0]),
                "name_localizations": item.get("name_localizations"),
                "description_localizations": item.get("description_localizations"),
            }
            if scope is not None:
                command["guild_id"] = str(scope)
            result.append(command)
        self.commands[scope] = result
        return json_response(result)

    def _interaction_message(
        self, interaction: FakeInteraction, data: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> Json:
        channel = self.channels[interaction.channel_id]
        return self._create_message(
            channel,
            self.bot_user,
            data,
            files,
            message_type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
            interaction=interaction,
        )

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        interaction = self.interactions.get(_int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise _error(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise _error(400, 40060, "Interaction has already been acknowledged.")
        body: _Body = request[_BODY]
        payload = body.payload()
        rtype = int(payload.get("type", 0))
        data = payload.get("data") or {}
        if rtype not in (1, 4, 5, 6, 7, 8, 9, 10, 12):
            raise ApiError(
                400,
                invalid_form("type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, ...}."),
            )
        message: Json | None = None
        if rtype == 4:
            message = self._interaction_message(interaction, data, body.files)
            interaction.original_message = message
        interaction.acknowledged = True
        interaction.responses.append(InteractionResponse("callback", rtype, data, message))
        self._notify()
        if request.query.get("with_response", "false").lower() not in ("1", "true"):
            return web.Response(status=204)
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        info: Json = {
            "id": str(interaction.id),
            "type": 2,
            "response_message_loading": rtype == 5,
            "response_message_ephemeral": ephemeral,
        }
        result: Json = {"interaction": info}
        if message is not None:
            info["response_message_id"] = message["id"]
            result["resource"] = {"type": rtype, "message": self._public(message)}
        else:
            result["resource"] = {"type": rtype}
        return json_response(result)

    def _followup(
        self, interaction: FakeInteraction, payload: Json, body: _Body, wait: bool
    ) -> web.StreamResponse:
        if not interaction.acknowledged:
            raise _error(404, 10015, "Unknown Webhook")
        message = self._interaction_message(interaction, payload, body.files)
        interaction.responses.append(InteractionResponse("followup", None, payload, message))
        if not wait:
            return web.Response(status=204)
        return json_response(self._public(message))

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = _Connection(ws, request)
        self._connections.append(conn)
        conn.send(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    self.gateway_received.append(frame)
                    self._on_frame(conn, frame)
                    self._notify()
        finally:
            await conn.finish()
            self._connections.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if not conn.server_closed and ws.close_code in (1000, 1001):
                    # A client's clean close ends its session, as on Discord.
                    self._sessions.pop(session.id, None)
            self._notify()
        return ws

    def _on_frame(self, conn: _Connection, frame: Json) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op == 1:
            conn.send(json.dumps({"op": 11}))
        elif op == 2 and isinstance(data, dict):
            self._identify(conn, data)
        elif op == 6 and isinstance(data, dict):
            self._resume(conn, data)
        elif op == 8 and isinstance(data, dict):
            if conn.session is None:
                conn.close(4003, "Not authenticated.")
            else:
                self._request_members(conn.session, data)
        elif op in (3, 4):
            pass  # presence / voice state updates: accepted and ignored
        else:
            conn.close(4001, "Unknown opcode.")

    def _identify(self, conn: _Connection, data: Json) -> None:
        self.identifies.append(data)
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.granted_intents:
            conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        session = _Session(
            id=uuid.uuid4().hex, intents=intents, shard=shard if isinstance(shard, list) else None
        )
        self._sessions[session.id] = session
        session.conn = conn
        conn.session = session
        me = self.bot_user.to_dict()
        me.update(verified=True, mfa_enabled=False, email=None)
        flags = 0
        if self.granted_intents & INTENT_MESSAGE_CONTENT:
            flags |= APP_FLAG_MESSAGE_CONTENT_LIMITED
        if self.granted_intents & INTENT_GUILD_MEMBERS:
            flags |= APP_FLAG_GUILD_MEMBERS_LIMITED
        ready: Json = {
            "v": 10,
            "user": me,
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self._dispatch_to(session, "READY", ready)
        if intents & 1:  # GUILDS
            for guild in self.guilds.values():
                payload = guild.to_dict(
                    bot_id=self.bot_user.id, include_all_members=self.members_in_guild_create
                )
                self._dispatch_to(session, "GUILD_CREATE", payload)

    def _resume(self, conn: _Connection, data: Json) -> None:
        self.resumes.append(data)
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            conn.send(json.dumps({"op": 9, "d": False}))
            return
        old = session.conn
        if old is not None and old is not conn:
            old.close(4000, "Session resumed elsewhere.")
        session.conn = conn
        conn.session = session
        seq = data.get("seq") or 0
        for s, frame in session.log:
            if s > seq:
                conn.send(frame)
        self._dispatch_to(session, "RESUMED", {})

    def _request_members(self, session: _Session, data: Json) -> None:
        guild = self.guilds.get(_int(data.get("guild_id")))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m.user.username.lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": [m.to_dict() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeDiscord]:
        """``async with fake.running():`` == start + patched + stop."""
        await self.start()
        try:
            with self.patched():
                yield self
        finally:
            await self.stop()


# ---------------------------------------------------------------------- module helpers


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _error(404, 0, "404: Not Found") from None


def _hash(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _matches(pattern: str, method: str, path: str) -> bool:
    return fnmatch.fnmatchcase(f"{method} {path}", pattern) or fnmatch.fnmatchcase(path, pattern)


def _check_webhook_name(field_name: str, name: str) -> None:
    lowered = name.lower()
    for banned in ("discord", "clyde"):
        if banned in lowered:
            raise ApiError(
                400,
                invalid_form(
                    field_name, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{banned}"'
                ),
            )


def _fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        body = fault.body or {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
        }
        headers = {
            "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        if fault.via:
            headers["Via"] = "1.1 google"
        return json_response(body, 429, headers)
    body = fault.body or {"message": f"{fault.status}: Server Error", "code": 0}
    return json_response(body, fault.status)


async def _read_body(request: web.Request) -> _Body:
    body = _Body()
    if not request.can_read_body:
        return body
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: Discord does not use it
            name = part.name or ""
            data = await part.read(decode=False)
            if part.filename is not None:
                body.files.append((name, part.filename, bytes(data)))
            else:
                body.form[name] = bytes(data).decode()
        return body
    raw = await request.read()
    if content_type == "application/json" and raw:
        body.json = json.loads(raw)
    elif content_type == "application/x-www-form-urlencoded":
        body.form = {k: str(v) for k, v in (await request.post()).items()}
    return body
