"""The relay's chat commands: ``/rooms``, ``/delete`` and the admin-only ``/room``
(``join``/``create``/``leave``/``status``). Rooms made with ``/room join`` are kept in the
store (``bridge.store.rooms``); what ``/room status`` reads of the outbox is in
``bridge.store.room_health``."""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import secrets
import time
from collections.abc import Mapping
from typing import Protocol

from bridge.commands import (
    CommandOption,
    CommandReply,
    CommandRequest,
    Commands,
    CommandSpec,
    UsageError,
)
from bridge.host import Host
from bridge.model import (
    Adapter,
    ChatRef,
    DeleteMessage,
    MessageId,
    NativeId,
    OutboundDelete,
    Platform,
)
from bridge.router import Room, Router
from bridge.store import outbox_rows, room_health
from bridge.store import rooms as room_store

__all__ = ["DELETE_SPEC", "ROOMS_SPEC", "ROOM_SPEC", "RoomCommands", "install_room_commands"]

log = logging.getLogger(__name__)


class RelayView(Protocol):
    """The relay as these commands see it (``bridge.relay.Relay`` is one)."""

    @property
    def bridge_name(self) -> str: ...

    @property
    def router(self) -> Router: ...

    @property
    def adapters(self) -> Mapping[Platform, Adapter]: ...

    def is_config_chat(self, chat: ChatRef) -> bool: ...


