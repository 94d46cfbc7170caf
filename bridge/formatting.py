"""Rich text conversion between the neutral form, Telegram, Discord and plain text.

Pure functions only: no I/O, no platform SDK imports.

The neutral form is :class:`bridge.model.RichText`: a ``str`` plus spans whose offsets are
Python string indices (code points).  Telegram counts entity offsets in UTF-16 code units and
Discord speaks markdown; this module converts between them, splits long text for each
platform's limit and neutralises mentions so a relayed message can never ping or inject
formatting on the target.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import heapq
import itertools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, NamedTuple

from bridge.model import RichText, Span, SpanKind

__all__ = [
    "DISCORD_LIMIT",
    "TELEGRAM_LIMIT",
    "ZWSP",
    "MentionKind",
    "MentionResolver",
    "escape_discord",
    "from_discord",
    "from_telegram",
    "human_size",
    "neutralize_mentions",
    "split_for_discord",
    "split_for_telegram",
    "split_rich",
    "to_discord",
    "to_plain",
    "to_telegram",
    "to_telegram_html",
    "utf16_len",
]

MentionKind = Literal["user", "role", "channel"]
#: ``resolve(kind, id) -> display name or None``; used by :func:`from_discord`.
MentionResolver = Callable[[MentionKind, str], str | None]

ZWSP: Final = "\u200b"
DISCORD_LIMIT: Final = 2000
TELEGRAM_LIMIT: Final = 4096

_KINDS: Final[frozenset[str]] = frozenset(
    {"bold", "italic", "underline", "strike", "spoiler", "code", "pre", "link"}
)
_CODE_KINDS: Final[frozenset[str]] = frozenset({"code", "pre"})
# Outer-to-inner order for spans covering the same range.
_RANK: Final[dict[str, int]] = {
    "link": 0,
    "spoiler": 1,
    "bold": 2,
    "italic": 3,
    "underline": 4,
    "strike": 5,
    "code": 6,
    "pre": 6,
}


class _S(NamedTuple):
    """Internal span: half-open [start, end) in code points."""

    start: int
    end: int
    kind: str
    url: str | None = None
    language: str | None = None


def _from_model(rt: RichText) -> tuple[str, list[_S]]:
    return rt.text, [_S(s.start, s.end, s.kind, s.url, s.language) for s in rt.spans]


def _to_model(text: str, spans: Sequence[_S]) -> RichText:
    out: list[Span] = []
    for s in spans:
        kind: SpanKind
        if s.kind == "bold":
            kind = "bold"
        elif s.kind == "italic":
            kind = "italic"
        elif s.kind == "underline":
            kind = "underline"
        elif s.kind == "strike":
            kind = "strike"
        elif s.kind == "spoiler":
            kind = "spoiler"
        elif s.kind == "code":
            kind = "code"
        elif s.kind == "pre":
            kind = "pre"
        elif s.kind == "link":
            kind = "link"
        else:  # pragma: no cover - _normalize never lets other kinds through
            continue
        out.append(
            Span(
                kind=kind,
                start=s.start,
                end=s.end,
                url=s.url if kind == "link" else None,
                language=s.language if kind == "pre" else None,
            )
        )
    return RichText(text=text, spans=tuple(out))


# --------------------------------------------------------------------------------------------
# UTF-16 helpers
# --------------------------------------------------------------------------------------------


def _u16(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram counts)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _utf16_prefix(text: str) -> list[int]:
    """``p[i]`` = UTF-16 length of ``text[:i]`` (``len(p) == len(text) + 1``)."""
    p = [0] * (len(text) + 1)
    acc = 0
    for i, ch in enumerate(text):
        acc += _u16(ch)
        p[i + 1] = acc
    return p


# --------------------------------------------------------------------------------------------
# Span normalisation
# --------------------------------------------------------------------------------------------


def _merge_same(spans: list[_S]) -> list[_S]:
    """Merge overlapping or touching spans of the same kind (and same url/language)."""
    groups: dict[tuple[str, str | None, str | None], list[_S]] = {}
    for s in spans:
        groups.setdefault((s.kind, s.url, s.language), []).append(s)
    out: list[_S] = []
    for (kind, url, lang), items in groups.items():
        items.sort()
        cur_start, cur_end = items[0].start, items[0].end
        for s in items[1:]:
            if s.start <= cur_end:
                cur_end = max(cur_end, s.end)
            else:
                out.append(_S(cur_start, cur_end, kind, url, lang))
                cur_start, cur_end = s.start, s.end
        out.append(_S(cur_start, cur_end, kind, url, lang))
    return out


def _nest(spans: list[_S]) -> list[_S]:
    """Split partially overlapping spans so that the result is properly nested.

    Returned in pre-order: sorted by (start, -end, rank).
    """
    heap: list[tuple[int, int, int, _S]] = [(s.start, -s.end, _RANK[s.kind], s) for s in spans]
    heapq.heapify(heap)
    out: list[_S] = []
    stack: list[_S] = []
    while heap:
        _, _, _, s = heapq.heappop(heap)
        while stack and stack[-1].end <= s.start:
            stack.pop()
        if stack and s.end > stack[-1].end:
            cut = stack[-1].end
            a = s._replace(end=cut)
            b = s._replace(start=cut)
            heapq.heappush(heap, (a.start, -a.end, _RANK[a.kind], a))
            heapq.heappush(heap, (b.start, -b.end, _RANK[b.kind], b))
            continue
        out.append(s)
        stack.append(s)
    return out


def _normalize(
    text: str,
    spans: Sequence[_S],
    *,
    trim_styles: bool = False,
    code_splits: Callable[[_S, str], bool] | None = None,
    nest: bool = True,
) -> list[_S]:
    """Clip, validate, merge and nest spans.

    Code/pre spans never overlap each other and never contain other spans; other spans are cut
    at code boundaries (a style or link may contain a whole code span, not part of one).
    ``trim_styles`` moves leading/trailing whitespace out of style spans (markdown needs that).
    ``code_splits(style, code_text)`` says a style must not contain that code span at all.
    """
    n = len(text)
    valid: list[_S] = []
    for s in spans:
        if s.kind not in _KINDS:
            continue
        start, end = max(0, s.start), min(n, s.end)
        if start >= end:
            continue
        if s.kind == "link" and not s.url:
            continue
        url = s.url if s.kind == "link" else None
        lang = (s.language or None) if s.kind == "pre" else None
        valid.append(_S(start, end, s.kind, url, lang))

    # Code regions: first come, first kept.
    codes: list[_S] = []
    for s in sorted((s for s in valid if s.kind in _CODE_KINDS), key=lambda s: (s.start, -s.end)):
        if codes and s.start < codes[-1].end:
            continue
        codes.append(s)
    if trim_styles:  # markdown: a code block of nothing but newlines cannot be shown
        codes = [c for c in codes if c.kind != "pre" or text[c.start : c.end].strip("\n")]
    others = [s for s in valid if s.kind not in _CODE_KINDS]

    cut: list[_S] = []
    for s in others:
        pieces = [s]
        for c in codes:
            if c.end <= s.start or c.start >= s.end:
                continue
            nxt: list[_S] = []
            for p in pieces:
                if c.end <= p.start or c.start >= p.end:
                    nxt.append(p)
                    continue
                if p.start < c.start:
                    nxt.append(p._replace(end=c.start))
                if p.end > c.end:
                    nxt.append(p._replace(start=c.end))
                contains = p.start <= c.start and p.end >= c.end
                keep = contains and s.kind != "link"
                if keep and code_splits is not None and code_splits(s, text[c.start : c.end]):
                    keep = False
                if keep:
                    nxt.append(p._replace(start=c.start, end=c.end))
            pieces = nxt
        cut.extend(pieces)

    merged = _exclusive_links(_merge_same(cut)) + codes
    if not nest:
        return sorted(merged, key=_order)
    nested = _nest(merged)
    if not trim_styles:
        return nested
    # Trimming whitespace off the ends of nested spans keeps them nested, as long as no code
    # span (which is never trimmed) is cut.
    trimmed: list[_S] = []
    for s in nested:
        start, end = s.start, s.end
        if s.kind not in _CODE_KINDS:
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            for c in codes:
                if s.start <= c.start < start:
                    start = c.start
                if end < c.end <= s.end:
                    end = c.end
        if start < end:
            trimmed.append(s._replace(start=start, end=end))
    return sorted(trimmed, key=_order)


def _order(s: _S) -> tuple[int, int, int, str, str, str]:
    return (s.start, -s.end, _RANK[s.kind], s.kind, s.url or "", s.language or "")


def _exclusive_links(spans: list[_S]) -> list[_S]:
    """Links cannot nest: where two overlap, the one starting first (then longer) wins."""
    out = [s for s in spans if s.kind != "link"]
    last_end = 0
    for s in sorted((s for s in spans if s.kind == "link"), key=_order):
        start = max(s.start, last_end)
        if start < s.end:
            out.append(s._replace(start=start))
            last_end = s.end
    return out


# --------------------------------------------------------------------------------------------
# Telegram
# --------------------------------------------------------------------------------------------

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
    prefix = _utf16_prefix(text)
    total = prefix[-1]
    spans: list[_S] = []
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
            spans.append(_S(start, end, kind, None, lang if isinstance(lang, str) else None))
        elif etype == "text_link":
            url = e.get("url")
            if isinstance(url, str) and url:
                spans.append(_S(start, end, "link", url))
        elif etype == "url":
            spans.append(_S(start, end, "link", text[start:end]))
        # mention, text_mention, hashtag, cashtag, bot_command, email, phone_number,
        # blockquote, custom_emoji ...: plain text in the neutral form.
    return _to_model(text, _normalize(text, spans, nest=False))


def to_telegram(rt: RichText) -> tuple[str, list[dict[str, Any]]]:
    """Neutral rich text -> (text, Bot API entity dicts with UTF-16 offsets).

    Sending ``entities`` (never ``parse_mode``) means nothing in the text is ever
    interpreted as markup by Telegram: that is the anti-injection strategy.
    """
    text, raw = _from_model(rt)
    spans = _normalize(text, raw)
    prefix = _utf16_prefix(text)
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
    text, raw = _from_model(rt)
    spans = _normalize(text, raw)

    def leaf(a: int, b: int) -> str:
        return _html_escape(text[a:b])

    def wrap(s: _S, inner: str) -> str:
        if s.kind == "link":
            return f'<a href="{_html_escape(s.url or "", quote=True)}">{inner}</a>'
        if s.kind == "pre":
            if s.language:
                lang = _html_escape(s.language, quote=True)
                return f'<pre><code class="language-{lang}">{inner}</code></pre>'
            return f"<pre>{inner}</pre>"
        tag = _TG_HTML_TAG[s.kind]
        return f"<{tag}>{inner}</{tag}>"

    return _render(text, spans, leaf, wrap)


def _render(
    text: str,
    spans: Sequence[_S],
    leaf: Callable[[int, int], str],
    wrap: Callable[[_S, str], str],
) -> str:
    """Render properly nested, pre-ordered spans via ``leaf``/``wrap`` callbacks."""
    idx = 0

    def walk(lo: int, hi: int) -> str:
        nonlocal idx
        parts: list[str] = []
        pos = lo
        while idx < len(spans) and spans[idx].start < hi:
            s = spans[idx]
            idx += 1
            if s.start > pos:
                parts.append(leaf(pos, s.start))
            inner = walk(s.start, s.end)
            parts.append(wrap(s, inner))
            pos = s.end
        if hi > pos:
            parts.append(leaf(pos, hi))
        return "".join(parts)

    return walk(0, len(text))


# --------------------------------------------------------------------------------------------
# Plain text
# --------------------------------------------------------------------------------------------


def to_plain(rt: RichText, *, link_urls: bool = True) -> str:
    """Neutral rich text -> plain text.

    With ``link_urls`` a link whose text is not its URL is written ``text (url)`` so that the
    target is not lost on plain-text targets (Waku/Status text fields, fallbacks).
    """
    text, raw = _from_model(rt)
    if not link_urls:
        return text
    spans = _normalize(text, raw)

    def leaf(a: int, b: int) -> str:
        return text[a:b]

    def wrap(s: _S, inner: str) -> str:
        if s.kind == "link" and s.url and s.url != text[s.start : s.end]:
            if s.url.startswith("tg://"):
                return inner
            return f"{inner} ({s.url})"
        return inner

    return _render(text, spans, leaf, wrap)


# --------------------------------------------------------------------------------------------
# Discord: rendering
# --------------------------------------------------------------------------------------------

_MASS_MENTION_RE: Final = re.compile(r"@(everyone|here)", re.IGNORECASE)
# Escapable everywhere: markdown markers, masked-link brackets, and '<' which starts user,
# role, channel, emoji, timestamp and slash-command mentions.
_ALWAYS_ESCAPE: Final = frozenset("\\*_~`|[]<")
_LINE_START_ESCAPE: Final = frozenset("#->+")
_URL_RE: Final = re.compile(r"https?://[^\s<]+[^<.,:;\"')\]\s]", re.IGNORECASE)
_NUMBERED_RE: Final = re.compile(r"[ \t]*\d+\.(?=[ \t])")
_MARKER_CHAR: Final[dict[str, str]] = {
    "bold": "*",
    "italic": "*",
    "underline": "_",
    "strike": "~",
    "spoiler": "|",
}
_DISCORD_MARK: Final[dict[str, str]] = {
    "bold": "**",
    "italic": "*",
    "underline": "__",
    "strike": "~~",
    "spoiler": "||",
}
_LANG_RE: Final = re.compile(r"[A-Za-z0-9_+#.\-]{1,32}")


def neutralize_mentions(text: str) -> str:
    """Insert a zero-width space after '@' in ``@everyone`` / ``@here``."""
    return _MASS_MENTION_RE.sub(lambda m: "@" + ZWSP + m.group(1), text)


def _escape_segment(text: str, a: int, b: int) -> str:
    """Escape ``text[a:b]`` (literal text, no URLs) for Discord, using line context."""
    out: list[str] = []
    line_start = a == 0 or text[a - 1] == "\n"
    numbered_dot = -1
    if line_start:
        m = _NUMBERED_RE.match(text, a)
        if m and m.end() <= b:
            numbered_dot = m.end() - 1
    for i in range(a, b):
        ch = text[i]
        if ch == "\n":
            out.append(ch)
            line_start = True
            m = _NUMBERED_RE.match(text, i + 1)
            numbered_dot = m.end() - 1 if m and m.end() <= b else -1
            continue
        if ch in _ALWAYS_ESCAPE or (line_start and ch in _LINE_START_ESCAPE) or i == numbered_dot:
            out.append("\\" + ch)
        else:
            out.append(ch)
        if not (ch == " " or ch == "\t"):
            line_start = False
    return neutralize_mentions("".join(out))


def escape_discord(text: str) -> str:
    """Escape literal text so Discord shows it verbatim: no markdown, no mentions.

    Bare http(s) URLs are kept as they are (escaping would break them); everything else that
    Discord could interpret is backslash-escaped, and ``@everyone``/``@here`` get a ZWSP.
    """
    return _assemble(_escape_tokens(text, 0, len(text)))


_Token = tuple[Literal["open", "close", "code", "url", "text"], str]


def _escape_tokens(text: str, a: int, b: int) -> list[_Token]:
    out: list[_Token] = []
    pos = a
    for m in _URL_RE.finditer(text, a, b):
        if m.start() > pos:
            out.append(("text", _escape_segment(text, pos, m.start())))
        out.append(("url", neutralize_mentions(m.group(0))))
        pos = m.end()
    if b > pos:
        out.append(("text", _escape_segment(text, pos, b)))
    return out


def _assemble(tokens: Sequence[_Token]) -> str:
    """Join rendered tokens, separating the few token pairs Discord would misread."""
    out: list[str] = []
    prev_role = ""
    prev = ""
    for i, (role, tok) in enumerate(tokens):
        if not tok:
            continue
        if role == "url":
            # A bare URL can swallow what follows it (markers, escapes): delimit it then.
            following = tok + "".join(t for _, t in tokens[i + 1 : i + 4])
            m = _URL_RE.match(following)
            if m is None or m.end() != len(tok):
                tok = "<" + tok.replace(">", "%3E") + ">"
        last = prev[-1:]
        if (
            (
                prev_role in ("close", "code")
                and role in ("open", "code")
                and last in "*_~|`"
                and tok[:1] == last
            )
            # '*' then '**' reads as '**' then '*': "***a**b*" is misparsed.
            or (prev_role == "open" and prev == "*" and tok[:1] == "*")
        ):
            out.append(ZWSP)
        out.append(tok)
        prev_role, prev = role, tok
    return "".join(out)


def _break_runs(s: str, run: str) -> str:
    """Insert ZWSPs so that ``run`` (e.g. '```') no longer occurs in ``s``."""
    broken = run[:-1] + ZWSP + run[-1]
    while run in s:
        s = s.replace(run, broken)
    return s


def _discord_code(content: str) -> str:
    content = neutralize_mentions(content)
    if "`" not in content:
        return f"`{content}`"
    content = _break_runs(content, "``")
    lead = " " if content.startswith("`") else ""
    trail = " " if content.endswith("`") else ""
    return f"``{lead}{content}{trail}``"


def _discord_pre(content: str, language: str | None) -> str:
    content = _break_runs(neutralize_mentions(content), "```")
    lang = language if language and _LANG_RE.fullmatch(language) else ""
    if not content.endswith("\n"):
        content += "\n"
    return f"```{lang}\n{content}```"


def _encode_url(url: str) -> str:
    out: list[str] = []
    for ch in url:
        if ch in " ()<>\"'\\" or ch.isspace() or unicodedata.category(ch).startswith("C"):
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append(ch)
    return "".join(out)


def _code_breaks_style(style: _S, code_text: str) -> bool:
    if style.kind == "link":
        return True
    return _MARKER_CHAR.get(style.kind, "") in code_text


def to_discord(rt: RichText) -> str:
    """Neutral rich text -> Discord markdown.

    All literal text is escaped (so ``**not bold**`` typed on Telegram stays literal),
    ``@everyone``/``@here`` are defused with a zero-width space, and ``<@id>``, ``<@&id>``,
    ``<#id>`` sequences are escaped.  The Discord adapter also sends
    ``allowed_mentions={"parse": []}``.
    """
    text, raw = _from_model(rt)
    return _to_discord(text, raw)


def _to_discord(text: str, raw: Sequence[_S]) -> str:
    spans = _normalize(text, raw, trim_styles=True, code_splits=_code_breaks_style)
    tokens: list[_Token] = []
    idx = 0

    def walk(lo: int, hi: int) -> None:
        nonlocal idx
        pos = lo
        while idx < len(spans) and spans[idx].start < hi:
            s = spans[idx]
            idx += 1
            if s.start > pos:
                tokens.extend(_escape_tokens(text, pos, s.start))
            emit(s)
            pos = s.end
        if hi > pos:
            tokens.extend(_escape_tokens(text, pos, hi))

    def skip_children(s: _S) -> None:
        nonlocal idx
        while idx < len(spans) and spans[idx].start < s.end:
            idx += 1

    def emit(s: _S) -> None:
        body = text[s.start : s.end]
        if s.kind == "code":
            tokens.append(("code", _discord_code(body)))
            return
        if s.kind == "pre":
            if body.strip("\n"):
                tokens.append(("code", _discord_pre(body, s.language)))
            else:  # Discord cannot show an empty code block
                tokens.extend(_escape_tokens(text, s.start, s.end))
            return
        if s.kind == "link":
            url = s.url or ""
            is_web = re.match(r"https?://[^\s]", url, re.IGNORECASE) is not None
            if is_web and body == url and _URL_RE.fullmatch(url) is not None:
                skip_children(s)  # a bare URL renders as itself
                tokens.append(("url", neutralize_mentions(url)))
                return
            if is_web and not any(c in body for c in "[]\n"):
                tokens.append(("open", "["))
                walk(s.start, s.end)
                tokens.append(("close", f"]({_encode_url(url)})"))
                return
            walk(s.start, s.end)
            if url.startswith("tg://") or url == body:
                return
            if is_web:
                tokens.append(("text", f" (<{_encode_url(url)}>)"))
            else:
                tokens.append(("text", " (" + escape_discord(url) + ")"))
            return
        mark = _DISCORD_MARK[s.kind]
        tokens.append(("open", mark))
        walk(s.start, s.end)
        tokens.append(("close", mark))

    walk(0, len(text))
    return _assemble(tokens)


# --------------------------------------------------------------------------------------------
# Discord: parsing
# --------------------------------------------------------------------------------------------

_R_ESCAPE: Final = re.compile(r"\\([^0-9A-Za-z\s])")
_R_CODEBLOCK: Final = re.compile(r"```(?:([A-Za-z0-9_+\-.#]+?)\n)?\n*([^\n][\s\S]*?)\n*```")
_R_INLINECODE: Final = re.compile(r"(`+)([\s\S]*?[^`])\1(?!`)")
_R_MASKED: Final = re.compile(r"\[([^\[\]\n]+)\]\(\s*<?(https?://[^\s()<>]+)>?\s*\)", re.I)
_R_AUTOLINK: Final = re.compile(r"<(https?://[^\s>]+)>", re.IGNORECASE)
_R_USER: Final = re.compile(r"<@!?(\d+)>")
_R_ROLE: Final = re.compile(r"<@&(\d+)>")
_R_CHANNEL: Final = re.compile(r"<#(\d+)>")
_R_EMOJI: Final = re.compile(r"<a?:(\w+):\d+>")
_R_TIMESTAMP: Final = re.compile(r"<t:(-?\d{1,13})(?::([tTdDfFR]))?>")
_R_SLASH: Final = re.compile(r"</([-_\w ]{1,100}):\d+>")
_R_STRONG: Final = re.compile(r"\*\*((?:\\[\s\S]|[^\\])+?)\*\*(?!\*)")
_R_UNDERLINE: Final = re.compile(r"__((?:\\[\s\S]|[^\\])+?)__(?!_)")
_R_EM: Final = re.compile(
    r"\b_((?:__|\\[\s\S]|[^\\_])+?)_\b"
    r"|\*(?=\S)((?:\*\*|\\[\s\S]|\s+(?:\\[\s\S]|[^\s*\\]|\*\*)|[^\s*\\])+?)\*(?!\*)"
)
_R_STRIKE: Final = re.compile(r"~~((?:\\[\s\S]|[^\\])+?)~~")
_R_SPOILER: Final = re.compile(r"\|\|((?:\\[\s\S]|[^\\])+?)\|\|")
_R_HEADING: Final = re.compile(r"(#{1,3}) +([^\n]+?)[ \t]*(?=\n|$)")
_R_TEXT: Final = re.compile(r"[^\\`*_~|\[<h#\n]+|[\s\S]")


class _DiscordParser:
    def __init__(self, resolve: MentionResolver | None) -> None:
        self.resolve = resolve
        self.out: list[str] = []
        self.length = 0
        self.spans: list[_S] = []
        self.depth = 0  # headings are block-level: only outside any inline span

    def add(self, s: str) -> None:
        self.out.append(s)
        self.length += len(s)

    def mention(self, kind: MentionKind, ident: str, sigil: str) -> None:
        name = None
        if self.resolve is not None:
            try:
                name = self.resolve(kind, ident)
            except Exception:  # a failing resolver must not lose the message
                name = None
        self.add(sigil + (name if name else ident))

    def styled(self, kind: str, inner: str, *, url: str | None = None) -> None:
        start = self.length
        self.depth += 1
        self.parse(inner)
        self.depth -= 1
        if self.length > start:
            self.spans.append(_S(start, self.length, kind, url))

    def parse(self, src: str) -> None:
        pos = 0
        n = len(src)
        while pos < n:
            ch = src[pos]
            m: re.Match[str] | None
            if ch == "\\":
                m = _R_ESCAPE.match(src, pos)
                if m:
                    self.add(m.group(1))
                    pos = m.end()
                    continue
            elif ch == "`":
                m = _R_CODEBLOCK.match(src, pos)
                if m:
                    start = self.length
                    self.add(m.group(2))
                    self.spans.append(_S(start, self.length, "pre", None, m.group(1)))
                    pos = m.end()
                    continue
                m = _R_INLINECODE.match(src, pos)
                if m:
                    body = m.group(2)
                    if body.startswith(" ") and body.lstrip(" ").startswith("`"):
                        body = body[1:]
                    if body.endswith(" ") and body.rstrip(" ").endswith("`"):
                        body = body[:-1]
                    start = self.length
                    self.add(body)
                    if self.length > start:
                        self.spans.append(_S(start, self.length, "code"))
                    pos = m.end()
                    continue
            elif ch == "[":
                m = _R_MASKED.match(src, pos)
                if m:
                    self.styled("link", m.group(1), url=m.group(2))
                    pos = m.end()
                    continue
            elif ch == "<":
                if m := _R_AUTOLINK.match(src, pos):
                    start = self.length
                    self.add(m.group(1))
                    self.spans.append(_S(start, self.length, "link", m.group(1)))
                elif m := _R_USER.match(src, pos):
                    self.mention("user", m.group(1), "@")
                elif m := _R_ROLE.match(src, pos):
                    self.mention("role", m.group(1), "@")
                elif m := _R_CHANNEL.match(src, pos):
                    self.mention("channel", m.group(1), "#")
                elif m := _R_EMOJI.match(src, pos):
                    self.add(f":{m.group(1)}:")
                elif m := _R_SLASH.match(src, pos):
                    self.add("/" + m.group(1))
                elif m := _R_TIMESTAMP.match(src, pos):
                    self.add(_format_timestamp(int(m.group(1))) or m.group(0))
                if m:
                    pos = m.end()
                    continue
            elif ch in "hH":
                m = _URL_RE.match(src, pos)
                if m:
                    start = self.length
                    self.add(m.group(0))
                    self.spans.append(_S(start, self.length, "link", m.group(0)))
                    pos = m.end()
                    continue
            elif ch == "#":
                if self.depth == 0 and (pos == 0 or src[pos - 1] == "\n"):
                    m = _R_HEADING.match(src, pos)
                    if m:
                        self.styled("bold", m.group(2))
                        pos = m.end()
                        continue
            elif ch == "*":
                m = _R_STRONG.match(src, pos)
                if m:
                    self.styled("bold", m.group(1))
                    pos = m.end()
                    continue
                m = _R_EM.match(src, pos)
                if m:
                    self.styled("italic", m.group(2))
                    pos = m.end()
                    continue
            elif ch == "_":
                m = _R_UNDERLINE.match(src, pos)
                if m:
                    self.styled("underline", m.group(1))
                    pos = m.end()
                    continue
                m = _R_EM.match(src, pos)
                if m:
                    self.styled("italic", m.group(1))
                    pos = m.end()
                    continue
            elif ch == "~":
                m = _R_STRIKE.match(src, pos)
                if m:
                    self.styled("strike", m.group(1))
                    pos = m.end()
                    continue
            elif ch == "|":
                m = _R_SPOILER.match(src, pos)
                if m:
                    self.styled("spoiler", m.group(1))
                    pos = m.end()
                    continue
            m = _R_TEXT.match(src, pos)
            assert m is not None  # [\s\S] always matches
            self.add(m.group(0))
            pos = m.end()


def _format_timestamp(seconds: int) -> str | None:
    try:
        when = _dt.datetime.fromtimestamp(seconds, tz=_dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return when.strftime("%Y-%m-%d %H:%M UTC")


def from_discord(content: str, resolve: MentionResolver | None = None) -> RichText:
    """Discord markdown -> neutral rich text.

    Understands bold, italic, underline, strike, spoiler, inline code, code blocks (with
    language), masked links, ``<url>``, bare URLs, backslash escapes and headings (as bold).
    ``<@id>``/``<@!id>``/``<@&id>``/``<#id>`` become ``@name``/``#name`` through ``resolve``
    (``@id``/``#id`` when it is missing or returns None); custom emoji become ``:name:``,
    timestamps a UTC date, slash-command mentions ``/name``.  Never raises on any input.
    """
    p = _DiscordParser(resolve)
    p.parse(content)
    text = "".join(p.out)
    return _to_model(text, _normalize(text, p.spans, nest=False))


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def _is_cut_ok(text: str, i: int) -> bool:
    """False when cutting before ``text[i]`` would split a grapheme (best effort)."""
    if i <= 0 or i >= len(text):
        return True
    ch, prev = text[i], text[i - 1]
    cp = ord(ch)
    if prev == "\r" and ch == "\n":
        return False
    if prev == "\u200d" or ch == "\u200d":
        return False
    if 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return False
    if 0xDC00 <= cp <= 0xDFFF and 0xD800 <= ord(prev) <= 0xDBFF:
        return False  # lone surrogates that still form a pair
    if 0x1F1E6 <= cp <= 0x1F1FF and 0x1F1E6 <= ord(prev) <= 0x1F1FF:
        # Regional indicators pair up: only cut at an even count from the run start.
        k = i
        while k > 0 and 0x1F1E6 <= ord(text[k - 1]) <= 0x1F1FF:
            k -= 1
        return (i - k) % 2 == 0
    return unicodedata.combining(ch) == 0 and unicodedata.category(ch) not in ("Mn", "Me", "Mc")


def _choose_cut(text: str, start: int, max_end: int) -> int:
    """Best cut position in (start, max_end]; ``max_end`` itself if it is the end."""
    if max_end >= len(text):
        return len(text)
    window = text[start:max_end]
    half = start + max(1, (max_end - start) // 2)
    # Paragraph, then line break, then whitespace; the separator stays with the left part.
    for sep in ("\n\n", "\n"):
        k = window.rfind(sep)
        if k >= 0:
            cut = start + k + len(sep)
            if cut >= half and _is_cut_ok(text, cut):
                return cut
    for k in range(max_end, start, -1):
        if text[k - 1].isspace() and not text[k].isspace() and _is_cut_ok(text, k):
            return k
    for k in range(max_end, start, -1):
        if text[k - 1].isspace() and _is_cut_ok(text, k):
            return k
    for k in range(max_end, start, -1):
        if _is_cut_ok(text, k):
            return k
    return max_end


def _clip_spans(spans: Sequence[_S], a: int, b: int) -> list[_S]:
    out: list[_S] = []
    for s in spans:
        start, end = max(s.start, a), min(s.end, b)
        if start < end:
            out.append(s._replace(start=start - a, end=end - a))
    return out


def _split_positions(text: str, fits: Callable[[int, int], bool], step_max: int) -> list[int]:
    """Cut positions (including 0 and len) such that each part fits."""
    cuts = [0]
    start = 0
    n = len(text)
    while start < n:
        lo, hi = start + 1, min(n, start + step_max)
        if not fits(start, lo):
            raise ValueError("limit too small for a single character")
        # Largest end in [lo, hi] that fits (fits is monotone in end).
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(start, mid):
                lo = mid
            else:
                hi = mid - 1
        end = _choose_cut(text, start, lo)
        while end > start + 1 and not fits(start, end):  # fits is only nearly monotone
            end -= 1
        cuts.append(end)
        start = end
    return cuts


def split_rich(
    rt: RichText, limit: int, *, measure: Literal["utf16", "chars"] = "chars"
) -> list[RichText]:
    """Split ``rt`` into parts whose text is at most ``limit`` long.

    ``measure="utf16"`` counts UTF-16 code units (Telegram), ``"chars"`` code points.
    Cuts prefer paragraph, then line, then word boundaries, never split a surrogate pair (and
    try not to split a grapheme); spans crossing a cut are re-opened in the next part.
    Lossless: the parts' texts concatenate to ``rt.text``; no part is empty.
    """
    text, raw = _from_model(rt)
    if limit < (2 if measure == "utf16" else 1):
        raise ValueError(f"limit {limit} too small")
    if not text:
        return []
    spans = _normalize(text, raw, nest=False)
    if measure == "utf16":
        prefix = _utf16_prefix(text)

        def fits(a: int, b: int) -> bool:
            return prefix[b] - prefix[a] <= limit

    else:

        def fits(a: int, b: int) -> bool:
            return b - a <= limit

    cuts = _split_positions(text, fits, limit)
    return [_to_model(text[a:b], _clip_spans(spans, a, b)) for a, b in itertools.pairwise(cuts)]


def _strip_part(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def split_for_telegram(
    rt: RichText, limit: int = TELEGRAM_LIMIT
) -> list[tuple[str, list[dict[str, Any]]]]:
    """Split for Telegram: (text, entities) parts each at most ``limit`` UTF-16 units.

    Whitespace at the cuts is dropped (Telegram trims it anyway) and whitespace-only parts
    are skipped, so every part is sendable.
    """
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for part in split_rich(rt, limit, measure="utf16"):
        text, spans = _from_model(part)
        a, b = _strip_part(text, 0, len(text))
        if a < b:
            out.append(to_telegram(_to_model(text[a:b], _clip_spans(spans, a, b))))
    return out


def split_for_discord(rt: RichText, limit: int = DISCORD_LIMIT) -> list[str]:
    """Split for Discord: markdown strings each at most ``limit`` characters once rendered.

    A part that cannot fit with its formatting (e.g. one character inside a link with a
    huge URL) is rendered as escaped plain text instead.  Whitespace-only parts are skipped.
    """
    if limit < 8:
        raise ValueError(f"limit {limit} too small")
    text, raw = _from_model(rt)
    if not text:
        return []
    spans = _normalize(text, raw)

    def render(a: int, b: int, *, plain: bool = False) -> str:
        a, b = _strip_part(text, a, b)
        if a >= b:
            return ""
        return _to_discord(text[a:b], [] if plain else _clip_spans(spans, a, b))

    if len(text) <= limit:
        # Most messages fit whole: one render instead of the cut search's dozen.
        whole = render(0, len(text))
        if len(whole) <= limit:
            return [whole] if whole else []

    def fits(a: int, b: int) -> bool:
        return len(render(a, b)) <= limit or len(render(a, b, plain=True)) <= limit

    cuts = _split_positions(text, fits, limit)
    out: list[str] = []
    for a, b in itertools.pairwise(cuts):
        md = render(a, b)
        if len(md) > limit:
            md = render(a, b, plain=True)
        if md:
            out.append(md)
    return out


def human_size(size: int | None) -> str:
    """A file size for notices, in binary units everywhere ("10.0 MiB", "512 KiB")."""
    if size is None:
        return "size unknown"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"
