"""A protocol-level stand-in for the Telegram Bot API.

The real python-telegram-bot talks to it over HTTP on 127.0.0.1::

    async with FakeTelegram() as tg:
        bot = tg.add_bot("bridge_bot")
        alice = tg.add_user("Alice", username="alice")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        app = (
            ApplicationBuilder().token(bot.token)
            .base_url(tg.base_url).base_file_url(tg.base_file_url).build()
        )
        ...
        tg.user_sends(group, alice, "/help")
        reply = await tg.wait_for_sent(lambda m: m.chat is group)

Tests drive users through plain methods (``user_sends``, ``user_edits``, ``user_reacts``,
``user_starts_bot`` ...), read what bots did through ``sent_messages`` / ``wait_for_sent`` /
``requests``, and inject faults with ``fail_next`` and ``set_delay``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.telegram_chats import TelegramChatsApi
from tests.fakes.telegram_core import Handler
from tests.fakes.telegram_media import TelegramMediaApi
from tests.fakes.telegram_messages import TelegramMessagesApi
from tests.fakes.telegram_models import (
    CAPTION_LIMIT,
    CHAT_ACTIONS,
    DEFAULT_UPDATES,
    DOWNLOAD_LIMIT,
    JSON,
    JSON_PARAMS,
    PHOTO_LIMIT,
    REACTION_EMOJI,
    TEXT_LIMIT,
    UPLOAD_LIMIT,
    ApiError,
    ChatType,
    FakeBot,
    FakeChat,
    FakeFile,
    FakeMessage,
    FakeUser,
    Fault,
    Params,
    RecordedRequest,
    Upload,
    bad_request,
    decode_param,
    retrieve,
)
from tests.fakes.telegram_users import TelegramUsers

__all__ = [
    "CAPTION_LIMIT",
    "CHAT_ACTIONS",
    "DEFAULT_UPDATES",
    "DOWNLOAD_LIMIT",
    "JSON",
    "JSON_PARAMS",
    "PHOTO_LIMIT",
    "REACTION_EMOJI",
    "TEXT_LIMIT",
    "UPLOAD_LIMIT",
    "ApiError",
    "ChatType",
    "FakeBot",
    "FakeChat",
    "FakeFile",
    "FakeMessage",
    "FakeTelegram",
    "FakeUser",
    "Handler",
    "RecordedRequest",
]

T = TypeVar("T")


class FakeTelegram(TelegramUsers, TelegramMessagesApi, TelegramMediaApi, TelegramChatsApi):
    """The Bot API stand-in server plus the control surface tests use."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self._handlers = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "setmessagereaction": self._set_message_reaction,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendanimation": self._send_animation,
            "getfile": self._get_file,
            "getuserprofilephotos": self._get_user_profile_photos,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmembercount": self._get_chat_member_count,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._true,
        }

    # ------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._changed = asyncio.Event()
        # handler_cancellation: a long poll whose client went away ends at once (PTB cancels
        # its poll on stop and then polls again with timeout=0).
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------------ inspection

    def messages(self, chat: FakeChat | int, *, bot: FakeBot | None = None) -> list[FakeMessage]:
        """Every message in the chat (users' and bots'), deleted ones included."""
        return [m for c in self._chats_for(chat, bot) for m in c.messages.values()]

    def sent_messages(
        self,
        chat: FakeChat | int,
        *,
        bot: FakeBot | None = None,
        include_deleted: bool = True,
    ) -> list[FakeMessage]:
        """What bots sent to the chat, in order; each carries its edits, deletion, reactions,
        reply target and files (with bytes)."""
        return [
            m
            for m in self.messages(chat, bot=bot)
            if m.from_bot
            and (bot is None or m.sender is bot.user)
            and (include_deleted or not m.deleted)
            and not m.service
        ]

    def calls(self, method: str, *, bot: FakeBot | None = None) -> list[RecordedRequest]:
        """Recorded requests for one Bot API method (case-insensitive)."""
        name = method.lower()
        return [
            r for r in self.requests if r.method.lower() == name and (bot is None or r.bot is bot)
        ]

    async def wait_until(self, check: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Await until ``check()`` returns something truthy; AssertionError on timeout."""
        assert self._changed is not None, "start the fake first"
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = check()
                    if result:
                        return result
                    event = self._changed
                    await event.wait()
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout}s") from None

    async def wait_for_sent(
        self,
        predicate: Callable[[FakeMessage], bool] = lambda m: True,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        chat: FakeChat | int | None = None,
    ) -> FakeMessage:
        """The first bot-sent message (optionally in ``chat``) that satisfies ``predicate``
        now or after a later change (send, edit, delete, reaction)."""

        def check() -> FakeMessage | None:
            pool = (
                self.sent_messages(chat)
                if chat is not None
                else [m for c in self._all_chats() for m in c.messages.values() if m.from_bot]
            )
            return next((m for m in pool if not m.service and predicate(m)), None)

        try:
            return await self.wait_until(check, timeout)
        except AssertionError:
            sent = [
                (m.chat.id, m.message_id, m.content[:80])
                for c in self._all_chats()
                for m in c.messages.values()
                if m.from_bot
            ]
            raise AssertionError(
                f"no matching bot message within {timeout}s; sent: {sent}"
            ) from None

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] = lambda r: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        return await self.wait_until(
            lambda: next((r for r in self.calls(method) if predicate(r)), None), timeout
        )

    def pending_updates(self, bot: FakeBot | None = None) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return list(self._one_bot(bot).updates)

    # -------------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` fail with ``status``. 429 carries
        ``parameters.retry_after`` (default 1 s)."""
        parameters: JSON | None = None
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif retry_after is not None:
            parameters = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            parameters = {**(parameters or {}), "migrate_to_chat_id": migrate_to_chat_id}
        default = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        fault = Fault(status, description or default.get(status, "Error"), parameters, count)
        self.faults.setdefault(method.lower(), []).append(fault)

    def set_delay(self, method: str, seconds: float | None) -> None:
        """Hold every call of ``method`` this long before answering (None: no delay)."""
        if seconds is None:
            self.delays.pop(method.lower(), None)
        else:
            self.delays[method.lower()] = seconds

    # --------------------------------------------------------------------- HTTP plumbing

    async def _read_params(self, request: web.Request) -> Params:
        values: JSON = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("can't parse JSON") from exc
                if isinstance(body, dict):
                    values.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
                    else:
                        values[key] = value
        return Params(values, uploads)

    def _reply(self, status: int, body: JSON) -> web.Response:
        return web.Response(
            status=status, body=json.dumps(body).encode(), content_type="application/json"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        name = method.lower()
        bot = self.bots.get(token)
        try:
            params = await self._read_params(request)
        except ApiError as err:
            return self._reply(
                err.status,
                {"ok": False, "error_code": err.status, "description": err.description},
            )
        record = RecordedRequest(
            bot,
            method,
            {k: decode_param(k, v) for k, v in params.values.items()},
            {k: u.data for k, u in params.uploads.items()},
        )
        self.requests.append(record)
        self._notify()
        try:
            if ":" not in token or not token.split(":", 1)[0].isdigit():
                raise ApiError(404, "Not Found")
            if bot is None:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(name)
            if handler is None:
                raise ApiError(404, "Not Found")
            faults = self.faults.get(name)
            if faults:
                fault = faults[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.pop(0)
                raise ApiError(fault.status, fault.description, fault.parameters)
            work = self._run(handler, bot, params, request, self.delays.get(name))
            if name == "getupdates":
                result = await work
            else:
                # Like Telegram, a request that arrived is carried out even when the client
                # gives up waiting (timeouts can duplicate messages).
                task = asyncio.ensure_future(work)
                task.add_done_callback(retrieve)
                result = await asyncio.shield(task)
        except ApiError as err:
            body: JSON = {"ok": False, "error_code": err.status, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            record.status = err.status
            record.response = body
            self._notify()
            return self._reply(err.status, body)
        record.response = {"ok": True, "result": result}
        self._notify()
        return self._reply(200, record.response)

    async def _run(
        self,
        handler: Handler,
        bot: FakeBot,
        params: Params,
        request: web.Request,
        delay: float | None,
    ) -> Any:
        if delay:
            await asyncio.sleep(delay)
        return await handler(bot, params, request)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        bot = self.bots.get(request.match_info["token"])
        path = request.match_info["path"]
        if bot is None:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
