"""The conformance driver for Telegram: the adapter (python-telegram-bot) against the Bot API
stand-in in ``tests/fakes/telegram.py``, reached through a cuttable TCP proxy. The person is a
user of the stand-in; what they see is the stand-in's record of the bot's messages."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable

from bots.telegram_bot import TelegramAdapter
from bridge.commands import Commands
from bridge.formatting import from_telegram
from bridge.model import ChatId, ChatRef, NativeId, RichText, Span
from tests.conformance.driver import Seen
from tests.fakes.telegram import FakeBot, FakeChat, FakeMessage, FakeTelegram, FakeUser
from tests.matrix.proxy import CuttableProxy
from tests.matrix.world import Sink

# The adapter heads a relayed message with "<name> (<platform>): " (bots/telegram_bot.py).
_HEADER = re.compile(r"^(.+?) \((telegram|discord|waku|matrix)\): ")


class TelegramDriver:
    def __init__(
        self, tg: FakeTelegram, bot: FakeBot, alice: FakeUser, group: FakeChat, proxy: CuttableProxy
    ) -> None:
        self.tg, self._bot, self._alice, self._group, self._proxy = tg, bot, alice, group, proxy
        self.sink = Sink(ChatRef("telegram", ChatId(str(group.id))))
        self.adapter = self._make()

    def _make(self) -> TelegramAdapter:
        return TelegramAdapter(
            token=self._bot.token,
            commands=Commands(),
            api_base_url=f"{self._proxy.url}/bot",
            file_base_url=f"{self._proxy.url}/file/bot",
            poll_timeout=1,
            request_timeout=5.0,
            retry_delay=0.01,
            max_retry_delay=0.05,
        )

    @property
    def chat(self) -> ChatRef:
        return ChatRef("telegram", ChatId(str(self._group.id)))

    def _message(self, native: NativeId) -> FakeMessage:
        return self._group.messages[int(native)]

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId:
        parent = int(reply_to) if reply_to is not None else None
        msg = self.tg.user_sends(self._group, self._alice, text, reply_to=parent)
        return NativeId(str(msg.message_id))

    async def say_formatted(self) -> NativeId:
        entities = [
            {"type": "bold", "offset": 0, "length": 4},
            {"type": "italic", "offset": 5, "length": 6},
            {"type": "text_link", "offset": 12, "length": 4, "url": "https://example.org/"},
            {"type": "code", "offset": 17, "length": 4},
        ]
        msg = self.tg.user_sends(
            self._group, self._alice, "bold italic link code", entities=entities
        )
        return NativeId(str(msg.message_id))

    async def edit(self, native: NativeId, text: str) -> None:
        self.tg.user_edits(self._group, int(native), text)

    async def delete(self, native: NativeId) -> None:
        self.tg.user_deletes(self._group, int(native))

    async def react(self, native: NativeId, emoji: str) -> None:
        self.tg.user_reacts(self._group, self._alice, int(native), emoji)

    async def unreact(self, native: NativeId, emoji: str) -> None:
        self.tg.user_reacts(self._group, self._alice, int(native), None)

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId:
        msg = self.tg.user_sends(
            self._group, self._alice, document=data, file_name=name, mime_type=mime
        )
        return NativeId(str(msg.message_id))

    async def seen(self, native: NativeId) -> Seen:
        msg = self._message(native)
        if msg.deleted:
            return Seen("", RichText(""), "", deleted=True)
        entities = msg.entities if msg.text is not None else msg.caption_entities
        rich = from_telegram(msg.content, entities)
        name = ""
        header = _HEADER.match(rich.text)
        if header is not None:
            name, cut = header.group(1), header.end()
            rich = RichText(
                rich.text[cut:],
                tuple(
                    Span(s.kind, s.start - cut, s.end - cut, s.url, s.language)
                    for s in rich.spans
                    if s.start >= cut
                ),
            )
        reactions = frozenset(e for emojis in msg.reactions.values() for e in emojis)
        file = msg.file
        return Seen(
            text=rich.text,
            rich=rich,
            sender_name=name,
            reply_to=NativeId(str(msg.reply_to.message_id)) if msg.reply_to else None,
            files=(file.data,) if file is not None else (),
            reactions=reactions,
        )

    async def posted(self) -> list[NativeId]:
        return [
            NativeId(str(m.message_id))
            for m in self.tg.sent_messages(self._group, include_deleted=False)
        ]

    def avatar_url(self, data: bytes) -> str:
        raise AssertionError("Telegram shows no per-message avatar (no IDENTITY)")

    async def sever(self) -> None:
        self._proxy.sever()

    async def heal(self) -> None:
        self._proxy.heal()

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        await self.adapter.stop()
        if while_down is not None:
            await while_down()
        self.adapter = self._make()
        await self.adapter.start(self.sink)


@contextlib.asynccontextmanager
async def telegram_driver() -> AsyncIterator[TelegramDriver]:
    async with FakeTelegram() as tg:
        bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        tg.set_member(group, bot, "administrator")  # sees reactions, may delete
        proxy = CuttableProxy(tg.port)
        await proxy.start()
        driver = TelegramDriver(tg, bot, alice, group, proxy)
        await driver.adapter.start(driver.sink)
        try:
            yield driver
        finally:
            await driver.adapter.stop()
            await proxy.stop()
