"""Bot API methods of the Telegram stand-in for commands, chats and members."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.telegram_core import TelegramCore
from tests.fakes.telegram_models import (
    CHAT_ACTIONS,
    JSON,
    FakeBot,
    FakeChat,
    FakeUser,
    Params,
    bad_request,
    scope_key,
)


class TelegramChatsApi(TelegramCore):
    """Bot commands, getChat, chat members, chat actions."""

    async def _set_my_commands(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise bad_request("parameter commands is required")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        clean: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("BOT_COMMAND_INVALID")
            name = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not (1 <= len(name) <= 32) or not all(
                c.islower() or c.isdigit() or c == "_" for c in name
            ):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = (scope_key(params.get_json("scope")), params.get_str("language_code") or "")
        if clean:
            bot.commands[key] = clean
        else:
            bot.commands.pop(key, None)
        return True

    async def _get_my_commands(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> list[JSON]:
        return bot.my_commands(params.get_json("scope"), params.get_str("language_code") or "")

    async def _delete_my_commands(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        key = (scope_key(params.get_json("scope")), params.get_str("language_code") or "")
        bot.commands.pop(key, None)
        return True

    async def _get_chat(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params, sending=False)
        data = chat.to_api()
        data.update(
            {
                "accent_color_id": chat.id % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": chat.type == "private",
                    "limited_gifts": chat.type == "private",
                    "unique_gifts": chat.type == "private",
                    "premium_subscription": chat.type == "private",
                    "gifts_from_channels": chat.type == "private",
                },
            }
        )
        if chat.type != "private":
            data["permissions"] = {
                "can_send_messages": True,
                "can_send_photos": True,
                "can_send_documents": True,
                "can_invite_users": True,
            }
        return data

    def _member(self, chat: FakeChat, user: FakeUser) -> JSON:
        status = chat.members.get(user.id, "left")
        if chat.type == "private":
            status = "member"
        if status == "creator":
            return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
        if status == "administrator":
            return {
                "status": "administrator",
                "user": user.to_api(),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
                "can_manage_topics": False,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user.to_api(), "until_date": 0}
        if status == "restricted":
            return {
                "status": "restricted",
                "user": user.to_api(),
                "is_member": True,
                "can_send_messages": False,
                "can_send_audios": False,
                "can_send_documents": False,
                "can_send_photos": False,
                "can_send_videos": False,
                "can_send_video_notes": False,
                "can_send_voice_notes": False,
                "can_send_polls": False,
                "can_send_other_messages": False,
                "can_add_web_page_previews": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_pin_messages": False,
                "can_manage_topics": False,
                "until_date": 0,
            }
        return {"status": status, "user": user.to_api()}

    async def _get_chat_member(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params, sending=False)
        user = self.users.get(params.get_int("user_id", required=True) or 0)
        if user is None:
            raise bad_request("user not found")
        return self._member(chat, user)

    async def _get_chat_administrators(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> list[JSON]:
        chat = self._chat(bot, params, sending=False)
        if chat.type == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            self._member(chat, self.users[uid])
            for uid, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    async def _get_chat_member_count(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> int:
        chat = self._chat(bot, params, sending=False)
        return sum(
            1
            for s in chat.members.values()
            if s in ("creator", "administrator", "member", "restricted")
        )

    async def _send_chat_action(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        chat = self._chat(bot, params)
        action = params.get_str("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        chat.actions.append((bot.id, action))
        self._notify()
        return True
