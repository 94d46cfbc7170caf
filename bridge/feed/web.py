"""The feed page (``GET /feed``, HTML) and the Atom feed (``GET /feed.atom``).

Both show this bridge's own posts from the store, newest first, without tombstoned ones.
Everything from a chat user is escaped; an avatar is shown only when it is one of the bridge's
own ``/avatars/`` URLs (never a third-party image); XML-illegal characters are dropped.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from bridge.feed.entry import Anchor, Entry
from bridge.feed.record import SignedRecord, parse_record, rfc3339
from bridge.store import Store
from bridge.store import feed as feed_rows
from bridge.web.app import RouteRegistrar

__all__ = ["atom_feed", "entries_from_store", "feed_page", "feed_routes"]

ATOM_NS = "http://www.w3.org/2005/Atom"
PAGE_SIZE = 50
# XML 1.0 forbids these even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


async def entries_from_store(store: Store, limit: int = PAGE_SIZE) -> list[Entry]:
    found: list[Entry] = []
    for row in await feed_rows.list_posts(store.db, limit=limit):
        record = parse_record(row.record)
        signed = SignedRecord(row.record, row.cid, row.signature, str(record["bridge"]), record)
        anchor = None if row.anchor is None else Anchor.from_json(row.anchor)
        found.append(Entry(signed, True, anchor, row.tombstoned, {"state": row.anchor_state}))
    return [e for e in found if not e.tombstoned]


def _xml(text: str) -> str:
    return _XML_ILLEGAL.sub("", text)


def _title(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= 80 else first[:79] + "…"


def _anchor_text(entry: Entry) -> str:
    anchor = entry.anchor
    if anchor is None:
        return "anchor pending" if entry.extra.get("state") == "pending" else "not anchored"
    return (
        f"anchored ({anchor.kind}) on chain {anchor.chain_id}, block {anchor.block}, tx {anchor.tx}"
    )


def _avatar(entry: Entry, public_url: str) -> str | None:
    avatar = entry.author.get("avatar")
    url = avatar.get("url") if isinstance(avatar, dict) else None
    if isinstance(url, str) and url.startswith(f"{public_url}/avatars/") and ".." not in url:
        return url
    return None


def feed_page(entries: list[Entry], *, public_url: str, title: str) -> str:
    esc = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f'<link rel="alternate" type="application/atom+xml" href="{esc(public_url)}/feed.atom">',
        "<style>body{font-family:sans-serif;max-width:48em;margin:auto}"
        "article{border-bottom:1px solid #ddd;padding:1em 0}"
        "img.avatar{width:48px;height:48px;border-radius:50%;vertical-align:middle}"
        ".meta{color:#666;font-size:.85em}p{white-space:pre-wrap}</style>",
        f"</head><body><h1>{esc(title)}</h1>",
        f'<p><a href="{esc(public_url)}/feed.atom">Atom feed</a></p>',
    ]
    if not entries:
        parts.append("<p>Nothing posted yet.</p>")
    for entry in entries:
        author = entry.author
        name = str(author.get("name", "?"))
        parts.append(f'<article id="{esc(entry.cid)}">')
        avatar = _avatar(entry, public_url)
        if avatar is not None:
            parts.append(f'<img class="avatar" src="{esc(avatar)}" alt="">')
        parts.append(
            f"<strong>{esc(name)}</strong> "
            f'<span class="meta">{esc(str(author.get("platform", "")))}</span>'
        )
        if "wallet" in author:
            wallet = str(author["wallet"])
            ens = f" ({esc(str(author['ens']))})" if "ens" in author else ""
            parts.append(f' <span class="meta wallet">{esc(wallet)}{ens}</span>')
        parts.append(f"<p>{esc(entry.text)}</p>")
        created = rfc3339(entry.created_at)
        parts.append(
            f'<div class="meta"><time datetime="{esc(created)}">{esc(created)}</time> · '
            f"CID <code>{esc(entry.cid)}</code> · {esc(_anchor_text(entry))}</div>"
        )
        parts.append("</article>")
    parts.append("</body></html>")
    return "\n".join(parts)


def atom_feed(
    entries: list[Entry], *, public_url: str, title: str, updated: datetime | None = None
) -> bytes:
    """The Atom document; ``updated`` dates a feed without entries (default: now), which Atom
    requires to have a date too."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = _xml(text)
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{public_url}/feed")
    sub(feed, "title", title)
    newest = max((e.created_at for e in entries), default=updated or datetime.now(UTC))
    sub(feed, "updated", rfc3339(newest))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{public_url}/feed.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=f"{public_url}/feed")
    sub(feed, "generator", "Parley")
    for entry in entries:
        item = sub(feed, "entry")
        sub(item, "id", f"urn:cid:{entry.cid}")
        sub(item, "title", _title(entry.text) or "(untitled)")
        author = sub(item, "author")
        sub(author, "name", str(entry.author.get("name", "?")))
        created = rfc3339(entry.created_at)
        sub(item, "updated", created)
        sub(item, "published", created)
        sub(item, "link", rel="alternate", type="text/html", href=f"{public_url}/feed#{entry.cid}")
        sub(item, "content", entry.text, type="text")
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


def feed_routes(
    store: Callable[[], Store], *, public_url: str, title: str = "Parley feed"
) -> RouteRegistrar:
    """Routes for ``Bridge.add_routes``; ``store`` gives the running bridge's store."""
    base = public_url.rstrip("/")
    # An empty feed has been "updated" when this bridge started: stable across polls, so feed
    # readers do not see a change on every request, and never 1970.
    started = datetime.now(UTC)

    async def page(_request: web.Request) -> web.Response:
        entries = await entries_from_store(store())
        return web.Response(
            text=feed_page(entries, public_url=base, title=title),
            content_type="text/html",
            charset="utf-8",
        )

    async def atom(_request: web.Request) -> web.Response:
        entries = await entries_from_store(store())
        return web.Response(
            body=atom_feed(entries, public_url=base, title=title, updated=started),
            content_type="application/atom+xml",
            charset="utf-8",
        )

    def register(app: web.Application) -> None:
        app.router.add_get("/feed", page)
        app.router.add_get("/feed.atom", atom)

    return register
