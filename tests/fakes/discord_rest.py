"""REST API v10 of the Discord stand-in: users, the application, channels, messages, reactions,
guilds; every request is recorded and may be answered by an injected fault.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from aiohttp import web

from tests.fakes.discord_http import (
    API_PREFIX,
    BODY,
    ApiError,
    Body,
    api_error,
    fault_response,
    json_response,
    matches,
    read_body,
    to_int,
)
from tests.fakes.discord_messages import DiscordMessages
from tests.fakes.discord_models import (
    APP_FLAG_GUILD_MEMBERS_LIMITED,
    APP_FLAG_MESSAGE_CONTENT_LIMITED,
    APP_FLAG_PRESENCE_LIMITED,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    MANAGE_MESSAGES,
    Fault,
    RestCall,
    invalid_form,
)


class DiscordRest(DiscordMessages):
    """The bot's REST routes (webhooks and interactions are elsewhere)."""

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)
        body = await read_body(request)
        request[BODY] = body
        path = (
            request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        )
        call = RestCall(
            method=request.method,
            path=path,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body.json,
            form=dict(body.form),
            files=list(body.files),
        )
        self.rest_calls.append(call)
        response: web.StreamResponse
        fault = self._take_fault(request.method, path)
        if fault is not None:
            response = fault_response(fault)
        else:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = json_response(exc.body, exc.status)
            except web.HTTPException:
                raise
        call.status = response.status
        self._notify()
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and matches(fault.pattern, method, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    async def _get_attachment(self, request: web.Request) -> web.StreamResponse:
        stored = self._files.get(to_int(request.match_info["att_id"]))
        if stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})

    async def _get_gateway(self, request: web.Request) -> web.StreamResponse:
        return json_response({"url": self.gateway_url.rstrip("/")})

    async def _get_gateway_bot(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
        return json_response(
            {"url": self.gateway_url.rstrip("/"), "shards": 1, "session_start_limit": limit}
        )

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        uid = request.match_info["user_id"]
        if uid == "@me":
            data = self.bot_user.to_dict()
            data.update(verified=True, mfa_enabled=False, email=None, locale="en-US")
            return json_response(data)
        user = self.users.get(to_int(uid))
        if user is None:
            raise api_error(404, 10013, "Unknown User")
        return json_response(user.to_dict())

    async def _get_application(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        flags = 0
        if self.granted_intents & INTENT_GUILD_MEMBERS:
            flags |= APP_FLAG_GUILD_MEMBERS_LIMITED
        if self.granted_intents & INTENT_GUILD_PRESENCES:
            flags |= APP_FLAG_PRESENCE_LIMITED
        if self.granted_intents & INTENT_MESSAGE_CONTENT:
            flags |= APP_FLAG_MESSAGE_CONTENT_LIMITED
        return json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user.username,
                "icon": None,
                "description": "Parley test application",
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner.to_dict(),
                "verify_key": "0" * 64,
                "team": None,
                "flags": flags,
                "bot": self.bot_user.to_dict(),
                "summary": "",
                "interactions_endpoint_url": None,
                "approximate_guild_count": len(self.guilds),
            }
        )

    async def _create_dm(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        payload = request[BODY].payload()
        user = self.users.get(to_int(payload.get("recipient_id")))
        if user is None:
            raise ApiError(400, invalid_form("recipient_id", "NUMBER_TYPE_COERCE", "Unknown user"))
        return json_response(self.dm_channel(user).to_dict())

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        return json_response(self._channel_from(request).to_dict())

    async def _typing(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        self._channel_from(request)
        return web.Response(status=204)

    async def _list_messages(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        limit = min(int(request.query.get("limit", "50")), 100)
        items = sorted(
            self._messages[channel.id].values(), key=lambda m: int(m["id"]), reverse=True
        )
        if "before" in request.query:
            items = [m for m in items if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            items = [m for m in items if int(m["id"]) > int(request.query["after"])]
            items = list(reversed(list(reversed(items))[:limit]))
        return json_response([self._public(m) for m in items[:limit]])

    async def _post_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        body: Body = request[BODY]
        message = self._create_message(channel, self.bot_user, body.payload(), body.files)
        return json_response(self._public(message))

    async def _get_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        return json_response(self._public(self._message_from(request, channel)))

    async def _patch_message(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        if message["author"]["id"] != str(self.bot_user.id) or "webhook_id" in message:
            raise api_error(403, 50005, "Cannot edit a message authored by another user")
        body: Body = request[BODY]
        return json_response(self._public(self._edit_message(message, body.payload(), body.files)))

    async def _delete_message_route(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        own = message["author"]["id"] == str(self.bot_user.id) and "webhook_id" not in message
        if not own and not self._bot_permissions(channel) & MANAGE_MESSAGES:
            raise api_error(403, 50013, "Missing Permissions")
        self._delete_message(message)
        return web.Response(status=204)

    async def _put_reaction(self, request: web.Request) -> web.StreamResponse:
        return await self._reaction_route(request, add=True)

    async def _delete_reaction(self, request: web.Request) -> web.StreamResponse:
        return await self._reaction_route(request, add=False)

    async def _reaction_route(self, request: web.Request, *, add: bool) -> web.StreamResponse:
        self._require_bot(request)
        channel = self._channel_from(request)
        message = self._message_from(request, channel)
        emoji = unquote(request.match_info["emoji"])
        if not emoji:
            raise api_error(400, 10014, "Unknown Emoji")
        self._react(message, self.bot_user, emoji, add=add)
        return web.Response(status=204)

    async def _get_guild(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(to_int(request.match_info["guild_id"]))
        if guild is None:
            raise api_error(404, 10004, "Unknown Guild")
        data = guild.to_dict(bot_id=self.bot_user.id, include_all_members=False)
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return json_response(data)

    async def _get_guild_channels(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(to_int(request.match_info["guild_id"]))
        if guild is None:
            raise api_error(404, 10004, "Unknown Guild")
        return json_response([c.to_dict() for c in guild.channels.values()])

    async def _get_member(self, request: web.Request) -> web.StreamResponse:
        self._require_bot(request)
        guild = self.guilds.get(to_int(request.match_info["guild_id"]))
        if guild is None:
            raise api_error(404, 10004, "Unknown Guild")
        member = guild.members.get(to_int(request.match_info["user_id"]))
        if member is None:
            raise api_error(404, 10007, "Unknown Member")
        return json_response(member.to_dict())
