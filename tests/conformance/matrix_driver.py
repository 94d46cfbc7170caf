"""The conformance driver for Matrix: the adapter against the session's real Synapse, through
a cuttable TCP proxy; the person is a Synapse user driven through mautrix's client API."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from mautrix.api import Method, Path
from mautrix.types import EventID, EventType, RoomID, UserID

from bots.matrix.adapter import MatrixAdapter
from bots.matrix.formatting import from_matrix
from bridge.model import ChatRef, NativeId, RichText
from bridge.store import kv
from bridge.web.server import HttpServer
from tests.conformance.driver import Answer, Seen, conformance_commands
from tests.matrix.proxy import CuttableProxy
from tests.matrix.synapse import Synapse
from tests.matrix.world import MatrixWorld, Sink, matrix_world


class MatrixDriver:
    def __init__(self, world: MatrixWorld, proxy: CuttableProxy, files: FileServer) -> None:
        self.world = world
        self._proxy = proxy
        self._files = files
        self._reactions: dict[tuple[str, str], EventID] = {}

    @property
    def adapter(self) -> MatrixAdapter:
        return self.world.adapter

    @property
    def sink(self) -> Sink:
        return self.world.sink

    @property
    def chat(self) -> ChatRef:
        return self.world.chat

    @property
    def _room(self) -> RoomID:
        return self.world.room

    async def _send(self, kind: EventType, content: dict[str, Any]) -> EventID:
        return await self.world.alice.client.send_message_event(
            self._room,
            kind,
            content,  # type: ignore[arg-type]
        )

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId:
        content: dict[str, Any] = {"msgtype": "m.text", "body": text}
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return NativeId(await self._send(EventType.ROOM_MESSAGE, content))

    async def say_formatted(self) -> NativeId:
        # As Element sends "**bold** *italic* [link](https://example.org/) `code`".
        html = (
            "<strong>bold</strong> <em>italic</em> "
            '<a href="https://example.org/">link</a> <code>code</code>'
        )
        content = {
            "msgtype": "m.text",
            "body": "**bold** *italic* [link](https://example.org/) `code`",
            "format": "org.matrix.custom.html",
            "formatted_body": html,
        }
        return NativeId(await self._send(EventType.ROOM_MESSAGE, content))

    async def edit(self, native: NativeId, text: str) -> None:
        content = {
            "msgtype": "m.text",
            "body": f"* {text}",
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": native},
        }
        await self._send(EventType.ROOM_MESSAGE, content)

    async def delete(self, native: NativeId) -> None:
        await self.world.alice.client.redact(self._room, EventID(native))

    async def react(self, native: NativeId, emoji: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": native, "key": emoji}}
        self._reactions[(native, emoji)] = await self._send(EventType.REACTION, content)

    async def unreact(self, native: NativeId, emoji: str) -> None:
        await self.world.alice.client.redact(self._room, self._reactions.pop((native, emoji)))

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId:
        mxc = await self.world.alice.client.upload_media(data, mime, name, len(data))
        content = {
            "msgtype": "m.file",
            "body": name,
            "url": mxc,
            "info": {"mimetype": mime, "size": len(data)},
        }
        return NativeId(await self._send(EventType.ROOM_MESSAGE, content))

    async def command(self, name: str, args: str = "") -> None:
        await self.say(f"!{name} {args}".rstrip())

    async def answers(self) -> list[Answer]:
        found = [Answer(text, private=False) for text in await self._notices(self._room)]
        alice = self.world.alice
        direct = await kv.get(self.world.store.db, f"matrix.dm.{alice.user_id}")
        if direct is not None:
            await alice.client.join_room(RoomID(direct))  # accept the bot's invitation
            found += [Answer(text, private=True) for text in await self._notices(RoomID(direct))]
        return found

    async def _notices(self, room: RoomID) -> list[str]:
        reply = await self._get(Path.v3.rooms[room].messages, dir="b", limit="100")
        return [
            str(e["content"].get("body"))
            for e in reversed(reply["chunk"])
            if e["type"] == "m.room.message"
            and e["sender"] == self.world.bot_mxid
            and e["content"].get("msgtype") == "m.notice"
        ]

    # --- looking --------------------------------------------------------------------------

    async def _get(self, path: Any, **query: str) -> Any:
        return await self.world.alice.client.api.request(Method.GET, path, query_params=query)

    async def _download(self, mxc: str) -> bytes:
        server, media = mxc.removeprefix("mxc://").split("/", 1)
        return await self.world.alice.client.download_media(f"mxc://{server}/{media}")  # type: ignore[arg-type]

    async def seen(self, native: NativeId) -> Seen:
        room = self._room
        event = await self._get(Path.v3.rooms[room].event[native])
        content = event.get("content", {})
        if not content and "redacted_because" in event.get("unsigned", {}):
            return Seen("", RichText(""), "", deleted=True)
        edits = await self._get(
            Path.v1.rooms[room].relations[native]["m.replace"][EventType.ROOM_MESSAGE.t],
            dir="b",
        )
        latest = next(
            (
                e["content"]["m.new_content"]
                for e in edits["chunk"]
                if "m.new_content" in e.get("content", {})
            ),
            content,
        )
        annotations = await self._get(
            Path.v1.rooms[room].relations[native]["m.annotation"][EventType.REACTION.t]
        )
        reactions = frozenset(
            e["content"]["m.relates_to"]["key"]
            for e in annotations["chunk"]
            if "m.relates_to" in e.get("content", {})
        )
        profile = await self.world.alice.client.get_profile(UserID(event["sender"]))
        avatar = await self._download(profile.avatar_url) if profile.avatar_url else None
        reply = content.get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
        files = (await self._download(content["url"]),) if "url" in content else ()
        rich = from_matrix(latest)
        return Seen(
            text=rich.text,
            rich=rich,
            sender_name=profile.displayname or event["sender"],
            reply_to=NativeId(reply) if reply else None,
            files=files,
            reactions=reactions,
            avatar=avatar,
        )

    async def posted(self) -> list[NativeId]:
        ours = {str(self.world.bot_mxid)}
        found = []
        for event in await self.world.timeline(200):
            sender = event["sender"]
            relates = event.get("content", {}).get("m.relates_to", {})
            if event["type"] != "m.room.message" or relates.get("rel_type") == "m.replace":
                continue
            if sender in ours or self.adapter.puppets.is_ours(sender):
                found.append(NativeId(event["event_id"]))
        return found

    # --- the world --------------------------------------------------------------------------

    def avatar_url(self, data: bytes) -> str:
        return self._files.add(data)

    async def sever(self) -> None:
        self._proxy.sever()

    async def heal(self) -> None:
        self._proxy.heal()

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        await self.world.stop_adapter(hold=True)
        if while_down is not None:
            await while_down()
        await self.world.start_adapter(self.world.new_adapter(homeserver_url=self._proxy.url))


class FileServer:
    """Serves avatars and attachments on 127.0.0.1, as a CDN would."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._ids = itertools.count(1)
        app = web.Application()
        app.router.add_get("/f/{name}", self._get)
        self.server = HttpServer("files", app, "127.0.0.1", 0)

    def add(self, data: bytes) -> str:
        name = f"{next(self._ids)}.png"
        self._files[name] = data
        return f"{self.server.url}/f/{name}"

    async def _get(self, request: web.Request) -> web.Response:
        data = self._files.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="image/png")


@contextlib.asynccontextmanager
async def matrix_driver(synapse: Synapse) -> AsyncIterator[MatrixDriver]:
    proxy = CuttableProxy(synapse.port)
    files = FileServer()
    await proxy.start()
    await files.server.start()
    try:
        commands = conformance_commands()
        async with matrix_world(synapse, commands=commands, homeserver_url=proxy.url) as world:
            yield MatrixDriver(world, proxy, files)
    finally:
        await files.server.stop()
        await proxy.stop()
