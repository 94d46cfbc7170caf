"""Telegram's text: Bot API entities (UTF-16 offsets) <-> the neutral rich text.

Text always goes out as ``entities``, never ``parse_mode``: nothing a remote user types can
become Telegram markup. ``to_telegram_html`` exists for the rare API that only takes HTML.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any, Final

from bridge.formatting import (
    Styled,
    clip_spans,
    normalize,
    pack,
    render_nested,
    split_rich,
    strip_part,
    unpack,
    utf16_prefix,
)
from bridge.model import RichText

__all__ = [
    "TELEGRAM_LIMIT",
    "from_telegram",
    "split_for_telegram",
    "to_telegram",
    "to_telegram_html",
]

TELEGRAM_LIMIT: Final = 4096

_TG_STYLE: Final[dict[str, str]] = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_TG_OUT: Final[dict[str, str]] = {v: k for k, v in _TG_STYLE.items()}


def _int_field(e: Mapping[str, Any], key: str) -> int | None:
    v = e.get(key)
    if isinstance(v, bool) or not isinstance(v, int):
        return None
    return v


def from_telegram(text: str, entities: Sequence[Mapping[str, Any]] | None) -> RichText:
    """Telegram text + Bot API entity dicts -> neutral rich text.

    Offsets/lengths are UTF-16 code units.  Entities that are malformed, out of range, or
    that start or end inside a surrogate pair are dropped; this function never raises on
    entity input.  ``url`` entities become links to themselves; mentions, hashtags, bot
    commands, e-mails etc. stay plain text.
    """
    if not isinstance(text, str):
        return RichText(text="")
    prefix = utf16_prefix(text)
    total = prefix[-1]
    spans: list[Styled] = []
    if not isinstance(entities, Sequence) or isinstance(entities, str | bytes):
        entities = ()
    for e in entities:
        if not isinstance(e, Mapping):
            continue
        etype = e.get("type")
        offset = _int_field(e, "offset")
        length = _int_field(e, "length")
        if not isinstance(etype, str) or offset is None or length is None:
            continue
        if offset < 0 or length <= 0 or offset + length > total:
            continue
        start = bisect.bisect_left(prefix, offset)
        end = bisect.bisect_left(prefix, offset + length)
        if start >= len(prefix) or prefix[start] != offset:
            continue  # inside a surrogate pair
        if end >= len(prefix) or prefix[end] != offset + length:
            continue
        if start >= end:
            continue
        if etype in _TG_STYLE:
            kind = _TG_STYLE[etype]
            lang = e.get("language") if kind == "pre" else None
            spans.append(Styled(start, end, kind, None, lang if isinstance(lang, str) else None))
        elif etype == "text_link":
            url = e.get("url")
            if isinstance(url, str) and url:
                spans.append(Styled(start, end, "link", url))
        elif etype == "url":
            spans.append(Styled(start, end, "link", text[start:end]))
        # mention, text_mention, hashtag, cashtag, bot_command, email, phone_number,
        # blockquote, custom_emoji ...: plain text in the neutral form.
    return pack(text, normalize(text, spans, nest=False))


def to_telegram(rt: RichText) -> tuple[str, list[dict[str, Any]]]:
    """Neutral rich text -> (text, Bot API entity dicts with UTF-16 offsets).

    Sending ``entities`` (never ``parse_mode``) means nothing in the text is ever
    interpreted as markup by Telegram: that is the anti-injection strategy.
    """
    text, raw = unpack(rt)
    spans = normalize(text, raw)
    prefix = utf16_prefix(text)
    out: list[dict[str, Any]] = []
    for s in spans:
        offset = prefix[s.start]
        length = prefix[s.end] - offset
        ent: dict[str, Any]
        if s.kind == "link":
            if s.url == text[s.start : s.end]:
                ent = {"type": "url", "offset": offset, "length": length}
            else:
                ent = {"type": "text_link", "offset": offset, "length": length, "url": s.url}
        else:
            ent = {"type": _TG_OUT[s.kind], "offset": offset, "length": length}
            if s.kind == "pre" and s.language:
                ent["language"] = s.language
        out.append(ent)
    return text, out


def _html_escape(s: str, *, quote: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if quote:
        s = s.replace('"', "&quot;")
    return s


_TG_HTML_TAG: Final[dict[str, str]] = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strike": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
}


def to_telegram_html(rt: RichText) -> str:
    """Neutral rich text -> Telegram ``parse_mode="HTML"`` string, all text escaped."""
    text, raw = unpack(rt)
    spans = normalize(text, raw)

    def leaf(a: int, b: int) -> str:
        return _html_escape(text[a:b])

    def wrap(s: Styled, inner: str) -> str:
        if s.kind == "link":
            return f'<a href="{_html_escape(s.url or "", quote=True)}">{inner}</a>'
        if s.kind == "pre":
            if s.language:
                lang = _html_escape(s.language, quote=True)
                return f'<pre><code class="language-{lang}">{inner}</code></pre>'
            return f"<pre>{inner}</pre>"
        tag = _TG_HTML_TAG[s.kind]
        return f"<{tag}>{inner}</{tag}>"

    return render_nested(text, spans, leaf, wrap)


def split_for_telegram(
    rt: RichText, limit: int = TELEGRAM_LIMIT
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Split for Telegram: (text, entities) parts each at most ``limit`` UTF-16 units.

    Whitespace at the cuts is dropped (Telegram trims it anyway) and whitespace-only parts
    are skipped, so every part is sendable.
    """
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for part in split_rich(rt, limit, measure="utf16"):
        text, spans = unpack(part)
        a, b = strip_part(text, 0, len(text))
        if a < b:
            out.append(to_telegram(pack(text[a:b], clip_spans(spans, a, b))))
    return out
