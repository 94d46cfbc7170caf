"""Webhooks in the Discord stand-in (interaction tokens share their routes)."""

from __future__ import annotations

from aiohttp import web

from tests.fakes.discord_http import (
    BODY,
    ApiError,
    Body,
    api_error,
    avatar_hash,
    check_webhook_name,
    json_response,
    to_int,
)
from tests.fakes.discord_interactions import DiscordInteractions
from tests.fakes.discord_models import (
    MANAGE_WEBHOOKS,
    FakeChannel,
    FakeInteraction,
    FakeWebhook,
    InteractionResponse,
    Json,
    WebhookExecution,
    invalid_form,
    new_id,
    new_token,
)


class DiscordWebhooks(DiscordInteractions):
    """Webhook management and execution, and the messages they own."""

    def _require_manage_webhooks(self, channel: FakeChannel) -> None:
        if not self._bot_permissions(channel) & MANAGE_WEBHOOKS:
            raise api_error(403, 50013, "Missing Permissions")

    async def _list_channel_webhooks(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        self._require_manage_webhooks(channel)
        return json_response(
            [w.to_dict() for w in self.webhooks.values() if w.channel_id == channel.id]
        )

    async def _list_guild_webhooks(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(to_int(request.match_info["guild_id"]))
        if guild is None:
            raise api_error(404, 10004, "Unknown Guild")
        if not guild.permissions_of(self.bot_user.id) & MANAGE_WEBHOOKS:
            raise api_error(403, 50013, "Missing Permissions")
        return json_response(
            [w.to_dict() for w in self.webhooks.values() if w.guild_id == guild.id]
        )

    async def _create_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        self._require_manage_webhooks(channel)
        payload = request[BODY].payload()
        name = payload.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise ApiError(
                400,
                invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."),
            )
        check_webhook_name("name", name)
        webhook = FakeWebhook(
            id=new_id(),
            token=new_token(),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            name=name,
            avatar=avatar_hash(payload["avatar"]) if payload.get("avatar") else None,
            creator=self.bot_user,
            application_id=self.application_id,
        )
        self.webhooks[webhook.id] = webhook
        return json_response(webhook.to_dict())

    def _webhook_from(self, request: web.Request, *, check_token: bool) -> FakeWebhook:
        webhook = self.webhooks.get(to_int(request.match_info["webhook_id"]))
        if webhook is None:
            raise api_error(404, 10015, "Unknown Webhook")
        if check_token and request.match_info["token"] != webhook.token:
            raise api_error(401, 50027, "Invalid Webhook Token")
        return webhook

    async def _get_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        return json_response(self._webhook_from(request, check_token=False).to_dict())

    async def _delete_webhook(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        webhook = self._webhook_from(request, check_token=False)
        self._require_manage_webhooks(self.channels[webhook.channel_id])
        del self.webhooks[webhook.id]
        return web.Response(status=204)

    async def _get_webhook_with_token(self, request: web.Request) -> web.StreamResponse:
        return json_response(self._webhook_from(request, check_token=True).to_dict(with_user=False))

    async def _execute_webhook(self, request: web.Request) -> web.StreamResponse:
        body: Body = request[BODY]
        payload = body.payload()
        wait = request.query.get("wait", "false").lower() in ("1", "true")
        interaction = self._interaction_by_token(request)
        if interaction is not None:
            return self._followup(interaction, payload, body, wait)
        webhook = self._webhook_from(request, check_token=True)
        username = payload.get("username")
        if username is not None:
            if not isinstance(username, str) or not 1 <= len(username) <= 80:
                raise ApiError(
                    400,
                    invalid_form(
                        "username", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."
                    ),
                )
            check_webhook_name("username", username)
        avatar_url = payload.get("avatar_url")
        author = {
            "id": str(webhook.id),
            "username": username or webhook.name,
            "global_name": None,
            "discriminator": "0000",
            "avatar": avatar_hash(avatar_url)
            if isinstance(avatar_url, str) and avatar_url
            else webhook.avatar,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
        }
        channel = self.channels[webhook.channel_id]
        execution = WebhookExecution(webhook.id, payload, [(f, d) for _, f, d in body.files], None)
        self.webhook_executions.append(execution)
        message = self._create_message(
            channel, self.bot_user, payload, body.files, webhook=webhook, webhook_author=author
        )
        execution.message = message
        if not wait:
            return web.Response(status=204)
        return json_response(self._public(message))

    def _webhook_message(self, request: web.Request) -> tuple[Json, FakeInteraction | None]:
        interaction = self._interaction_by_token(request)
        mid_text = request.match_info["message_id"]
        if interaction is not None:
            if mid_text == "@original":
                if interaction.original_message is None:
                    raise api_error(404, 10008, "Unknown Message")
                return interaction.original_message, interaction
            mid = to_int(mid_text)
            for resp in interaction.responses:
                if resp.message is not None and int(resp.message["id"]) == mid:
                    return resp.message, interaction
            raise api_error(404, 10008, "Unknown Message")
        webhook = self._webhook_from(request, check_token=True)
        message = self._messages.get(webhook.channel_id, {}).get(to_int(mid_text))
        if message is None or message.get("webhook_id") != str(webhook.id):
            raise api_error(404, 10008, "Unknown Message")
        return message, None

    async def _get_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message, _ = self._webhook_message(request)
        return json_response(self._public(message))

    async def _patch_webhook_message(self, request: web.Request) -> web.StreamResponse:
        body: Body = request[BODY]
        payload = body.payload()
        interaction = self._interaction_by_token(request)
        if (
            interaction is not None
            and request.match_info["message_id"] == "@original"
            and interaction.original_message is None
            and interaction.acknowledged
        ):
            # Editing a deferred response creates the message.
            deferred = next((r for r in interaction.responses if r.type == 5), None)
            flags = int((deferred.data if deferred else {}).get("flags") or 0)
            message = self._interaction_message(
                interaction, {**payload, "flags": flags}, body.files
            )
            interaction.original_message = message
            interaction.responses.append(
                InteractionResponse("edit_original", None, payload, message)
            )
            return json_response(self._public(message))
        message, interaction = self._webhook_message(request)
        edited = self._edit_message(message, payload, body.files)
        if interaction is not None:
            interaction.responses.append(InteractionResponse("edit", None, payload, edited))
        return json_response(self._public(edited))

    async def _delete_webhook_message(self, request: web.Request) -> web.StreamResponse:
        message, _ = self._webhook_message(request)
        self._delete_message(message)
        return web.Response(status=204)
