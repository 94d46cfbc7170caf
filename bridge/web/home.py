"""``GET /``: the first page anyone opens — the bridge's name, its public rooms, and links to
the feed, the Atom feed and health.

Only what is public anyway is shown: a room's name, which platforms it bridges, and for a room
whose Waku side is a public Status chat, the chat id a Status user joins. Telegram and Discord
ids stay admin-only (as in ``/rooms``), and rooms with a private ``waku_key`` are not listed.
Every value is HTML-escaped: the bridge name and chat ids are operator-chosen free text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from aiohttp import web

from bridge.commands import Commands
from bridge.config import Settings
from bridge.host import Host, Traffic
from bridge.router import Room
from bridge.web.app import RouteRegistrar

__all__ = ["PublicRoom", "home_page", "home_routes", "install_home", "public_rooms"]

# Nothing to run and nothing to load from elsewhere: only the inline style.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class PublicRoom:
    name: str
    platforms: tuple[str, ...]
    status_chat: str | None = None


def public_rooms(rooms: Iterable[Room], settings: Settings) -> list[PublicRoom]:
    """The rooms to show: all but those with a private Waku key."""
    private = {room.name for room in settings.rooms if room.waku_key is not None}
    found: list[PublicRoom] = []
    for room in rooms:
        if room.name in private:
            continue
        platforms = tuple(dict.fromkeys(str(chat.platform) for chat in room.members))
        waku = [str(chat.chat_id) for chat in room.members if chat.platform == "waku"]
        found.append(PublicRoom(room.name, platforms, waku[0] if waku else None))
    return found


def _between(rooms: Sequence[PublicRoom]) -> str:
    bridged = list(dict.fromkeys(p for room in rooms for p in room.platforms))
    if len(bridged) < 2:
        return "<p>A Parley chat bridge.</p>"
    names = ", ".join(bridged[:-1]) + " and " + bridged[-1]
    return f"<p>A Parley bridge between {html.escape(names)}.</p>"


def home_page(name: str, rooms: Sequence[PublicRoom], *, public_url: str) -> str:
    esc = html.escape
    base = public_url.rstrip("/")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(name)}</title>",
        f'<link rel="alternate" type="application/atom+xml" href="{esc(base)}/feed.atom">',
        "<style>body{font-family:sans-serif;max-width:48em;margin:auto;padding:0 1em}"
        ".meta{color:#666}code{background:#f4f4f4;padding:0 .2em}</style>",
        f"</head><body><h1>{esc(name)}</h1>",
        _between(rooms),
        "<h2>Rooms</h2>",
    ]
    if not rooms:
        parts.append("<p>No public rooms.</p>")
    else:
        parts.append("<ul>")
        for room in sorted(rooms, key=lambda r: r.name):
            platforms = ", ".join(room.platforms) or "no chats yet"
            line = f'<li><strong>{esc(room.name)}</strong> <span class="meta">{esc(platforms)}'
            if room.status_chat is not None:
                line += f" · Status chat <code>{esc(room.status_chat)}</code>"
            parts.append(line + "</span></li>")
        parts.append("</ul>")
    parts += [
        "<h2>Links</h2><ul>",
        f'<li><a href="{esc(base)}/feed">Feed</a></li>',
        f'<li><a href="{esc(base)}/feed.atom">Atom feed</a></li>',
        f'<li><a href="{esc(base)}/health">Health</a></li>',
        "</ul></body></html>",
    ]
    return "\n".join(parts)


def home_routes(
    name: str, rooms: Callable[[], Sequence[PublicRoom]], *, public_url: str
) -> RouteRegistrar:
    """The ``GET /`` route for ``Bridge.add_routes``; ``rooms`` is read on every request, so
    rooms joined while the bridge runs show up."""

    async def page(_request: web.Request) -> web.Response:
        response = web.Response(
            text=home_page(name, rooms(), public_url=public_url),
            content_type="text/html",
            charset="utf-8",
        )
        response.headers["Content-Security-Policy"] = CSP
        return response

    def register(app: web.Application) -> None:
        app.router.add_get("/", page)

    return register


def install_home(host: Host, commands: Commands, *, traffic: Traffic) -> None:
    """``GET /`` listing the relay's rooms (config and ``/room join``) as they are at each
    request. ``commands``: unused (the page has none), taken for the one install convention."""
    del commands
    settings = host.settings
    host.add_routes(
        home_routes(
            settings.bridge.name,
            lambda: public_rooms(traffic.router.rooms, settings),
            public_url=settings.web.public_url,
        )
    )
