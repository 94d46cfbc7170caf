"""The conformance driver for Status/Waku: the real Waku adapter on a real embedded Waku node,
as an accepted member of a Status community channel. The other side is played by the
status-go-faithful control node and members of ``tests/fakes/status_node.py`` (built from
status-go's vendored .proto files): Alice posts, edits, deletes and reacts the way the Status
app does; Carol, a member who reads everything on her filters, judges every Waku message with
status-go's receive rules, and what she would show is what the tests see."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bots.waku.adapter import WakuAdapter, WakuRoomConfig
from bots.waku.text import from_status
from bridge.commands import Commands
from bridge.model import ChatId, ChatRef, Command, Inbound, NativeId, RichText, WakuChatId
from bridge.router import Room, Router
from bridge.status.community import Membership
from bridge.store import Store
from bridge.waku.community import CommunityRoom
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from crypto.keys import generate_private_key, public_key
from tests.conformance.driver import Answer, Seen, conformance_commands
from tests.conformance.matrix_driver import FileServer
from tests.fakes import status_node as sg
from tests.fakes.status_proto import chat_message_pb2, emoji_reaction_pb2, enums_pb2
from tests.matrix.world import Sink
from tests.waku.support import store_views

SHARD = sg.DEFAULT_SHARD
ROOM = "status:conformance"
ChatMessage = chat_message_pb2.ChatMessage
EmojiReaction = emoji_reaction_pb2.EmojiReaction

# The six reactions the Status app offers (protocol/protobuf/emoji_reaction.proto), as the
# app draws them.
_EMOJI: dict[int, str] = {
    EmojiReaction.LOVE: "❤️",
    EmojiReaction.THUMBS_UP: "👍",
    EmojiReaction.THUMBS_DOWN: "👎",
    EmojiReaction.LAUGH: "😂",
    EmojiReaction.SAD: "😢",
    EmojiReaction.ANGRY: "😡",
}
_TYPE: dict[str, int] = {emoji: kind for kind, emoji in _EMOJI.items()}


class _NoRest(sg.RestWaku):
    """The fake's REST publishing is not used: its messages go to the embedded node."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")


class _RoutedSink(Sink):
    """The router's sink in front of the test's: the Waku adapter checks an inbound edit's or
    delete's author against the router's id map, as it does in the bridge."""

    def __init__(self, chat: ChatRef, router: Router, commands: Commands) -> None:
        super().__init__(chat, commands)
        self.router = router

    async def __call__(self, event: Inbound) -> None:
        if not self.fail and event.source == self.chat and not isinstance(event, Command):
            await self.router.handle(event)
        await super().__call__(event)


@dataclasses.dataclass
class _Shown:
    """A message as Carol's Status app shows it."""

    signer: bytes
    message: Any  # ChatMessage
    text: str
    deleted: bool = False
    reactions: dict[bytes, set[int]] = dataclasses.field(default_factory=dict)


