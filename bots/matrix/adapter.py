"""The Matrix adapter: an application service, with a puppet per bridged person.

Outbound, every relayed message is sent by its author's puppet (``bots.matrix.puppets``), so
Matrix shows each person with their own name and avatar; replies, edits (``m.replace``),
reactions (``m.annotation``) and redactions are native. The outbox's idempotency key is the
Matrix transaction id, so a send repeated after a crash returns the first event instead of
posting twice. Inbound, the homeserver pushes transactions to ``bots.matrix.listener``; the
events are converted by ``bots.matrix.events`` and handed to the sink before the transaction
is acknowledged; ``!commands`` become ``Command`` events (``bots.matrix.commands``). Files go
through ``bots.matrix.media``; private messages through a direct room per person
(``bots.matrix.direct``).

The client side is mautrix-python's appservice API (``AppServiceAPI``/``IntentAPI``), the one
Matrix bridges are built on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final

import aiohttp
from mautrix.api import Method, Path
from mautrix.appservice import AppServiceAPI, ASStateStore, IntentAPI
from mautrix.client.state_store import MemoryStateStore
from mautrix.errors import (
    IntentError,
    MatrixConnectionError,
    MatrixRequestError,
    MLimitExceeded,
    MNotFound,
)
from mautrix.types import EventID, EventType, RoomID, UserID

from bots.matrix.commands import POST_ERRORS, MatrixCommands
from bots.matrix.direct import DirectRooms
from bots.matrix.events import EventReader, prune_reactions
from bots.matrix.formatting import HTML_FORMAT, to_matrix
from bots.matrix.listener import TransactionListener
from bots.matrix.media import MatrixMedia
from bots.matrix.puppets import Puppets
from bridge.commands import CommandSpec
from bridge.formatting import split_rich
from bridge.model import (
    Adapter,
    Author,
    Capabilities,
    ChatId,
    ChatRef,
    DeliveryError,
    Feature,
    InboundSink,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    RetryableError,
    RichText,
)
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchPolicy
from bridge.store.platform_kv import PlatformKv
from bridge.tasks import cancel_and_wait

__all__ = ["MAX_TEXT", "MatrixAdapter"]

log = logging.getLogger(__name__)

# An event is at most 65,536 bytes of JSON; the body and its HTML both count. 16,000 code
# points leave room for both, even in 4-byte scripts... mostly: longer parts are split again.
MAX_TEXT: Final = 16_000
_PING_EVERY: Final = 6  # health intervals (30 s by default)


class MatrixAdapter(Adapter):
    platform: ClassVar = "matrix"
    capabilities: ClassVar = Capabilities(
        Feature.EDIT
        | Feature.DELETE
        | Feature.REPLY
        | Feature.REACT
        | Feature.IDENTITY
        | Feature.ATTACHMENTS
        | Feature.PRIVATE_MESSAGES,
        MAX_TEXT,
    )

    def __init__(
        self,
        *,
        homeserver_url: str,
        server_name: str,
        as_token: str,
        hs_token: str,
        rooms: Iterable[str],
        listen_host: str = "127.0.0.1",
        listen_port: int = 29330,
        bot_localpart: str = "parley",
        appservice_id: str = "parley",
        puppet_prefix: str = "parley_",
        admins: Iterable[str] = (),
        commands: Sequence[CommandSpec] = (),
        own_avatar_prefix: str | None = None,
        fetch_policy: FetchPolicy = DEFAULT_POLICY,
        max_attachment_bytes: int = 20 * 1024 * 1024,
        request_timeout: float = 30.0,
        health_interval: float = 5.0,
        kv: PlatformKv | None = None,
    ) -> None:
        self._homeserver = homeserver_url.rstrip("/")
        self._server_name = server_name
        self._as_token = as_token
        self._rooms = {RoomID(r) for r in rooms}
        self._bot_mxid = UserID(f"@{bot_localpart}:{server_name}")
        self._prefix = puppet_prefix
        self._appservice_id = appservice_id
        self._own_avatar_prefix = own_avatar_prefix
        self._policy = fetch_policy
        self._max_attachment = max_attachment_bytes
        self._timeout = request_timeout
        self._media = MatrixMedia(
            lambda: self._session,
            homeserver_url=self._homeserver,
            as_token=as_token,
            fetch_policy=fetch_policy,
            max_bytes=max_attachment_bytes,
            timeout=request_timeout,
        )
        self._health_interval = health_interval
        self._kv = kv
        self._admins = frozenset(admins)
        self._commands = MatrixCommands(self, commands, self._admins)
        self._direct = DirectRooms(kv)
        self._listen_port = listen_port
        self._listener = TransactionListener(hs_token, self._on_events, listen_host, listen_port)
        self._session: aiohttp.ClientSession | None = None
        self._bot: IntentAPI | None = None
        self._puppets: Puppets | None = None
        self._reader: EventReader | None = None
        self._connected = False
        self._health_task: asyncio.Task[None] | None = None
        self._last_ping = 0.0
        self._last_error: str | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def listen_port(self) -> int:
        return self._listener.server.port

    @property
    def requested_port(self) -> int:
        """The configured port (known before ``start``, unlike ``listen_port`` for 0)."""
        return self._listen_port

    @property
    def bot(self) -> IntentAPI:
        if self._bot is None:
            raise RuntimeError("the Matrix adapter is not running")
        return self._bot

    @property
    def puppets(self) -> Puppets:
        if self._puppets is None:
            raise RuntimeError("the Matrix adapter is not running")
        return self._puppets

    async def start(self, sink: InboundSink) -> None:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        self._session = aiohttp.ClientSession(timeout=timeout)
        api = AppServiceAPI(
            base_url=self._homeserver,
            bot_mxid=self._bot_mxid,
            token=self._as_token,
            log=logging.getLogger("parley.matrix.api"),  # type: ignore[arg-type]
            state_store=_StateStore(),
            client_session=self._session,
            default_retry_count=0,  # the outbox retries, with its own backoff and limits
        )
        self._bot = api.bot_intent()
        self._puppets = Puppets(
            self._bot,
            server_name=self._server_name,
            prefix=self._prefix,
            own_avatar_prefix=self._own_avatar_prefix,
            avatar_policy=self._policy,
        )
        self._reader = EventReader(
            self,
            sink,
            bot_mxid=self._bot_mxid,
            commands=self._commands,
            admins=self._admins,
            max_attachment_bytes=self._max_attachment,
            kv=self._kv,
        )
        try:
            if self._kv is not None:
                await prune_reactions(self._kv)
            await self._listener.start()
            await self._check_homeserver()
        except BaseException:
            await self.stop()
            raise
        self._health_task = asyncio.create_task(self._health_loop(), name="matrix-health")
        for room in sorted(self._rooms):
            await self._join(room)

    async def stop(self) -> None:
        task, self._health_task = self._health_task, None
        if task is not None:
            await cancel_and_wait(task)
        await self._listener.stop()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self._connected = False

    def is_connected(self) -> bool:
        return self._connected

    @property
    def last_error(self) -> str | None:
        return self._last_error

    async def _check_homeserver(self) -> None:
        try:
            await self.bot.ensure_registered()
            await self.bot.whoami()
        except (MatrixConnectionError, aiohttp.ClientError, TimeoutError) as exc:
            self._disconnected(exc)
            return
        self._connected = True
        self._last_error = None
        await self._ping()

    async def _ping(self) -> None:
        """Have the homeserver call our listener. A homeserver that failed to push to us
        backs off (Synapse up to 8.5 minutes) and resends only at the end of it; a successful
        ping makes it resend now. Pushes can fail after a start-up ping too (a transaction in
        flight while the previous process stopped), so the health loop pings now and then."""
        self._last_ping = time.monotonic()
        try:
            await self.bot.appservice_ping(self._appservice_id)
        except (MatrixRequestError, MatrixConnectionError, aiohttp.ClientError) as exc:
            log.warning("the homeserver could not reach the appservice listener: %s", exc)

    def _disconnected(self, exc: BaseException) -> None:
        self._connected = False
        self._last_error = f"{type(exc).__name__}: {exc}"[:300]

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._health_interval)
            if not self._connected:
                await self._check_homeserver()
                if self._connected:
                    for room in sorted(self._rooms):
                        await self._join(room)
            elif time.monotonic() - self._last_ping >= self._health_interval * _PING_EVERY:
                await self._ping()

    async def _join(self, room: RoomID) -> None:
        try:
            await self.bot.join_room(room, max_retries=0)
        except (MatrixRequestError, MatrixConnectionError, aiohttp.ClientError) as exc:
            # Not invited yet: the bot joins when the invite arrives (see EventReader).
            log.warning("the Matrix bot could not join %s: %s", room, exc)

    def serves(self, room: str) -> bool:
        return room in self._rooms

    def join_chat(self, chat: ChatRef) -> None:
        # A room added at run time: the bot accepts its invite and rejoins it on reconnect.
        self._rooms.add(RoomID(chat.chat_id))

    def leave_chat(self, chat: ChatRef) -> None:
        self._rooms.discard(RoomID(chat.chat_id))

    # --- outbound ----------------------------------------------------------------------------

    async def _intent_for(self, author: Author, *, announcement: bool) -> IntentAPI:
        if announcement:
            return self.bot
        return await self.puppets.intent(author)

    async def send(self, delivery: OutboundMessage) -> NativeId:
        room = RoomID(delivery.target.chat_id)
        async with self._errors():
            intent = await self._intent_for(delivery.author, announcement=delivery.is_announcement)
            await intent.ensure_joined(room)
            first: EventID | None = None
            ts = int(delivery.sent_at.timestamp() * 1000)
            parts = split_rich(delivery.text, MAX_TEXT) if delivery.text.text.strip() else []
            for index, part in enumerate(parts):
                content = _text_content(part, notice=delivery.is_announcement)
                if index == 0 and delivery.reply_to is not None:
                    content["m.relates_to"] = {"m.in_reply_to": {"event_id": delivery.reply_to}}
                event_id = await intent.send_message_event(
                    room,
                    EventType.ROOM_MESSAGE,
                    content,  # type: ignore[arg-type]
                    txn_id=f"{delivery.idempotency_key}.t{index}",
                    timestamp=ts,
                )
                first = first or event_id
            for index, attachment in enumerate(delivery.attachments):
                content = await self._media.content(intent, attachment)
                if first is None and delivery.reply_to is not None:
                    content["m.relates_to"] = {"m.in_reply_to": {"event_id": delivery.reply_to}}
                event_id = await intent.send_message_event(
                    room,
                    EventType.ROOM_MESSAGE,
                    content,  # type: ignore[arg-type]
                    txn_id=f"{delivery.idempotency_key}.a{index}",
                    timestamp=ts,
                )
                first = first or event_id
        if first is None:
            raise PermanentError("nothing to send: no text and no attachments")
        return NativeId(first)

    async def edit(self, delivery: OutboundEdit) -> None:
        room = RoomID(delivery.target.chat_id)
        announcement = delivery.source == delivery.target
        async with self._errors():
            intent = await self._intent_for(delivery.author, announcement=announcement)
            # An edit replaces the whole text: only what fits one event is kept.
            parts = split_rich(delivery.text, MAX_TEXT) or [RichText("")]
            new = _text_content(parts[0], notice=announcement)
            content: dict[str, Any] = {
                "msgtype": new["msgtype"],
                "body": f"* {new['body']}",
                "m.new_content": new,
                "m.relates_to": {"rel_type": "m.replace", "event_id": delivery.native_id},
            }
            if "formatted_body" in new:
                content["format"] = HTML_FORMAT
                content["formatted_body"] = f"* {new['formatted_body']}"
            await intent.send_message_event(
                room,
                EventType.ROOM_MESSAGE,
                content,  # type: ignore[arg-type]
                txn_id=delivery.idempotency_key,
            )

    async def delete(self, delivery: OutboundDelete) -> None:
        room = RoomID(delivery.target.chat_id)
        event_id = EventID(delivery.native_id)
        async with self._errors():
            try:
                event = await self.bot.api.request(Method.GET, Path.v3.rooms[room].event[event_id])
            except MNotFound:
                return  # already gone
            if not event.get("content") and "redacted_because" in event.get("unsigned", {}):
                return
            sender = str(event.get("sender", ""))
            # A puppet redacts its own message; anything else needs the bot's power level.
            intent = self.bot.user(UserID(sender)) if self.puppets.is_ours(sender) else self.bot
            await intent.redact(room, event_id)

    async def react(self, delivery: OutboundReaction) -> None:
        room = RoomID(delivery.target.chat_id)
        target = EventID(delivery.native_id)
        async with self._errors():
            intent = await self.puppets.intent(delivery.author)
            await intent.ensure_joined(room)
            if delivery.added:
                content = {
                    "m.relates_to": {
                        "rel_type": "m.annotation",
                        "event_id": target,
                        "key": delivery.emoji,
                    }
                }
                try:
                    await intent.send_message_event(
                        room,
                        EventType.REACTION,
                        content,  # type: ignore[arg-type]
                        txn_id=delivery.idempotency_key,
                    )
                except MatrixRequestError as exc:
                    if exc.errcode != "M_DUPLICATE_ANNOTATION":
                        raise
                return
            for reaction in await self._own_reactions(room, target, intent.mxid, delivery.emoji):
                await intent.redact(room, reaction)

    async def _own_reactions(
        self, room: RoomID, target: EventID, sender: UserID, key: str
    ) -> list[EventID]:
        path = Path.v1.rooms[room].relations[target]["m.annotation"]["m.reaction"]
        found: list[EventID] = []
        reply = await self.bot.api.request(Method.GET, path, query_params={"limit": "100"})
        for event in reply.get("chunk", []):
            relates = event.get("content", {}).get("m.relates_to", {})
            if event.get("sender") == sender and relates.get("key") == key:
                found.append(EventID(event["event_id"]))
        return found

    def _errors(self) -> _DeliveryErrors:
        return _DeliveryErrors(self)

    async def say(self, room: RoomID, text: str) -> None:
        """A notice from the bot (command replies, private messages)."""
        await self.bot.send_message_event(
            room,
            EventType.ROOM_MESSAGE,
            {"msgtype": "m.notice", "body": text[:MAX_TEXT]},  # type: ignore[arg-type]
        )

    async def say_in_chat(self, chat_id: str, text: str) -> bool:
        if not chat_id.startswith("!"):
            return False
        try:
            await self.say(RoomID(chat_id), text)
        except POST_ERRORS as exc:
            log.warning("could not post in %s: %s", chat_id, exc)
            return False
        return True

    async def send_private(self, user_id: str, text: str) -> bool:
        """A notice in the user's direct room with the bot (made on first use, then reused);
        False for a user the bot cannot reach (unknown, refuses invites) or one of ours."""
        if not self._direct.valid_user(user_id) or self._is_ours(user_id):
            return False
        try:
            room = await self._direct.room_for(self.bot, user_id)
            await self.say(room, text)
        except POST_ERRORS as exc:
            log.warning("private message to %s not sent: %s", user_id, exc)
            return False
        return True

    async def is_direct(self, room: str, user_id: str) -> bool:
        """Whether ``room`` is the bot's direct room with ``user_id``."""
        return await self._direct.known(user_id) == room

    def _is_ours(self, user_id: str) -> bool:
        return user_id == self._bot_mxid or self.puppets.is_ours(user_id)

    # --- inbound -----------------------------------------------------------------------------

    async def _on_events(self, events: list[dict[str, Any]]) -> None:
        reader = self._reader
        if reader is None:
            raise RuntimeError("not started")
        for event in events:
            await reader.handle(event)

    async def download(self, mxc: str) -> bytes | None:
        return await self._media.download(mxc)

    def chat(self, room: str) -> ChatRef:
        return ChatRef("matrix", ChatId(room))