class RoomCommands:
    def __init__(self, host: Host, relay: RelayView) -> None:
        self._host = host
        self._relay = relay

    def register(self, commands: Commands) -> None:
        commands.register(ROOMS_SPEC, self._cmd_rooms)
        commands.register(DELETE_SPEC, self._cmd_delete)
        commands.register(ROOM_SPEC, self._cmd_room)

    async def _cmd_rooms(self, request: CommandRequest) -> CommandReply:
        rooms = self._relay.router.rooms
        if not rooms:
            return CommandReply("This bridge has no rooms yet.")
        here = self._relay.router.room_of(request.chat)
        lines = [f"{self._relay.bridge_name} rooms:"]
        for room in sorted(rooms, key=lambda r: r.name):
            mark = " (this chat)" if here is not None and here.name == room.name else ""
            if request.is_admin:
                chats = ", ".join(str(c) for c in room.members) or "no chats"
            else:
                counts = collections.Counter(c.platform for c in room.members)
                chats = (
                    ", ".join(p if n == 1 else f"{p} ×{n}" for p, n in counts.items() if n)
                    or "no chats"
                )
            lines.append(f"• {room.name}{mark}: {chats}")
            lines += [f"  {detail}" for detail in self._chat_details(room)]
        return CommandReply("\n".join(lines))

    def _chat_details(self, room: Room, platform: Platform | None = None) -> list[str]:
        # Platform state of the room's chats an adapter reports (a community's admission).
        lines = []
        for chat in room.members:
            adapter = self._relay.adapters.get(chat.platform)
            if adapter is None or platform not in (None, chat.platform):
                continue
            detail = adapter.chat_detail(chat)
            if detail:
                lines.append(detail)
        return lines

    async def _cmd_delete(self, request: CommandRequest) -> CommandReply:
        native = request.reply_to
        if native is None and request.args:
            # Discord slash commands cannot reply: take a message id or link instead.
            native = NativeId(request.args[0].rstrip("/").rsplit("/", 1)[-1])
        if native is None:
            raise UsageError("Reply to the message you want to delete.")
        stored = await self._relay.router.lookup(request.chat, native)
        if stored is None:
            return CommandReply("The bridge did not relay that message.")
        own = (
            stored.author.platform == request.author.platform
            and stored.author.user_id == request.author.user_id
        )
        if not (own or request.is_admin):
            return CommandReply("Only the message's author or a bridge admin can delete it.")
        since = await outbox_rows.last_id(self._host.store.db)
        await self._relay.router.handle(DeleteMessage(stored.source, stored.native_id))
        # The copies go through the outbox; the original and the command are ours to try.
        results: dict[ChatRef, str | None] = {}
        if stored.source.platform != "waku":
            results[stored.source] = await self._try_delete(stored.source, stored.native_id)
        if request.native_id is not None:
            await self._try_delete(request.chat, request.native_id)
        for target, state, error in await self._wait_outcomes(stored.id, since):
            results[target] = (
                None
                if state in ("delivered", "skipped")
                else ("still trying" if state in ("pending", "sending") else (error or "failed"))
            )
        return CommandReply(_delete_report(results))

    async def _wait_outcomes(
        self, message_id: MessageId, since: int
    ) -> list[tuple[ChatRef, outbox_rows.OutboxState, str | None]]:
        """The delete rows' outcomes, once all are final or ``_DELETE_WAIT`` seconds passed."""
        db = self._host.store.db
        deadline = time.monotonic() + _DELETE_WAIT
        while True:
            found = await outbox_rows.outcomes(db, message_id, "delete", since)
            if time.monotonic() >= deadline or all(
                state not in ("pending", "sending") for _, state, _ in found
            ):
                return found
            await asyncio.sleep(0.05)

    async def _try_delete(self, chat: ChatRef, native: NativeId) -> str | None:
        """Delete one message now; None when it went, else why not."""
        adapter = self._relay.adapters.get(chat.platform)
        if adapter is None:
            return "not connected"
        key = f"cmd-delete-{secrets.token_hex(6)}"
        try:
            await adapter.delete(OutboundDelete(target=chat, idempotency_key=key, native_id=native))
        except Exception as exc:  # no rights (Telegram needs admin), already gone, ...
            log.info("could not delete %s in %s: %s", native, chat, exc)
            return str(exc) or type(exc).__name__
        return None

    async def _cmd_room(self, request: CommandRequest) -> CommandReply:
        action = request.args[0].lower() if request.args else ""
        if action in ("join", "create"):
            if len(request.args) < 2:
                raise UsageError(f"Name the room to {action}.")
            return await self._room_join(request, request.args[1], create=action == "create")
        if action == "leave":
            return await self._room_leave(request)
        if action == "status":
            return await self._room_status(request)
        raise UsageError("Say join, create, leave or status.")

    async def _room_join(
        self, request: CommandRequest, name: str, *, create: bool = False
    ) -> CommandReply:
        if _ROOM_NAME.fullmatch(name) is None:
            raise UsageError("Room names are letters, digits, '.', '_' and '-'.")
        chat = request.chat
        current = self._relay.router.room_of(chat)
        if current is not None:
            if current.name == name:
                return CommandReply(f"This chat is already in room {name}.")
            where = "in the config" if self._relay.is_config_chat(chat) else "with /room join"
            return CommandReply(
                f"This chat is already in room {current.name} ({where}); /room leave first.",
                private=True,
            )
        if chat.platform == "waku":
            return CommandReply("Waku rooms are set in the config.", private=True)
        created = self._relay.router.room(name) is None
        # A typo must not make a room nobody else is in: a new room is made only on request.
        if created and not create:
            return CommandReply(
                f"There is no room {name}. /rooms lists them; /room create {name} makes a new one."
            )
        if create and not created:
            return CommandReply(f"Room {name} exists already; /room join {name} joins it.")
        async with self._host.store.transaction() as db:
            by = f"{request.author.platform}:{request.author.user_id}"
            await room_store.add(db, name, chat, by, time.time())
        self._relay.router.add_member(name, chat)
        self._watch(chat, True)
        return CommandReply(
            f"This chat joined room {name}" + (" (a new room)." if created else ".")
        )

    async def _room_leave(self, request: CommandRequest) -> CommandReply:
        chat = request.chat
        room = self._relay.router.room_of(chat)
        if room is None:
            return CommandReply("This chat is in no room.", private=True)
        if self._relay.is_config_chat(chat):
            return CommandReply(
                f"This chat is in room {room.name} by the config file; change it there.",
                private=True,
            )
        async with self._host.store.transaction() as db:
            await room_store.remove(db, chat)
        self._relay.router.remove_member(chat)
        self._watch(chat, False)
        return CommandReply(f"This chat left room {room.name}.")

    async def _recent_failures(self, chats: list[ChatRef]) -> list[str]:
        """Delivery errors of the last hour, per platform: attempts that failed (retried, or
        given up), also when a later attempt went through, and the latest error."""
        found = await room_health.recent_failures(self._host.store.db, chats, time.time() - _RECENT)
        if not found.counts:
            return ["no delivery errors in the last hour"]
        lines = ["delivery errors in the last hour:"]
        by_platform: dict[str, list[str]] = {}
        for row in found.counts:
            label = {"delivered": "delivered after retrying", "failed": "given up"}.get(
                row.state, "still retrying"
            )
            by_platform.setdefault(row.platform, []).append(f"{row.count} {label}")
        for platform, parts in sorted(by_platform.items()):
            lines.append(f"  {platform}: " + ", ".join(parts))
        if found.last_error is not None:
            lines.append(f"  last ({found.last_platform}): {found.last_error[:200]}")
        return lines

    def _watch(self, chat: ChatRef, on: bool) -> None:
        # An adapter that reads only the channels it watches (for catch-up after downtime)
        # learns of a /room join at once; its channels are numbered.
        adapter = self._relay.adapters.get(chat.platform)
        if adapter is None:
            return
        if on:
            adapter.join_chat(chat)
        else:
            adapter.leave_chat(chat)

    async def _room_status(self, request: CommandRequest) -> CommandReply:
        room = self._relay.router.room_of(request.chat)
        if room is None:
            return CommandReply("This chat is in no room.", private=True)
        members = list(room.members)
        depth = await room_health.waiting(self._host.store.db, members)
        lines = [f"Room {room.name}: {len(members)} chat(s), {depth} delivery(ies) waiting."]
        for platform in sorted({c.platform for c in members}):
            adapter = self._relay.adapters.get(platform)
            state = (
                "not configured"
                if adapter is None
                else "connected"
                if adapter.is_connected()
                else "DISCONNECTED"
            )
            lines.append(f"{platform}: {state}")
            adapter_error = adapter.last_error if adapter is not None else None
            if adapter_error:
                lines.append(f"  {adapter_error}")
            lines += [f"  {detail}" for detail in self._chat_details(room, platform)]
        lines += await self._recent_failures(members)
        return CommandReply("\n".join(lines))


