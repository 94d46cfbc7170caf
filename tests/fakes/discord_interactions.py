"""Application commands and interactions in the Discord stand-in."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.fakes.discord_http import BODY, ApiError, Body, api_error, json_response, to_int
from tests.fakes.discord_messages import DiscordMessages
from tests.fakes.discord_models import (
    ATTACHMENT_SIZE_LIMIT,
    EVERYONE_PERMISSIONS,
    FLAG_EPHEMERAL,
    MESSAGE_TYPE_CHAT_INPUT_COMMAND,
    FakeInteraction,
    FakeUser,
    InteractionResponse,
    Json,
    invalid_form,
    new_id,
    new_token,
)

_COMMAND_NAME_RE = re.compile(r"^[-_\w]{1,32}$")
_OPTION_USER = 6
_OPTION_ATTACHMENT = 11


class DiscordInteractions(DiscordMessages):
    """Slash commands: registration over REST, invocation by a user, responses."""

    def user_invokes_command(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        channel_id: int,
        user: FakeUser | int,
    ) -> FakeInteraction:
        """A user runs a registered slash command: dispatched as INTERACTION_CREATE.

        Option values: str/int/float/bool as is; a FakeUser for USER options; a
        ``(filename, bytes)`` pair for ATTACHMENT options.
        """
        channel = self._channel(channel_id)
        author = self._user(user)
        command, scope = self._find_command(name, channel.guild_id)
        resolved: Json = {}
        option_list: list[Json] = []
        declared = {o["name"]: o for o in command.get("options") or []}
        for key, value in (options or {}).items():
            if key not in declared:
                raise ValueError(f"/{name} has no option {key!r}")
            opt_type = int(declared[key]["type"])
            if opt_type == _OPTION_USER:
                target = self._user(value)
                resolved.setdefault("users", {})[str(target.id)] = target.to_dict()
                if channel.guild_id is not None:
                    member = self._guild(channel.guild_id).members.get(target.id)
                    if member is not None:
                        resolved.setdefault("members", {})[str(target.id)] = member.to_dict(
                            with_user=False, permissions=0
                        )
                value = str(target.id)
            elif opt_type == _OPTION_ATTACHMENT:
                filename, file_data = value
                att = self._store_attachment(channel.id, filename, file_data, None)
                resolved.setdefault("attachments", {})[att["id"]] = att
                value = att["id"]
            option_list.append({"name": key, "type": opt_type, "value": value})
        data: Json = {"id": command["id"], "name": name, "type": 1, "options": option_list}
        if resolved:
            data["resolved"] = resolved
        if scope is not None:
            data["guild_id"] = str(scope)
        interaction = FakeInteraction(
            id=new_id(),
            token=new_token(),
            name=name,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            user=author,
            payload={},
        )
        payload: Json = {
            "id": str(interaction.id),
            "application_id": str(self.application_id),
            "type": 2,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel.to_dict(),
            "token": interaction.token,
            "version": 1,
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if channel.guild_id is not None:
            guild = self._guild(channel.guild_id)
            payload["guild_id"] = str(guild.id)
            payload["guild_locale"] = "en-US"
            payload["guild"] = {"id": str(guild.id), "locale": "en-US", "features": []}
            payload["member"] = guild.members[author.id].to_dict(
                permissions=guild.permissions_of(author.id)
            )
            payload["app_permissions"] = str(guild.permissions_of(self.bot_user.id))
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        else:
            payload["user"] = author.to_dict()
            payload["app_permissions"] = str(EVERYONE_PERMISSIONS)
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        interaction.payload = payload
        self.interactions[interaction.id] = interaction
        self._broadcast("INTERACTION_CREATE", payload, intent=None)
        return interaction

    async def _get_commands(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        scope = to_int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        return json_response(self.commands.get(scope, []))

    async def _put_commands(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        if to_int(request.match_info["app_id"]) != self.application_id:
            raise api_error(403, 50035, "Invalid application")
        scope = to_int(request.match_info["guild_id"]) if "guild_id" in request.match_info else None
        if scope is not None and scope not in self.guilds:
            raise api_error(404, 10004, "Unknown Guild")
        body: Body = request[BODY]
        items = body.json if isinstance(body.json, list) else []
        existing = {(c["name"], c["type"]): c for c in self.commands.get(scope, [])}
        result: list[Json] = []
        for index, item in enumerate(items):
            name = str(item.get("name", ""))
            ctype = int(item.get("type", 1))
            if not _COMMAND_NAME_RE.match(name) or (ctype == 1 and name != name.lower()):
                raise ApiError(
                    400,
                    {
                        "message": "Invalid Form Body",
                        "code": 50035,
                        "errors": {str(index): {"name": {}}},
                    },
                )
            old = existing.get((name, ctype))
            command: Json = {
                "id": old["id"] if old else str(new_id()),
                "application_id": str(self.application_id),
                "version": str(new_id()),
                "type": ctype,
                "name": name,
                "description": item.get("description", ""),
                "options": item.get("options", []),
                "default_member_permissions": item.get("default_member_permissions"),
                "dm_permission": item.get("dm_permission", True),
                "nsfw": item.get("nsfw", False),
                "contexts": item.get("contexts"),
                "integration_types": item.get("integration_types", [0]),
                "name_localizations": item.get("name_localizations"),
                "description_localizations": item.get("description_localizations"),
            }
            if scope is not None:
                command["guild_id"] = str(scope)
            result.append(command)
        self.commands[scope] = result
        return json_response(result)

    def _interaction_message(
        self, interaction: FakeInteraction, data: Json, files: Sequence[tuple[str, str, bytes]]
    ) -> Json:
        channel = self.channels[interaction.channel_id]
        return self._create_message(
            channel,
            self.bot_user,
            data,
            files,
            message_type=MESSAGE_TYPE_CHAT_INPUT_COMMAND,
            interaction=interaction,
        )

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        interaction = self.interactions.get(to_int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise api_error(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise api_error(400, 40060, "Interaction has already been acknowledged.")
        body: Body = request[BODY]
        payload = body.payload()
        rtype = int(payload.get("type", 0))
        data = payload.get("data") or {}
        if rtype not in (1, 4, 5, 6, 7, 8, 9, 10, 12):
            raise ApiError(
                400,
                invalid_form("type", "BASE_TYPE_CHOICES", "Value must be one of {1, 4, 5, ...}."),
            )
        message: Json | None = None
        if rtype == 4:
            message = self._interaction_message(interaction, data, body.files)
            interaction.original_message = message
        interaction.acknowledged = True
        interaction.responses.append(InteractionResponse("callback", rtype, data, message))
        self._notify()
        if request.query.get("with_response", "false").lower() not in ("1", "true"):
            return web.Response(status=204)
        ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
        info: Json = {
            "id": str(interaction.id),
            "type": 2,
            "response_message_loading": rtype == 5,
            "response_message_ephemeral": ephemeral,
        }
        result: Json = {"interaction": info}
        if message is not None:
            info["response_message_id"] = message["id"]
            result["resource"] = {"type": rtype, "message": self._public(message)}
        else:
            result["resource"] = {"type": rtype}
        return json_response(result)

    def _followup(
        self, interaction: FakeInteraction, payload: Json, body: Body, wait: bool
    ) -> web.StreamResponse:
        if not interaction.acknowledged:
            raise api_error(404, 10015, "Unknown Webhook")
        message = self._interaction_message(interaction, payload, body.files)
        interaction.responses.append(InteractionResponse("followup", None, payload, message))
        if not wait:
            return web.Response(status=204)
        return json_response(self._public(message))

    def _interaction_by_token(self, request: web.Request) -> FakeInteraction | None:
        if to_int(request.match_info["webhook_id"]) != self.application_id:
            return None
        token = request.match_info["token"]
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        return None
