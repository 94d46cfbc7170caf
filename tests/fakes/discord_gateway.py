"""The gateway websocket of the Discord stand-in: hello, identify, resume, member requests."""

from __future__ import annotations

import json
import uuid

from aiohttp import WSMsgType, web

from tests.fakes.discord_core import Connection, DiscordCore, Session
from tests.fakes.discord_http import to_int
from tests.fakes.discord_models import (
    APP_FLAG_GUILD_MEMBERS_LIMITED,
    APP_FLAG_MESSAGE_CONTENT_LIMITED,
    INTENT_GUILD_MEMBERS,
    INTENT_MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    Json,
)


class DiscordGateway(DiscordCore):
    """Gateway connections and sessions."""

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, request)
        self._connections.append(conn)
        conn.send(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    self.gateway_received.append(frame)
                    self._on_frame(conn, frame)
                    self._notify()
        finally:
            await conn.finish()
            self._connections.remove(conn)
            session = conn.session
            if session is not None and session.conn is conn:
                session.conn = None
                if not conn.server_closed and ws.close_code in (1000, 1001):
                    # A client's clean close ends its session, as on Discord.
                    self._sessions.pop(session.id, None)
            self._notify()
        return ws

    def _on_frame(self, conn: Connection, frame: Json) -> None:
        op = frame.get("op")
        data = frame.get("d")
        if op == 1:
            conn.send(json.dumps({"op": 11}))
        elif op == 2 and isinstance(data, dict):
            self._identify(conn, data)
        elif op == 6 and isinstance(data, dict):
            self._resume(conn, data)
        elif op == 8 and isinstance(data, dict):
            if conn.session is None:
                conn.close(4003, "Not authenticated.")
            else:
                self._request_members(conn.session, data)
        elif op in (3, 4):
            pass  # presence / voice state updates: accepted and ignored
        else:
            conn.close(4001, "Unknown opcode.")

    def _identify(self, conn: Connection, data: Json) -> None:
        self.identifies.append(data)
        if conn.session is not None:
            conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.token:
            conn.close(4004, "Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            conn.close(4013, "Invalid intent(s).")
            return
        if intents & PRIVILEGED_INTENTS & ~self.granted_intents:
            conn.close(4014, "Disallowed intent(s).")
            return
        shard = data.get("shard")
        session = Session(
            id=uuid.uuid4().hex, intents=intents, shard=shard if isinstance(shard, list) else None
        )
        self._sessions[session.id] = session
        session.conn = conn
        conn.session = session
        me = self.bot_user.to_dict()
        me.update(verified=True, mfa_enabled=False, email=None)
        flags = 0
        if self.granted_intents & INTENT_MESSAGE_CONTENT:
            flags |= APP_FLAG_MESSAGE_CONTENT_LIMITED
        if self.granted_intents & INTENT_GUILD_MEMBERS:
            flags |= APP_FLAG_GUILD_MEMBERS_LIMITED
        ready: Json = {
            "v": 10,
            "user": me,
            "guilds": [{"id": str(gid), "unavailable": True} for gid in self.guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        self._dispatch_to(session, "READY", ready)
        if intents & 1:  # GUILDS
            for guild in self.guilds.values():
                payload = guild.to_dict(
                    bot_id=self.bot_user.id, include_all_members=self.members_in_guild_create
                )
                self._dispatch_to(session, "GUILD_CREATE", payload)

    def _resume(self, conn: Connection, data: Json) -> None:
        self.resumes.append(data)
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            conn.send(json.dumps({"op": 9, "d": False}))
            return
        old = session.conn
        if old is not None and old is not conn:
            old.close(4000, "Session resumed elsewhere.")
        session.conn = conn
        conn.session = session
        seq = data.get("seq") or 0
        for s, frame in session.log:
            if s > seq:
                conn.send(frame)
        self._dispatch_to(session, "RESUMED", {})

    def _request_members(self, session: Session, data: Json) -> None:
        guild = self.guilds.get(to_int(data.get("guild_id")))
        if guild is None:
            return
        members = list(guild.members.values())
        if data.get("user_ids"):
            wanted = {int(u) for u in data["user_ids"]}
            members = [m for m in members if m.user.id in wanted]
        elif data.get("query"):
            query = str(data["query"]).lower()
            members = [m for m in members if m.user.username.lower().startswith(query)]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: Json = {
            "guild_id": str(guild.id),
            "members": [m.to_dict() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)
