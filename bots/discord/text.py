"""Discord's text: markdown <-> the neutral rich text, with every injection defused.

All literal text going out is escaped (``**not bold**`` typed on Telegram stays literal),
``@everyone``/``@here`` get a zero-width space, and mention syntax is escaped; the adapter
also sends ``allowed_mentions`` none.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Final, Literal

from bridge.formatting import (
    MentionKind,
    MentionResolver,
    Styled,
    clip_spans,
    normalize,
    pack,
    split_positions,
    strip_part,
    unpack,
)
from bridge.model import RichText

__all__ = [
    "DISCORD_LIMIT",
    "ZWSP",
    "escape_discord",
    "from_discord",
    "neutralize_mentions",
    "split_for_discord",
    "to_discord",
]

ZWSP: Final = "\u200b"
DISCORD_LIMIT: Final = 2000

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


def _code_breaks_style(style: Styled, code_text: str) -> bool:
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
    text, raw = unpack(rt)
    return _to_discord(text, raw)


def _to_discord(text: str, raw: Sequence[Styled]) -> str:
    spans = normalize(text, raw, trim_styles=True, code_splits=_code_breaks_style)
    renderer = _DiscordRenderer(text, spans)
    renderer.walk(0, len(text))
    return _assemble(renderer.tokens)


class _DiscordRenderer:
    """Walks the sorted, nested spans once, turning text and spans into tokens."""

    def __init__(self, text: str, spans: Sequence[Styled]) -> None:
        self.text = text
        self.spans = spans
        self.tokens: list[_Token] = []
        self.idx = 0  # the next span to emit

    def walk(self, lo: int, hi: int) -> None:
        pos = lo
        while self.idx < len(self.spans) and self.spans[self.idx].start < hi:
            s = self.spans[self.idx]
            self.idx += 1
            if s.start > pos:
                self.tokens.extend(_escape_tokens(self.text, pos, s.start))
            self.emit(s)
            pos = s.end
        if hi > pos:
            self.tokens.extend(_escape_tokens(self.text, pos, hi))

    def skip_children(self, s: Styled) -> None:
        while self.idx < len(self.spans) and self.spans[self.idx].start < s.end:
            self.idx += 1

    def emit(self, s: Styled) -> None:
        body = self.text[s.start : s.end]
        if s.kind == "code":
            self.tokens.append(("code", _discord_code(body)))
            return
        if s.kind == "pre":
            if body.strip("\n"):
                self.tokens.append(("code", _discord_pre(body, s.language)))
            else:  # Discord cannot show an empty code block
                self.tokens.extend(_escape_tokens(self.text, s.start, s.end))
            return
        if s.kind == "link":
            self.emit_link(s, body)
            return
        mark = _DISCORD_MARK[s.kind]
        self.tokens.append(("open", mark))
        self.walk(s.start, s.end)
        self.tokens.append(("close", mark))

    def emit_link(self, s: Styled, body: str) -> None:
        url = s.url or ""
        is_web = re.match(r"https?://[^\s]", url, re.IGNORECASE) is not None
        if is_web and body == url and _URL_RE.fullmatch(url) is not None:
            self.skip_children(s)  # a bare URL renders as itself
            self.tokens.append(("url", neutralize_mentions(url)))
            return
        if is_web and not any(c in body for c in "[]\n"):
            self.tokens.append(("open", "["))
            self.walk(s.start, s.end)
            self.tokens.append(("close", f"]({_encode_url(url)})"))
            return
        self.walk(s.start, s.end)
        if url.startswith("tg://") or url == body:
            return
        if is_web:
            self.tokens.append(("text", f" (<{_encode_url(url)}>)"))
        else:
            self.tokens.append(("text", " (" + escape_discord(url) + ")"))


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
        self.spans: list[Styled] = []
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
            self.spans.append(Styled(start, self.length, kind, url))

    def parse(self, src: str) -> None:
        pos = 0
        n = len(src)
        while pos < n:
            step = _PARSE_STEPS.get(src[pos])
            end = step(self, src, pos) if step is not None else None
            if end is None:
                m = _R_TEXT.match(src, pos)
                assert m is not None  # [\s\S] always matches
                self.add(m.group(0))
                end = m.end()
            pos = end

    # Each step parses the markup starting at ``src[pos]``: the index after it, or None when
    # there is none there (the character is then literal text).

    def _escape(self, src: str, pos: int) -> int | None:
        m = _R_ESCAPE.match(src, pos)
        if m is None:
            return None
        self.add(m.group(1))
        return m.end()

    def _backtick(self, src: str, pos: int) -> int | None:
        m = _R_CODEBLOCK.match(src, pos)
        if m:
            start = self.length
            self.add(m.group(2))
            self.spans.append(Styled(start, self.length, "pre", None, m.group(1)))
            return m.end()
        m = _R_INLINECODE.match(src, pos)
        if m is None:
            return None
        body = m.group(2)
        if body.startswith(" ") and body.lstrip(" ").startswith("`"):
            body = body[1:]
        if body.endswith(" ") and body.rstrip(" ").endswith("`"):
            body = body[:-1]
        start = self.length
        self.add(body)
        if self.length > start:
            self.spans.append(Styled(start, self.length, "code"))
        return m.end()

    def _masked_link(self, src: str, pos: int) -> int | None:
        m = _R_MASKED.match(src, pos)
        if m is None:
            return None
        self.styled("link", m.group(1), url=m.group(2))
        return m.end()

    def _angle(self, src: str, pos: int) -> int | None:
        if m := _R_AUTOLINK.match(src, pos):
            start = self.length
            self.add(m.group(1))
            self.spans.append(Styled(start, self.length, "link", m.group(1)))
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
        return m.end() if m else None

    def _bare_url(self, src: str, pos: int) -> int | None:
        m = _URL_RE.match(src, pos)
        if m is None:
            return None
        start = self.length
        self.add(m.group(0))
        self.spans.append(Styled(start, self.length, "link", m.group(0)))
        return m.end()

    def _heading(self, src: str, pos: int) -> int | None:
        if self.depth != 0 or not (pos == 0 or src[pos - 1] == "\n"):
            return None
        return self._styled_match(_R_HEADING, 2, "bold", src, pos)

    def _star(self, src: str, pos: int) -> int | None:
        end = self._styled_match(_R_STRONG, 1, "bold", src, pos)
        return end if end is not None else self._styled_match(_R_EM, 2, "italic", src, pos)

    def _underscore(self, src: str, pos: int) -> int | None:
        end = self._styled_match(_R_UNDERLINE, 1, "underline", src, pos)
        return end if end is not None else self._styled_match(_R_EM, 1, "italic", src, pos)

    def _tilde(self, src: str, pos: int) -> int | None:
        return self._styled_match(_R_STRIKE, 1, "strike", src, pos)

    def _bar(self, src: str, pos: int) -> int | None:
        return self._styled_match(_R_SPOILER, 1, "spoiler", src, pos)

    def _styled_match(
        self, pattern: re.Pattern[str], group: int, kind: str, src: str, pos: int
    ) -> int | None:
        m = pattern.match(src, pos)
        if m is None:
            return None
        self.styled(kind, m.group(group))
        return m.end()


_PARSE_STEPS: Final[dict[str, Callable[[_DiscordParser, str, int], int | None]]] = {
    "\\": _DiscordParser._escape,
    "`": _DiscordParser._backtick,
    "[": _DiscordParser._masked_link,
    "<": _DiscordParser._angle,
    "h": _DiscordParser._bare_url,
    "H": _DiscordParser._bare_url,
    "#": _DiscordParser._heading,
    "*": _DiscordParser._star,
    "_": _DiscordParser._underscore,
    "~": _DiscordParser._tilde,
    "|": _DiscordParser._bar,
}


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
    return pack(text, normalize(text, p.spans, nest=False))


def split_for_discord(rt: RichText, limit: int = DISCORD_LIMIT) -> list[str]:
    """Split for Discord: markdown strings each at most ``limit`` characters once rendered.

    A part that cannot fit with its formatting (e.g. one character inside a link with a
    huge URL) is rendered as escaped plain text instead.  Whitespace-only parts are skipped.
    """
    if limit < 8:
        raise ValueError(f"limit {limit} too small")
    text, raw = unpack(rt)
    if not text:
        return []
    spans = normalize(text, raw)

    def render(a: int, b: int, *, plain: bool = False) -> str:
        a, b = strip_part(text, a, b)
        if a >= b:
            return ""
        return _to_discord(text[a:b], [] if plain else clip_spans(spans, a, b))

    if len(text) <= limit:
        # Most messages fit whole: one render instead of the cut search's dozen.
        whole = render(0, len(text))
        if len(whole) <= limit:
            return [whole] if whole else []

    def fits(a: int, b: int) -> bool:
        return len(render(a, b)) <= limit or len(render(a, b, plain=True)) <= limit

    cuts = split_positions(text, fits, limit)
    out: list[str] = []
    for a, b in itertools.pairwise(cuts):
        md = render(a, b)
        if len(md) > limit:
            md = render(a, b, plain=True)
        if md:
            out.append(md)
    return out
