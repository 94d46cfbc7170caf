"""State of the Discord stand-in: the world, the sessions, lookups and dispatch to sessions."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.discord_http import API_PREFIX, api_error, to_int
from tests.fakes.discord_models import (
    CHANNEL_TYPE_DM,
    EVERYONE_PERMISSIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeUser,
    FakeWebhook,
    Fault,
    Json,
    RestCall,
    StoredFile,
    WebhookExecution,
    new_id,
)


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


class Connection:
    """One gateway websocket; frames go through a queue so that their order is kept."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.query = dict(request.query)
        self.session: Session | None = None
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
class Session:
    id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    conn: Connection | None = None


class DiscordCore:
    """The fake's state (one bot application's world), lookups and gateway dispatch."""

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
        self._sessions: dict[str, Session] = {}
        self._connections: list[Connection] = []
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

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

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

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

    def _broadcast(self, event: str, data: Json, *, intent: int | None) -> None:
        for session in list(self._sessions.values()):
            if intent is not None and not session.intents & intent:
                continue
            self._dispatch_to(session, event, self._adjust_for(session, event, data))

    def _adjust_for(self, session: Session, event: str, data: Json) -> Json:
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

    def _dispatch_to(self, session: Session, event: str, data: Json) -> None:
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

    def _require_bot(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise api_error(401, 0, "401: Unauthorized")

    def _channel_from(self, request: web.Request) -> FakeChannel:
        channel = self.channels.get(to_int(request.match_info["channel_id"]))
        if channel is None:
            raise api_error(404, 10003, "Unknown Channel")
        return channel

    def _message_from(self, request: web.Request, channel: FakeChannel) -> Json:
        message = self._messages.get(channel.id, {}).get(to_int(request.match_info["message_id"]))
        if message is None:
            raise api_error(404, 10008, "Unknown Message")
        return message

    def _bot_permissions(self, channel: FakeChannel) -> int:
        if channel.guild_id is None:
            return EVERYONE_PERMISSIONS
        return self.guilds[channel.guild_id].permissions_of(self.bot_user.id)

    def _public(self, message: Json) -> Json:
        return {k: v for k, v in message.items() if not k.startswith("_")}
