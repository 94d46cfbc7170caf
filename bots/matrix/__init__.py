"""Matrix, as an application service with a puppet per bridged person (mautrix-python).

``SPEC`` is what ``bots/registry.py`` lists; the adapter itself is imported only when the
bridge makes it, so that ``parley`` starts fast whatever is configured.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bots.matrix.cli import add_arguments
from bots.matrix.formatting import to_matrix
from bots.matrix.settings import ENV_SECRETS, MatrixSettings, check
from bridge.config import Settings
from bridge.model import Adapter, ChatId, UserId
from bridge.platforms import PlatformContext, PlatformSpec

if TYPE_CHECKING:
    import aiohttp

__all__ = ["SPEC"]

# "!opaque:server" before room version 12, "!<base64 hash>" since: printable ASCII after "!".
_ROOM_ID = re.compile(r"^![\x21-\x7e]{1,254}$")
_USER_ID = re.compile(r"^@[a-z0-9._=\-/+]{1,255}:[A-Za-z0-9.:\-\[\]]{1,255}$")


def parse_room_id(text: str) -> ChatId:
    if _ROOM_ID.match(text) is None:
        raise ValueError(f"{text!r} is not a Matrix room id (!opaque:server or !hash)")
    return ChatId(text)


def parse_user_ref(text: str) -> UserId | None:
    return UserId(text) if _USER_ID.match(text) else None


def _enabled(settings: Settings) -> bool:
    return settings.section(MatrixSettings).enabled


async def _probe(settings: Settings, http: aiohttp.ClientSession) -> tuple[bool, str]:
    """The homeserver answers and knows our as_token (it loaded the registration)."""
    from bots.matrix.settings import tokens

    matrix = settings.section(MatrixSettings)
    as_token, _ = tokens(matrix)
    url = f"{matrix.homeserver_url}/_matrix/client/v3/account/whoami"
    async with http.get(url, headers={"Authorization": f"Bearer {as_token}"}) as resp:
        body = await resp.json(content_type=None)
    if resp.status != 200 or not isinstance(body, dict):
        errcode = body.get("errcode", "") if isinstance(body, dict) else ""
        hint = " (is the registration in app_service_config_files?)" if resp.status == 401 else ""
        return False, f"whoami answered HTTP {resp.status} {errcode}{hint}"
    return True, f"appservice bot {body.get('user_id', '?')}"


def _factory(context: PlatformContext) -> Adapter:
    from bots.matrix.adapter import MatrixAdapter
    from bots.matrix.settings import tokens

    matrix = context.settings.section(MatrixSettings)
    assert matrix.homeserver_url is not None and matrix.server_name is not None
    as_token, hs_token = tokens(matrix)
    return MatrixAdapter(
        homeserver_url=matrix.homeserver_url,
        server_name=matrix.server_name,
        as_token=as_token,
        hs_token=hs_token,
        rooms=context.chats,
        listen_host=matrix.listen_host,
        listen_port=matrix.listen_port,
        bot_localpart=matrix.bot_localpart,
        appservice_id=matrix.appservice_id,
        puppet_prefix=matrix.puppet_prefix,
        admins=matrix.admins,
        commands=context.commands,
        own_avatar_prefix=f"{context.public_url}/avatars/",
        kv=context.kv,
        **context.options,
    )


SPEC = PlatformSpec(
    name="matrix",
    settings_model=MatrixSettings,
    enabled=_enabled,
    factory=_factory,
    parse_chat_id=parse_room_id,
    parse_user_ref=parse_user_ref,
    to_native_text=to_matrix,
    add_cli=add_arguments,
    probe=_probe,
    env_secrets=ENV_SECRETS,
    check=check,
)