class _StateStore(MemoryStateStore, ASStateStore):
    """mautrix's membership and power-level cache, in memory: rebuilt from the homeserver
    after a restart (registration answers M_USER_IN_USE, joins answer already-joined)."""

    def __init__(self) -> None:
        MemoryStateStore.__init__(self)
        ASStateStore.__init__(self)


class _DeliveryErrors:
    """Maps the homeserver's answers to the outbox's two kinds of failure."""

    def __init__(self, adapter: MatrixAdapter) -> None:
        self._adapter = adapter

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> bool:
        if exc is None:
            self._adapter._connected = True
            return False
        if isinstance(exc, DeliveryError):
            return False
        if isinstance(exc, MLimitExceeded):
            # mautrix keeps neither retry_after_ms nor Retry-After: the outbox backs off.
            raise RetryableError("rate limited by the homeserver") from exc
        if isinstance(exc, MatrixRequestError):
            status = exc.http_status
            reason = f"{status} {exc.errcode}: {exc.message}"[:300]
            if status >= 500 or status in (408, 429):
                raise RetryableError(reason) from exc
            raise PermanentError(reason) from exc
        if isinstance(exc, IntentError):
            raise PermanentError(f"{exc}: {exc.__cause__}"[:300]) from exc
        if isinstance(exc, MatrixConnectionError | aiohttp.ClientError | TimeoutError):
            self._adapter._disconnected(exc)
            raise RetryableError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return False


def _text_content(rt: RichText, *, notice: bool) -> dict[str, Any]:
    body, html = to_matrix(rt)
    content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": body}
    if html is not None:
        content["format"] = HTML_FORMAT
        content["formatted_body"] = html
    return content