class WakuDriver:
    def __init__(
        self, store: Store, node: EmbeddedNode, files: FileServer, commands: Commands | None = None
    ) -> None:
        self.store = store
        self.node = node
        self._files = files
        self.owner = sg.ControlNode(
            _NoRest(), community_key=generate_private_key(), owner_key=generate_private_key()
        )
        self.channel = self.owner.add_channel("conformance")
        pub = self.owner.community.community_pub
        self.alice = sg.Member(
            _NoRest(), key=generate_private_key(), community_pub=pub, display_name="Alice Status"
        )
        self.carol = sg.Member(
            _NoRest(), key=generate_private_key(), community_pub=pub, display_name="Carol Status"
        )
        self._bridge_key = generate_private_key()
        self.bridge = public_key(self._bridge_key)
        for member in (self.alice.pub, self.carol.pub, self.bridge):
            self.owner.add_member(member)
        self.shown: dict[str, _Shown] = {}
        self.order: list[str] = []
        self.commands = commands or conformance_commands()
        self._commanded: set[str] = set()
        self.sink: Sink = _RoutedSink(
            self.chat,
            Router(store, [Room("conformance", (self.chat, ChatRef("telegram", ChatId("1001"))))]),
            self.commands,
        )
        node.add_listener(self._on_wire)
        self.adapter = self._new_adapter()

    @property
    def chat(self) -> ChatRef:
        return ChatRef.waku(WakuChatId(ROOM))

    def _new_adapter(self) -> WakuAdapter:
        return WakuAdapter(
            node=self.node,
            **store_views(self.store),
            identity_key=self._bridge_key,
            rooms={
                ROOM: WakuRoomConfig(
                    chat_id=ROOM,
                    pubsub_topic=SHARD,
                    community=CommunityRoom(self.owner.id, "conformance", None, SHARD),
                )
            },
            bridge_name="Parley Bridge",
            health_interval=0.2,
            commands=self.commands.specs(),
        )

    async def start(self) -> None:
        await self.adapter.start(self.sink)
        communities = self.adapter.communities
        assert communities is not None
        async with asyncio.timeout(20):
            while communities.membership(ROOM) is not Membership.CAN_POST:  # noqa: ASYNC110
                await asyncio.sleep(0.02)

    async def publish_description(self) -> None:
        await self._publish(self.owner.description_message())

    # --- what Carol's app shows -----------------------------------------------------------

    def _on_wire(self, pubsub_topic: str, message: WakuMessage) -> None:
        wire = sg.WireMessage(
            message.payload, message.content_topic, message.timestamp or 0, message.version
        )
        self.alice.judge(pubsub_topic, wire)  # Alice keeps up too (descriptions, edits)
        verdict = self.carol.judge(pubsub_topic, wire)
        if verdict is None or not verdict.shown or verdict.opened is None:
            return
        opened, content = verdict.opened, verdict.content
        if isinstance(content, ChatMessage):
            text = content.text
            if content.content_type == ChatMessage.ContentType.BRIDGE_MESSAGE:
                text = content.bridge_message.content
            self.shown[opened.message_id_hex] = _Shown(opened.signer, content, text)
            self.order.append(opened.message_id_hex)
        elif isinstance(content, chat_message_pb2.EditMessage):
            self.shown[content.message_id].text = content.text
        elif isinstance(content, chat_message_pb2.DeleteMessage):
            self.shown[content.message_id].deleted = True
        elif isinstance(content, EmojiReaction):
            target = self.shown.get(content.message_id)
            if target is not None:
                mine = target.reactions.setdefault(opened.signer, set())
                (mine.discard if content.retracted else mine.add)(content.type)

    # --- a person in the channel ----------------------------------------------------------

    async def _publish(self, wire: sg.WireMessage) -> None:
        await self.node.publish(
            SHARD,
            WakuMessage(
                wire.payload, wire.content_topic, version=wire.version, timestamp=wire.timestamp
            ),
        )

    async def _post(self, inner: bytes, app_type: int) -> str:
        # Today's Status app: SDS-wrapped on the community's universal topic.
        wire, mid = self.alice.envelope(inner, app_type, sds=True)
        await self._publish(wire)
        return mid

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId:
        message = self.alice.chat_message(text, self.channel, response_to=reply_to or "")
        return NativeId(await self._post(message.SerializeToString(), sg.AppType.CHAT_MESSAGE))

    async def say_formatted(self) -> NativeId:
        # The Status app sends what its composer's toolbar makes: markdown in the text. Status
        # has no labelled links; a URL in the text is one.
        return await self.say("**bold** *italic* https://example.org/ `code`")

    async def edit(self, native: NativeId, text: str) -> None:
        clock, _ = self.alice.next_clock()
        edit = chat_message_pb2.EditMessage(
            clock=clock,
            text=text,
            chat_id=self.alice.community.chat_id(self.channel),
            message_id=native,
            message_type=enums_pb2.COMMUNITY_CHAT,
            content_type=ChatMessage.ContentType.TEXT_PLAIN,
        )
        await self._post(edit.SerializeToString(), sg.AppType.EDIT_MESSAGE)

    async def delete(self, native: NativeId) -> None:
        clock, _ = self.alice.next_clock()
        delete = chat_message_pb2.DeleteMessage(
            clock=clock,
            chat_id=self.alice.community.chat_id(self.channel),
            message_id=native,
            message_type=enums_pb2.COMMUNITY_CHAT,
        )
        await self._post(delete.SerializeToString(), sg.AppType.DELETE_MESSAGE)

    async def _reaction(self, native: NativeId, emoji: str, *, retracted: bool) -> None:
        clock, _ = self.alice.next_clock()
        reaction = EmojiReaction(
            clock=clock,
            chat_id=self.alice.community.chat_id(self.channel),
            message_id=native,
            message_type=enums_pb2.COMMUNITY_CHAT,
            type=EmojiReaction.Type.ValueType(_TYPE[emoji]),
            retracted=retracted,
        )
        await self._post(reaction.SerializeToString(), sg.AppType.EMOJI_REACTION)

    async def react(self, native: NativeId, emoji: str) -> None:
        await self._reaction(native, emoji, retracted=False)

    async def unreact(self, native: NativeId, emoji: str) -> None:
        await self._reaction(native, emoji, retracted=True)

    async def command(self, name: str, args: str = "") -> None:
        # Status has no command UI: a member writes the command as a message.
        self._commanded.add(await self.say(f"/{name} {args}".rstrip()))

    async def answers(self) -> list[Answer]:
        # The bridge answers in the channel, replying to the command; Status has no private
        # answer, so none is private.
        return [
            Answer(from_status(shown.text).text, private=False)
            for shown in (self.shown[mid] for mid in self.order)
            if shown.signer == self.bridge and shown.message.response_to in self._commanded
        ]

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId:
        raise NotImplementedError("the Waku adapter does not declare attachments")

    # --- looking --------------------------------------------------------------------------

    async def seen(self, native: NativeId) -> Seen:
        shown = self.shown[native]
        if shown.deleted:
            return Seen("", RichText(""), "", deleted=True)
        message = shown.message
        bridged = message.content_type == ChatMessage.ContentType.BRIDGE_MESSAGE
        name = message.bridge_message.userName if bridged else message.display_name
        avatar = None
        if bridged and message.bridge_message.userAvatar:
            # The app loads a bridged author's avatar from the URL the message carries.
            async with (
                aiohttp.ClientSession() as http,
                http.get(message.bridge_message.userAvatar) as resp,
            ):
                avatar = await resp.read() if resp.status == 200 else None
        # What Carol's app draws: status-go's ParsedText of the text (bots/waku/text.py follows
        # the status-im/markdown parser it uses).
        rich = from_status(shown.text)
        return Seen(
            text=rich.text,
            rich=rich,
            sender_name=name,
            reply_to=NativeId(message.response_to) if message.response_to else None,
            reactions=frozenset(_EMOJI[t] for t in shown.reactions.get(self.bridge, set())),
            avatar=avatar,
        )

    async def posted(self) -> list[NativeId]:
        return [
            NativeId(mid)
            for mid in self.order
            if self.shown[mid].signer == self.bridge and not self.shown[mid].deleted
        ]

    # --- the world ------------------------------------------------------------------------

    def avatar_url(self, data: bytes) -> str:
        return self._files.add(data)

    async def sever(self) -> None:
        # The adapter's node is in the process: an outage is the node going down.
        await self.node.stop()

    async def heal(self) -> None:
        await self.node.start()

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        await self.adapter.stop()
        if while_down is not None:
            await while_down()
        self.adapter = self._new_adapter()
        await self.start()

    async def close(self) -> None:
        await self.adapter.stop()
        self.node.remove_listener(self._on_wire)


@contextlib.asynccontextmanager
async def waku_driver(commands: Commands | None = None) -> AsyncIterator[WakuDriver]:
    directory = Path(tempfile.mkdtemp(prefix="parley-waku-conf-"))
    files = FileServer()
    await files.server.start()
    store = await Store.open(directory / "parley.db")
    node = EmbeddedNode(store)
    await node.start()
    try:
        driver = WakuDriver(store, node, files, commands)
        await driver.publish_description()
        try:
            await driver.start()
            yield driver
        finally:
            await driver.close()
    finally:
        await node.stop()
        await store.close()
        await files.server.stop()
        shutil.rmtree(directory, ignore_errors=True)


__all__ = ["WakuDriver", "waku_driver"]
