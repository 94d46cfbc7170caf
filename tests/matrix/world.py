"""A Matrix room on the session's Synapse, a human in it, and the adapter under test.

The human is a real Synapse user driven through mautrix's client API; what they see is read
back from the room's timeline (``/messages``), as their client would show it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import pathlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from mautrix.api import Method, Path
from mautrix.client import ClientAPI
from mautrix.types import EventType, PaginationDirection, RoomCreatePreset, RoomID, UserID

from bots.matrix.adapter import MatrixAdapter
from bridge.commands import Command, Commands
from bridge.model import ChatId, ChatRef, Inbound
from bridge.nft.safe_fetch import FetchPolicy
from bridge.store import Store
from bridge.store.platform_kv import PlatformKv
from tests.matrix.synapse import Synapse, free_port

_numbers = itertools.count(1)

# Test servers (avatars, attachments) listen on 127.0.0.1 over http.
LOOPBACK_POLICY = FetchPolicy(
    allowed_schemes=frozenset({"http"}),
    allowed_ports=frozenset(range(1, 65536)),
    allow_private=True,
)


class Sink:
    """Collects inbound events; can be told to fail (the store being down).

    With ``chat`` it keeps only that chat's events (commands excepted: the relay answers them
    in any chat): the session's one homeserver may still push an earlier test's room to this
    test's adapter (the router would ignore those).
    """

    def __init__(self, chat: ChatRef | None = None, commands: Commands | None = None) -> None:
        self.chat = chat
        self.events: list[Inbound] = []
        self.commands: list[Command] = []
        """Commands, kept apart from the relayed events (and run with ``commands``, as the
        relay's sink runs them)."""
        self._registry = commands
        self.fail = False
        self.failures = 0
        self._changed = asyncio.Event()

    async def __call__(self, event: Inbound) -> None:
        if self.chat is not None and event.source != self.chat and not isinstance(event, Command):
            return
        if self.fail:
            self.failures += 1
            self._changed.set()
            raise RuntimeError("store unavailable")
        if isinstance(event, Command):
            self.commands.append(event)
            if self._registry is not None:
                await self._registry.run(event)
            self._changed.set()
            return
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, check: Callable[[], bool], timeout: float = 20.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while not check():
                self._changed.clear()
                await self._changed.wait()

    async def next(self, count: int = 1) -> list[Inbound]:
        await self.wait_for(lambda: len(self.events) >= count)
        return self.events[:count]


@dataclass
class Human:
    client: ClientAPI
    user_id: UserID


@dataclass
class MatrixWorld:
    synapse: Synapse
    session: aiohttp.ClientSession
    alice: Human
    room: RoomID
    sink: Sink
    adapter: MatrixAdapter
    commands: Commands
    store: Store

    @property
    def chat(self) -> ChatRef:
        return ChatRef("matrix", ChatId(self.room))

    @property
    def bot_mxid(self) -> UserID:
        return UserID(f"@parley:{self.synapse.server_name}")

    async def start_adapter(self, adapter: MatrixAdapter) -> None:
        """Start ``adapter`` (made by ``new_adapter``) as the room's adapter."""
        self.adapter = adapter
        self.synapse.gateway.target = f"http://127.0.0.1:{adapter.requested_port}"
        await adapter.start(self.sink)

    async def stop_adapter(self, *, hold: bool) -> None:
        """Stop the adapter; with ``hold`` the homeserver's pushes wait for the next one."""
        self.synapse.gateway.hold = hold
        self.synapse.gateway.target = None
        await self.adapter.stop()

    def new_adapter(self, **overrides: Any) -> MatrixAdapter:
        return make_adapter(
            self.synapse,
            [self.room],
            self.commands,
            kv=PlatformKv(self.store, "matrix"),
            **overrides,
        )

    async def timeline(self, limit: int = 50) -> list[dict[str, Any]]:
        """The room's events as the human's client fetches them, oldest first."""
        reply = await self.alice.client.api.request(
            Method.GET,
            Path.v3.rooms[self.room].messages,
            query_params={"dir": PaginationDirection.BACKWARD.value, "limit": str(limit)},
        )
        return list(reversed(reply["chunk"]))

    async def wait_timeline(
        self,
        check: Callable[[list[dict[str, Any]]], Any],
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                events = await self.timeline()
                found = check(events)
                if found:
                    return found
                await asyncio.sleep(0.1)

    async def messages(self) -> list[dict[str, Any]]:
        return [e for e in await self.timeline() if e["type"] == "m.room.message"]

    async def say(self, content: dict[str, Any]) -> str:
        event_id = await self.alice.client.send_message_event(
            self.room,
            EventType.ROOM_MESSAGE,
            content,  # type: ignore[arg-type]
        )
        return str(event_id)


def make_adapter(
    synapse: Synapse, rooms: list[str], commands: Commands | None, **overrides: Any
) -> MatrixAdapter:
    reg = synapse.registration
    options: dict[str, Any] = {
        "homeserver_url": synapse.url,
        "server_name": synapse.server_name,
        "as_token": reg.as_token,
        "hs_token": reg.hs_token,
        "rooms": rooms,
        "listen_host": "127.0.0.1",
        "listen_port": free_port(),
        "bot_localpart": reg.bot_localpart,
        "puppet_prefix": reg.puppet_prefix,
        "commands": commands.specs() if commands is not None else (),
        "fetch_policy": LOOPBACK_POLICY,
        "request_timeout": 10.0,
        "health_interval": 0.2,
    }
    options.update(overrides)
    return MatrixAdapter(**options)


@contextlib.asynccontextmanager
async def _store() -> AsyncIterator[Store]:
    with tempfile.TemporaryDirectory() as directory:
        store = await Store.open(pathlib.Path(directory) / "parley.db", checkpoint_interval=None)
        try:
            yield store
        finally:
            await store.close()


@contextlib.asynccontextmanager
async def matrix_world(
    synapse: Synapse, *, commands: Commands | None = None, **adapter_options: Any
) -> AsyncIterator[MatrixWorld]:
    """A fresh room (alice is its admin, the bot invited with power 100) and a started adapter
    that knows ``commands`` (default: just the built-in ``help``)."""
    n = next(_numbers)
    user = await asyncio.to_thread(synapse.register_user, f"alice{n}")
    bot = UserID(f"@{synapse.registration.bot_localpart}:{synapse.server_name}")
    async with (
        aiohttp.ClientSession() as session,
        _store() as store,
    ):
        client = ClientAPI(
            UserID(user.user_id),
            base_url=synapse.url,
            token=user.access_token,
            client_session=session,
        )
        powers: dict[str, Any] = {"users": {str(bot): 100}}
        room = await client.create_room(
            preset=RoomCreatePreset.PRIVATE,
            name=f"room {n}",
            invitees=[bot],
            power_level_override=powers,
        )
        commands = commands if commands is not None else Commands("parley")
        sink = Sink(ChatRef("matrix", ChatId(room)), commands)
        adapter = make_adapter(
            synapse, [room], commands, kv=PlatformKv(store, "matrix"), **adapter_options
        )
        human = Human(client, UserID(user.user_id))
        world = MatrixWorld(synapse, session, human, room, sink, adapter, commands, store)
        try:
            await world.start_adapter(adapter)
            await world.wait_timeline(
                lambda events: any(
                    e["type"] == "m.room.member"
                    and e.get("state_key") == bot
                    and e["content"].get("membership") == "join"
                    for e in events
                )
            )
            yield world
        finally:
            await world.stop_adapter(hold=False)