_RECENT = 3600.0
"""Seconds of delivery history /room status reports on."""
_DELETE_WAIT = 8.0
"""Seconds /delete waits for the copies' deletions before it reports."""
# Refusals as platforms word them, and what the admin can do about them.
_DELETE_HINTS = (
    ("can't be deleted", "the bot needs to be an admin with the Delete messages right"),
    ("missing permissions", "the bot needs the Manage Messages permission"),
)


def _delete_report(results: Mapping[ChatRef, str | None]) -> str:
    """``Deleted on …; not deleted on <platform>: <why>`` for /delete."""
    done = sorted({chat.platform for chat, error in results.items() if error is None})
    lines = ["Deleted on " + ", ".join(done) + "." if done else "Deleted nowhere."]
    for chat, error in sorted(results.items(), key=lambda item: str(item[0])):
        if error is None:
            continue
        why = error.splitlines()[0][:200]
        hint = next((h for phrase, h in _DELETE_HINTS if phrase in why.lower()), None)
        lines.append(f"Not deleted on {chat.platform}: {why}" + (f" ({hint})." if hint else "."))
    return "\n".join(lines)


_ROOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

ROOMS_SPEC = CommandSpec("rooms", "List the bridged rooms and their platforms")
DELETE_SPEC = CommandSpec(
    "delete",
    "Delete a relayed message everywhere: reply to it (your own; admins: any)",
    "[message id]",
    (
        CommandOption(
            "message", "the message id or link (where commands cannot reply)", required=False
        ),
    ),
)
ROOM_SPEC = CommandSpec(
    "room",
    "Room management for admins: join <name>, create <name>, leave, status",
    "join <name> | create <name> | leave | status",
    (
        CommandOption("action", "join, create, leave or status"),
        CommandOption("name", "the room to join or create", required=False),
    ),
    admin_only=True,
)


def install_room_commands(host: Host, commands: Commands, *, relay: RelayView) -> RoomCommands:
    """Register ``/rooms``, ``/delete`` and ``/room`` on ``commands``."""
    found = RoomCommands(host, relay)
    found.register(commands)
    return found
