"""The conformance driver for Telegram: the real python-telegram-bot adapter against the Bot API
stand-in (``tests/fakes/telegram.py``) through a cuttable TCP proxy; the person is a group
member acting through the fake's control surface."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bots.base import ChatRef, NativeId, RichText, Span
from bots.telegram.adapter import TelegramAdapter
from bots.telegram.ids import TelegramChatId, telegram_chat
from bots.telegram.text import from_telegram
from bridge.nft.safe_fetch import loopback_policy
from tests.conformance.driver import Answer, Seen, conformance_commands
from tests.conformance.matrix_driver import FileServer
from tests.fakes.telegram import FakeBot, FakeChat, FakeMessage, FakeTelegram, FakeUser
from tests.matrix.proxy import CuttableProxy
from tests.matrix.world import Sink

# How Telegram shows a relayed author: the bridge cannot post as them, so their name leads the
# text in bold ("Bob Builder (discord): ...").
_HEADER = re.compile(r"^(.+?) \((\w+)\): ")


class MemoryParts:
    """The adapter's ``PartsMemory`` kept across its restarts (the store's role)."""

    def __init__(self) -> None:
        self.layouts: dict[tuple[str, str], Any] = {}

    async def get(self, chat: str, native_id: str) -> Any | None:
        return self.layouts.get((chat, native_id))

    async def put(self, chat: str, native_id: str, layout: Any) -> None:
        self.layouts[(chat, native_id)] = layout

    async def forget(self, chat: str, native_id: str) -> None:
        self.layouts.pop((chat, native_id), None)


class TelegramDriver:
    def __init__(
        self,
        tg: FakeTelegram,
        bot: FakeBot,
        alice: FakeUser,
        group: FakeChat,
        proxy: CuttableProxy,
        files: FileServer,
    ) -> None:
        self.tg = tg
        self.bot = bot
        self.alice = alice
        self.group = group
        self._proxy = proxy
        self._files = files
        self._parts = MemoryParts()
        self.commands = conformance_commands()
        self.sink = Sink(self.chat, self.commands)
        self.adapter = self._new_adapter()

    @property
    def chat(self) -> ChatRef:
        return telegram_chat(TelegramChatId(self.group.id))

    def _new_adapter(self) -> TelegramAdapter:
        return TelegramAdapter(
            token=self.bot.token,
            commands=self.commands.specs(),
            api_base_url=f"{self._proxy.url}/bot",
            file_base_url=f"{self._proxy.url}/file/bot",
            poll_timeout=1,
            request_timeout=5.0,
            retry_delay=0.01,
            max_retry_delay=0.2,
            parts=self._parts,
            fetch_policy=loopback_policy(),
        )

    async def start(self) -> None:
        await self.adapter.start(self.sink)
        await self.tg.wait_until(self.adapter.is_connected, timeout=20)

    # --- a person in the group ----------------------------------------------------------------

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId:
        parent = int(reply_to) if reply_to is not None else None
        sent = self.tg.user_sends(self.group, self.alice, text, reply_to=parent)
        return NativeId(str(sent.message_id))

    async def say_formatted(self) -> NativeId:
        # What Telegram clients send for "bold italic link code" formatted from the menu.
        entities = [
            {"type": "bold", "offset": 0, "length": 4},
            {"type": "italic", "offset": 5, "length": 6},
            {"type": "text_link", "offset": 12, "length": 4, "url": "https://example.org/"},
            {"type": "code", "offset": 17, "length": 4},
        ]
        text = "bold italic link code"
        sent = self.tg.user_sends(self.group, self.alice, text, entities=entities)
        return NativeId(str(sent.message_id))

    async def edit(self, native: NativeId, text: str) -> None:
        self.tg.user_edits(self.group, int(native), text)

    async def delete(self, native: NativeId) -> None:
        self.tg.user_deletes(self.group, int(native))

    async def react(self, native: NativeId, emoji: str) -> None:
        self.tg.user_reacts(self.group, self.alice, int(native), emoji)

    async def unreact(self, native: NativeId, emoji: str) -> None:
        self.tg.user_reacts(self.group, self.alice, int(native), None)

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId:
        sent = self.tg.user_sends(
            self.group, self.alice, document=data, file_name=name, mime_type=mime
        )
        return NativeId(str(sent.message_id))

    async def command(self, name: str, args: str = "") -> None:
        self.tg.user_sends(self.group, self.alice, f"/{name} {args}".rstrip())

    async def answers(self) -> list[Answer]:
        public = [
            Answer(m.content, private=False)
            for m in self.group.messages.values()
            if m.from_bot and m.reply_to is not None and m.reply_to.content.startswith("/")
        ]
        # In the private chat, the answer to the /start that opened it is a reply; a private
        # answer to a command given in the group is not.
        dm = self.tg.private_chat(self.alice, self.bot)
        private = [
            Answer(m.content, private=True)
            for m in dm.messages.values()
            if m.from_bot and m.reply_to is None
        ]
        return public + private

    # --- looking ------------------------------------------------------------------------------

    def _message(self, native: NativeId) -> FakeMessage:
        return self.group.messages[int(native)]

    async def seen(self, native: NativeId) -> Seen:
        message = self._message(native)
        if message.deleted:
            return Seen("", RichText(""), "", deleted=True)
        api = message.to_api()
        if "text" in api:
            rich = from_telegram(api["text"], api.get("entities", []))
        else:
            rich = from_telegram(api.get("caption", ""), api.get("caption_entities", []))
        sender = message.sender.full_name
        header = _HEADER.match(rich.text) if message.from_bot else None
        if header is not None and Span("bold", 0, len(header.group(1))) in rich.spans:
            sender = header.group(1)
            rich = _drop_prefix(rich, header.end())
        file = message.file
        parent = message.reply_to
        return Seen(
            text=rich.text,
            rich=rich,
            sender_name=sender,
            reply_to=NativeId(str(parent.message_id)) if parent is not None else None,
            files=(file.data,) if file is not None else (),
            reactions=frozenset(message.reactions.get(self.bot.id, [])),
        )

    async def posted(self) -> list[NativeId]:
        return [
            NativeId(str(m.message_id))
            for m in self.group.messages.values()
            if m.from_bot and not m.deleted
        ]

    # --- the world ----------------------------------------------------------------------------

    def avatar_url(self, data: bytes) -> str:
        return self._files.add(data)

    async def sever(self) -> None:
        self._proxy.sever()

    async def heal(self) -> None:
        self._proxy.heal()

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        await self.adapter.stop()
        if while_down is not None:
            await while_down()
        self.adapter = self._new_adapter()
        await self.start()


def _drop_prefix(rich: RichText, cut: int) -> RichText:
    spans = tuple(
        Span(s.kind, s.start - cut, s.end - cut, s.url, s.language)
        for s in rich.spans
        if s.start >= cut
    )
    return RichText(rich.text[cut:], spans)


@contextlib.asynccontextmanager
async def telegram_driver() -> AsyncIterator[TelegramDriver]:
    async with FakeTelegram() as tg:
        bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        # An administrator: Telegram sends message_reaction updates to admins only.
        group = tg.add_chat("supergroup", "Conformance", members=[alice], bots=[bot])
        proxy = CuttableProxy(tg.port)
        files = FileServer()
        await proxy.start()
        await files.server.start()
        # Alice has opened a private chat with the bot, so that it may answer her there.
        tg.user_starts_bot(alice, bot)
        driver = TelegramDriver(tg, bot, alice, group, proxy, files)
        try:
            await driver.start()
            # Its answer (the command list) ends the /start: the tests begin after it.
            await tg.wait_for_sent(chat=tg.private_chat(alice, bot), timeout=20)
            yield driver
        finally:
            await driver.adapter.stop()
            await files.server.stop()
            await proxy.stop()


__all__ = ["TelegramDriver", "telegram_driver"]
