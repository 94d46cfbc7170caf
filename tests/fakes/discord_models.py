"""Data model of the Discord stand-in (see ``tests/fakes/discord.py``).

Everything here is plain data: users, guilds, channels, webhooks, and the records the fake keeps
of what clients did. The payload builders follow Discord's API v10 object shapes closely enough
for discord.py 2.7 to parse them.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | ATTACH_FILES
    | EMBED_LINKS
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)
DEFAULT_BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_WEBHOOKS | MANAGE_MESSAGES

# Gateway intent bits.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Application flags saying which privileged intents the application may use.
APP_FLAG_PRESENCE_LIMITED = 1 << 13
APP_FLAG_GUILD_MEMBERS_LIMITED = 1 << 15
APP_FLAG_MESSAGE_CONTENT_LIMITED = 1 << 19

# Message flags / types.
FLAG_EPHEMERAL = 1 << 6
MESSAGE_TYPE_DEFAULT = 0
MESSAGE_TYPE_REPLY = 19
MESSAGE_TYPE_CHAT_INPUT_COMMAND = 20

CHANNEL_TYPE_TEXT = 0
CHANNEL_TYPE_DM = 1

MAX_CONTENT = 2000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class _Snowflakes:
    """Unique, increasing snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._last = 0
        self._counter = itertools.count()

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        value = (ms << 22) | (next(self._counter) & 0xFFF)
        value = max(value, self._last + 1)
        self._last = value
        return value


snowflakes = _Snowflakes()


def new_id() -> int:
    """A fresh snowflake."""
    return snowflakes.next()


def new_token() -> str:
    """A random token (webhook and interaction tokens)."""
    return secrets.token_urlsafe(48)


def now_iso() -> str:
    """The current time as Discord formats timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord user (a person, or the bot)."""

    id: int
    username: str
    global_name: str | None = None
    avatar: str | None = None
    bot: bool = False

    def to_dict(self) -> Json:
        data: Json = {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": self.avatar,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0

    def to_dict(self) -> Json:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    role_ids: list[int]
    joined_at: str = field(default_factory=now_iso)
    nick: str | None = None

    def to_dict(self, *, with_user: bool = True, permissions: int | None = None) -> Json:
        data: Json = {
            "nick": self.nick,
            "avatar": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.to_dict()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeChannel:
    id: int
    name: str
    guild_id: int | None
    type: int = CHANNEL_TYPE_TEXT
    position: int = 0
    topic: str | None = None
    recipients: list[FakeUser] = field(default_factory=list)
    last_message_id: int | None = None

    def to_dict(self) -> Json:
        if self.type == CHANNEL_TYPE_DM:
            return {
                "id": str(self.id),
                "type": CHANNEL_TYPE_DM,
                "last_message_id": _opt_str(self.last_message_id),
                "recipients": [u.to_dict() for u in self.recipients],
                "flags": 0,
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": _opt_str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": self.topic,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)

    def permissions_of(self, user_id: int) -> int:
        """The guild-level permissions of a member (no channel overwrites in this fake)."""
        member = self.members.get(user_id)
        if member is None:
            return 0
        if user_id == self.owner_id:
            return (1 << 53) - 1
        perms = self.roles[self.id].permissions
        for role_id in member.role_ids:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return (1 << 53) - 1
        return perms

    def to_dict(self, *, bot_id: int, include_all_members: bool) -> Json:
        members = [
            m.to_dict() for uid, m in self.members.items() if include_all_members or uid == bot_id
        ]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "premium_progress_bar_enabled": False,
            "features": [],
            "roles": [r.to_dict() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "joined_at": now_iso(),
            "large": len(self.members) >= 250,
            "unavailable": False,
            "member_count": len(self.members),
            "members": members,
            "channels": [c.to_dict() for c in self.channels.values()],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


@dataclass
class FakeWebhook:
    id: int
    token: str
    channel_id: int
    guild_id: int | None
    name: str
    avatar: str | None = None
    creator: FakeUser | None = None
    application_id: int | None = None

    @property
    def url(self) -> str:
        """The URL real Discord would give (discord.py's ``Webhook.from_url`` format)."""
        return f"https://discord.com/api/webhooks/{self.id}/{self.token}"

    def to_dict(self, *, with_user: bool = True) -> Json:
        data: Json = {
            "id": str(self.id),
            "type": 1,
            "guild_id": _opt_str(self.guild_id),
            "channel_id": str(self.channel_id),
            "name": self.name,
            "avatar": self.avatar,
            "token": self.token,
            "application_id": _opt_str(self.application_id),
        }
        if with_user and self.creator is not None:
            data["user"] = self.creator.to_dict()
        return data


@dataclass
class StoredFile:
    """An attachment's bytes, served by the fake at its ``url``."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class RestCall:
    """One REST request the fake received (recorded whether it succeeded, failed or was faulted)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    form: dict[str, str]
    files: list[tuple[str, str, bytes]]
    status: int = 0


@dataclass
class WebhookExecution:
    """One execution of a channel webhook (what a bridge posts on behalf of a remote user)."""

    webhook_id: int
    payload: Json
    files: list[tuple[str, bytes]]
    message: Json | None

    @property
    def content(self) -> str | None:
        value = self.payload.get("content")
        return value if isinstance(value, str) else None

    @property
    def username(self) -> str | None:
        value = self.payload.get("username")
        return value if isinstance(value, str) else None

    @property
    def avatar_url(self) -> str | None:
        value = self.payload.get("avatar_url")
        return value if isinstance(value, str) else None

    @property
    def allowed_mentions(self) -> Json | None:
        value = self.payload.get("allowed_mentions")
        return value if isinstance(value, dict) else None


@dataclass
class InteractionResponse:
    """A response to an interaction: a callback (kind 'callback'), a follow-up, or an edit."""

    kind: str
    type: int | None
    data: Json
    message: Json | None

    @property
    def ephemeral(self) -> bool:
        return bool(int(self.data.get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def content(self) -> str | None:
        value = self.data.get("content")
        return value if isinstance(value, str) else None


@dataclass
class FakeInteraction:
    id: int
    token: str
    name: str
    channel_id: int
    guild_id: int | None
    user: FakeUser
    payload: Json
    acknowledged: bool = False
    original_message: Json | None = None
    responses: list[InteractionResponse] = field(default_factory=list)


@dataclass
class Fault:
    """A queued failure for requests whose ``"METHOD /path"`` matches ``pattern`` (fnmatch)."""

    pattern: str
    status: int
    remaining: int
    retry_after: float
    is_global: bool
    via: bool
    body: Json | None


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def mentioned_user_ids(content: str) -> list[int]:
    seen: list[int] = []
    for match in _MENTION_RE.finditer(content):
        uid = int(match.group(1))
        if uid not in seen:
            seen.append(uid)
    return seen


def mentioned_role_ids(content: str) -> list[int]:
    return [int(m.group(1)) for m in _ROLE_MENTION_RE.finditer(content)]


def invalid_form(field_name: str, code: str, message: str) -> Json:
    """Discord's 400 body for a rejected field."""
    return {
        "message": "Invalid Form Body",
        "code": 50035,
        "errors": {field_name: {"_errors": [{"code": code, "message": message}]}},
    }
