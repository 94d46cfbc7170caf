"""Messages in the Discord stand-in: create, edit, delete and react, echoed on the gateway."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence

from tests.fakes.discord_core import DiscordCore
from tests.fakes.discord_http import ApiError, api_error
from tests.fakes.discord_models import (
    ATTACHMENT_SIZE_LIMIT,
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGE_REACTIONS,
    MAX_CONTENT,
    MESSAGE_TYPE_DEFAULT,
    MESSAGE_TYPE_REPLY,
    FakeChannel,
    FakeInteraction,
    FakeUser,
    FakeWebhook,
    Json,
    StoredFile,
    invalid_form,
    mentioned_role_ids,
    mentioned_user_ids,
    new_id,
    now_iso,
)


class DiscordMessages(DiscordCore):
    """Message rules shared by REST, webhooks, interactions and the control API."""

    def _validate(
        self, payload: Json, files: Sequence[tuple[str, str, bytes]], *, edit: bool
    ) -> None:
        content = payload.get("content")
        if content is not None and not isinstance(content, str):
            content = str(content)
        if content is not None and len(content) > MAX_CONTENT:
            raise ApiError(
                400,
                invalid_form(
                    "content", "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
                ),
            )
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            raise ApiError(
                400,
                invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."),
            )
        for _field_name, _filename, data in files:
            if len(data) > ATTACHMENT_SIZE_LIMIT:
                raise api_error(413, 40005, "Request entity too large")
        has_other = any(payload.get(k) for k in ("sticker_ids", "components", "poll"))
        if not edit and not content and not embeds and not files and not has_other:
            raise api_error(400, 50006, "Cannot send an empty message")

    def _store_attachment(
        self, channel_id: int, filename: str, data: bytes, meta: Json | None
    ) -> Json:
        att_id = new_id()
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self._files[att_id] = StoredFile(filename, content_type, data)
        url = f"{self.url}/attachments/{channel_id}/{att_id}/{filename}"
        att: Json = {
            "id": str(att_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
            "ephemeral": False,
            "flags": 0,
        }
        if meta and meta.get("description"):
            att["description"] = meta["description"]
        return att

    def _attachments(
        self, channel_id: int, payload: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> list[Json]:
        metas: dict[str, Json] = {}
        for meta in payload.get("attachments") or []:
            if isinstance(meta, dict) and "id" in meta:
                metas[str(meta["id"])] = meta
        result = []
        for index, (field_name, filename, data) in enumerate(files):
            key = field_name[len("files[") : -1] if field_name.startswith("files[") else str(index)
            meta = metas.get(key)
            name = str(meta.get("filename") or filename) if meta else filename
            result.append(self._store_attachment(channel_id, name, data, meta))
        return result

    def _mentions(
        self, channel: FakeChannel, content: str, allowed: Json | None, replied: FakeUser | None
    ) -> tuple[list[Json], list[str], bool]:
        parse = (
            ["users", "roles", "everyone"] if allowed is None else list(allowed.get("parse") or [])
        )
        allowed_users = {str(u) for u in (allowed or {}).get("users") or []}
        allowed_roles = {str(r) for r in (allowed or {}).get("roles") or []}
        guild = self.guilds.get(channel.guild_id) if channel.guild_id is not None else None
        mentions: list[Json] = []
        ids = [
            uid
            for uid in mentioned_user_ids(content)
            if uid in self.users and ("users" in parse or str(uid) in allowed_users)
        ]
        replied_user = True if allowed is None else bool(allowed.get("replied_user", False))
        if replied is not None and replied_user and replied.id not in ids:
            ids.append(replied.id)
        for uid in ids:
            data = self.users[uid].to_dict()
            if guild is not None and uid in guild.members:
                data["member"] = guild.members[uid].to_dict(with_user=False)
            mentions.append(data)
        roles = [
            str(r)
            for r in mentioned_role_ids(content)
            if guild is not None
            and r in guild.roles
            and ("roles" in parse or str(r) in allowed_roles)
        ]
        everyone = ("@everyone" in content or "@here" in content) and "everyone" in parse
        return mentions, roles, everyone

    def _create_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        payload: Json,
        files: Sequence[tuple[str, str, bytes]],
        *,
        webhook: FakeWebhook | None = None,
        webhook_author: Json | None = None,
        message_type: int = MESSAGE_TYPE_DEFAULT,
        interaction: FakeInteraction | None = None,
    ) -> Json:
        self._validate(payload, files, edit=False)
        content = str(payload.get("content") or "")
        flags = int(payload.get("flags") or 0)
        ephemeral = interaction is not None and bool(flags & FLAG_EPHEMERAL)
        reference: Json | None = None
        referenced: Json | None = None
        ref = payload.get("message_reference")
        if isinstance(ref, dict) and ref.get("message_id") is not None and webhook is None:
            ref_channel = int(ref.get("channel_id") or channel.id)
            parent = self._messages.get(ref_channel, {}).get(int(ref["message_id"]))
            if parent is None:
                if ref.get("fail_if_not_exists", True):
                    raise ApiError(
                        400,
                        invalid_form(
                            "message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message"
                        ),
                    )
            else:
                reference = {
                    "type": 0,
                    "message_id": parent["id"],
                    "channel_id": parent["channel_id"],
                    "guild_id": None if channel.guild_id is None else str(channel.guild_id),
                }
                referenced = {k: v for k, v in parent.items() if k != "referenced_message"}
                message_type = MESSAGE_TYPE_REPLY
        replied = (
            self.users.get(int(referenced["author"]["id"])) if referenced is not None else None
        )
        if referenced is not None and "webhook_id" in referenced:
            replied = None
        allowed = payload.get("allowed_mentions")
        mentions, mention_roles, everyone = self._mentions(
            channel, content, allowed if isinstance(allowed, dict) else None, replied
        )
        message: Json = {
            "id": str(new_id()),
            "type": message_type,
            "channel_id": str(channel.id),
            "author": webhook_author if webhook_author is not None else author.to_dict(),
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": self._attachments(channel.id, payload, files),
            "embeds": list(payload.get("embeds") or []),
            "reactions": [],
            "pinned": False,
            "flags": flags & FLAG_EPHEMERAL if interaction is not None else 0,
            "components": list(payload.get("components") or []),
        }
        if payload.get("nonce") is not None:
            message["nonce"] = payload["nonce"]
        if webhook is not None:
            message["webhook_id"] = str(webhook.id)
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": 2,
                "user": interaction.user.to_dict(),
                "authorizing_integration_owners": interaction.payload.get(
                    "authorizing_integration_owners", {}
                ),
                "name": interaction.name,
                "command_type": 1,
            }
        if reference is not None:
            message["message_reference"] = reference
            message["referenced_message"] = referenced
        if ephemeral:
            self.ephemeral_messages[int(message["id"])] = message
            self._notify()
            return message
        self._messages.setdefault(channel.id, {})[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        self._broadcast(
            "MESSAGE_CREATE", self._message_event(message), intent=self._message_intent(channel)
        )
        self._notify()
        return message

    def _edit_message(
        self, message: Json, payload: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> Json:
        self._validate(payload, files, edit=True)
        channel = self.channels[int(message["channel_id"])]
        if "content" in payload:
            message["content"] = str(payload["content"] or "")
            allowed = payload.get("allowed_mentions")
            mentions, roles, everyone = self._mentions(
                channel, message["content"], allowed if isinstance(allowed, dict) else None, None
            )
            message.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        if "embeds" in payload:
            message["embeds"] = list(payload["embeds"] or [])
        if "components" in payload:
            message["components"] = list(payload["components"] or [])
        if "attachments" in payload or files:
            keep = {str(a["id"]) for a in payload.get("attachments") or [] if isinstance(a, dict)}
            kept = [a for a in message["attachments"] if a["id"] in keep]
            message["attachments"] = kept + self._attachments(channel.id, payload, files)
        message["edited_timestamp"] = now_iso()
        if int(message["id"]) in self.ephemeral_messages:
            self._notify()
            return message
        self._broadcast(
            "MESSAGE_UPDATE", self._message_event(message), intent=self._message_intent(channel)
        )
        self._notify()
        return message

    def _delete_message(self, message: Json) -> None:
        mid = int(message["id"])
        if self.ephemeral_messages.pop(mid, None) is not None:
            self._notify()
            return
        channel = self.channels[int(message["channel_id"])]
        del self._messages[channel.id][mid]
        self.deleted_messages.append(message)
        data: Json = {"id": message["id"], "channel_id": message["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        self._broadcast("MESSAGE_DELETE", data, intent=self._message_intent(channel))
        self._notify()

    def _react(self, message: Json, user: FakeUser, emoji: str, *, add: bool) -> None:
        channel = self.channels[int(message["channel_id"])]
        emoji_data: Json
        if ":" in emoji:
            name, _, eid = emoji.partition(":")
            emoji_data = {"id": eid, "name": name}
        else:
            emoji_data = {"id": None, "name": emoji}
        reactors = self._reactors.setdefault(int(message["id"]), {})
        users = reactors.setdefault(emoji, [])
        if add == (user.id in users):
            return  # adding twice / removing what is not there changes nothing
        if add:
            users.append(user.id)
        else:
            users.remove(user.id)
        message["reactions"] = [
            {
                "emoji": {"id": None, "name": e}
                if ":" not in e
                else {"id": e.split(":")[1], "name": e.split(":")[0]},
                "count": len(u),
                "count_details": {"burst": 0, "normal": len(u)},
                "me": self.bot_user.id in u,
                "me_burst": False,
                "burst_colors": [],
            }
            for e, u in reactors.items()
            if u
        ]
        data: Json = {
            "user_id": str(user.id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "emoji": emoji_data,
            "burst": False,
            "type": 0,
        }
        intent = INTENT_DIRECT_MESSAGE_REACTIONS
        if channel.guild_id is not None:
            intent = INTENT_GUILD_MESSAGE_REACTIONS
            data["guild_id"] = str(channel.guild_id)
            member = self.guilds[channel.guild_id].members.get(user.id)
            if add and member is not None:
                data["member"] = member.to_dict()
        if add:
            data["message_author_id"] = message["author"]["id"]
            data["burst_colors"] = []
        self._broadcast(
            "MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", data, intent=intent
        )
