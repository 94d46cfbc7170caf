"""Telegram's text formatting, as the Bot API server does it.

- ``parse_html`` / ``parse_markdown_v2`` / ``parse_markdown`` turn a ``parse_mode`` text into plain
  text plus ``MessageEntity`` dicts (UTF-16 offsets), raising ``EntityParseError`` where Telegram
  answers 400 "can't parse entities".
- ``detect_entities`` adds what Telegram finds by itself (``bot_command``, ``mention``, ``url``,
  ``hashtag``, ``cashtag``, ``email``), outside code, pre and links.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

Entity = dict[str, Any]

ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "date_time",
    }
)


class EntityParseError(ValueError):
    """The text cannot be parsed; the message is Telegram's, after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_offsets(text: str) -> list[int]:
    """Prefix table: ``table[i]`` is the UTF-16 offset of ``text[i]`` (``len(text)`` included)."""
    table = [0] * (len(text) + 1)
    pos = 0
    for i, ch in enumerate(text):
        table[i] = pos
        pos += 2 if ord(ch) > 0xFFFF else 1
    table[len(text)] = pos
    return table


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity covers."""
    raw = text.encode("utf-16-le")
    return raw[offset * 2 : (offset + length) * 2].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (int(e["offset"]), -int(e["length"])))


class _Builder:
    """Accumulates output text and tracks its UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0
        self.entities: list[Entity] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += utf16_len(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        length = self.pos - start
        if length > 0:
            self.entities.append({"type": kind, "offset": start, "length": length, **extra})

    def result(self) -> tuple[str, list[Entity]]:
        return "".join(self.parts), sort_entities(self.entities)


# --------------------------------------------------------------------------------------- HTML

_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}


class _HtmlParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.out = _Builder()
        # (tag, entity type, start offset, extra fields)
        self.stack: list[tuple[str, str | None, int, dict[str, Any]]] = []

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(x) + 1 for x in lines[: line - 1]) + col
        return len(self.source[:index].encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        kind: str | None
        extra: dict[str, Any] = {}
        if tag in _HTML_SIMPLE:
            kind = _HTML_SIMPLE[tag]
            if tag == "code" and self.stack and self.stack[-1][0] == "pre":
                # <pre><code class="language-x"> is one pre entity with a language
                language = values.get("class", "")
                if language.startswith("language-"):
                    self.stack[-1][3]["language"] = language[len("language-") :]
                kind = None
        elif tag == "span":
            if values.get("class") != "tg-spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset()}'
                )
            kind = "spoiler"
        elif tag == "a":
            href = values.get("href", "")
            kind = "text_link" if href else None
            extra = {"url": href}
        elif tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in values else "blockquote"
        elif tag == "tg-emoji":
            kind = "custom_emoji"
            extra = {"custom_emoji_id": values.get("emoji-id", "")}
        else:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
            )
        self.stack.append((tag, kind, self.out.pos, extra))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise EntityParseError(
            f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}'
        )

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise EntityParseError(
                f'Unexpected end tag at byte offset {self._byte_offset()}: "</{tag}>"'
            )
        open_tag, kind, start, extra = self.stack[-1]
        if open_tag != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self._byte_offset()}, "
                f'expected "</{open_tag}>", found "</{tag}>"'
            )
        self.stack.pop()
        if kind is not None:
            self.out.entity(kind, start, **extra)

    def handle_data(self, data: str) -> None:
        self.out.add(data)


def parse_html(text: str) -> tuple[str, list[Entity]]:
    parser = _HtmlParser(text)
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1][0]}"'
        )
    return parser.out.result()


# -------------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


_MDV2_UNCLOSED = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    return _MarkdownV2(text).parse()


class _MarkdownV2:
    """One pass over the text; each character that starts markup has its own step."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.out = _Builder()
        self.stack: list[tuple[str, int, int]] = []  # (entity type, utf16 start, source index)
        self.line_start = True
        self.quote_start: int | None = None

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < self.n:
            c = self.text[i]
            if self.line_start and c == ">":
                if self.quote_start is None:
                    self.quote_start = self.out.pos
                i += 1
                self.line_start = False
                continue
            if self.line_start and self.quote_start is not None:
                self.out.entity("blockquote", self.quote_start)
                self.quote_start = None
            self.line_start = False
            i = self._step(c, i)
        if self.quote_start is not None:
            self.out.entity("blockquote", self.quote_start)
        if self.stack:
            kind, _, index = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MDV2_UNCLOSED.get(kind, kind)} entity at byte offset "
                f"{self.byte_at(index)}"
            )
        return self.out.result()

    def byte_at(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def _step(self, c: str, i: int) -> int:
        """Consume the markup or character at ``i``; the index after it."""
        step = _MDV2_STEPS.get(c)
        end = step(self, i) if step is not None else None
        if end is not None:
            return end
        if c in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
            )
        self.out.add(c)
        return i + 1

    def _toggle(self, kind: str, index: int) -> None:
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == kind:
                _, start, _ = self.stack.pop(k)
                self.out.entity(kind, start)
                return
        self.stack.append((kind, self.out.pos, index))

    def _escape(self, i: int) -> int:
        text = self.text
        if i + 1 >= self.n or not 0 < ord(text[i + 1]) < 127:
            raise EntityParseError(f"Character '\\' is reserved at byte offset {self.byte_at(i)}")
        self.out.add(text[i + 1])
        return i + 2

    def _newline(self, i: int) -> int:
        self.out.add("\n")
        self.line_start = True
        return i + 1

    def _code(self, i: int) -> int:
        is_pre = self.text.startswith("```", i)
        start_index = i
        i, language = self._pre_language(i + 3) if is_pre else (i + 1, "")
        start = self.out.pos
        i = self._code_body(i, is_pre)
        if i < 0:
            kind = "pre" if is_pre else "code"
            raise EntityParseError(
                f"Can't find end of {kind.capitalize()} entity at byte offset "
                f"{self.byte_at(start_index)}"
            )
        if not is_pre:
            self.out.entity("code", start)
        elif language:
            self.out.entity("pre", start, language=language)
        else:
            self.out.entity("pre", start)
        return i

    def _pre_language(self, i: int) -> tuple[int, str]:
        """After an opening ```: where the block's text starts, and its language if named."""
        text = self.text
        newline = text.find("\n", i)
        first = text[i:newline] if newline >= 0 else ""
        if newline >= 0 and first and re.fullmatch(r"[^\s`\\]+", first):
            return newline + 1, first
        if newline >= 0 and not first:
            return newline + 1, ""
        return i, ""

    def _code_body(self, i: int, is_pre: bool) -> int:
        """Copy code text up to its closing backtick(s); the index after them, or -1."""
        text, n = self.text, self.n
        while i < n:
            ch = text[i]
            if ch == "\\" and i + 1 < n and text[i + 1] in "`\\":
                self.out.add(text[i + 1])
                i += 2
                continue
            if ch == "`" and is_pre and text.startswith("```", i):
                return i + 3
            if ch == "`" and not is_pre:
                return i + 1
            self.out.add(ch)
            i += 1
        return -1

    def _bold(self, i: int) -> int:
        self._toggle("bold", i)
        return i + 1

    def _underscore(self, i: int) -> int:
        if self.text.startswith("__", i):
            self._toggle("underline", i)
            return i + 2
        self._toggle("italic", i)
        return i + 1

    def _strike(self, i: int) -> int:
        self._toggle("strikethrough", i)
        return i + 1

    def _spoiler(self, i: int) -> int | None:
        if not self.text.startswith("||", i):
            return None
        self._toggle("spoiler", i)
        return i + 2

    def _open_link(self, i: int) -> int:
        self.stack.append(("text_link", self.out.pos, i))
        return i + 1

    def _close_link(self, i: int) -> int | None:
        if not any(kind == "text_link" for kind, _, _ in self.stack):
            return None
        text, n = self.text, self.n
        if not text.startswith("](", i):
            raise EntityParseError(
                f"Can't find end of a URL at byte offset {self.byte_at(i)}: expected '(' after ']'"
            )
        j = i + 2
        url_parts: list[str] = []
        while j < n and text[j] != ")":
            if text[j] == "\\" and j + 1 < n:
                url_parts.append(text[j + 1])
                j += 2
                continue
            url_parts.append(text[j])
            j += 1
        if j >= n:
            raise EntityParseError(f"Can't find end of a URL at byte offset {self.byte_at(i)}")
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == "text_link":
                _, start, _ = self.stack.pop(k)
                self.out.entity("text_link", start, url="".join(url_parts))
                break
        return j + 1


_MDV2_STEPS: dict[str, Callable[[_MarkdownV2, int], int | None]] = {
    "\\": _MarkdownV2._escape,
    "\n": _MarkdownV2._newline,
    "`": _MarkdownV2._code,
    "*": _MarkdownV2._bold,
    "_": _MarkdownV2._underscore,
    "~": _MarkdownV2._strike,
    "|": _MarkdownV2._spoiler,
    "[": _MarkdownV2._open_link,
    "]": _MarkdownV2._close_link,
}


# ---------------------------------------------------------------------------- legacy Markdown

_MD_KINDS = {"*": "bold", "_": "italic"}


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if c in _MD_KINDS:
            end = text.find(c, i + 1)
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {len(text[:i].encode())}"
                )
            start = out.pos
            out.add(text[i + 1 : end])
            out.entity(_MD_KINDS[c], start)
            i = end + 1
            continue
        if c == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {len(text[:i].encode())}"
                )
            body = text[i + len(fence) : end]
            start = out.pos
            if fence == "```":
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        language, body = first, rest
                out.add(body)
                if language:
                    out.entity("pre", start, language=language)
                else:
                    out.entity("pre", start)
            else:
                out.add(body)
                out.entity("code", start)
            i = end + len(fence)
            continue
        if c == "[":
            m = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)
            if m:
                start = out.pos
                out.add(m.group(1))
                out.entity("text_link", start, url=m.group(2))
                i = m.end()
                continue
        out.add(c)
        i += 1
    return out.result()


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Apply ``parse_mode`` (None: plain text). ``ValueError`` for an unknown mode."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise ValueError(parse_mode)


# ------------------------------------------------------------------------ automatic entities

_TLDS = "com|org|net|io|dev|me|app|xyz|info|eth|co|uk|de|fr|ru|ch|nl|ai|gg|im|ly|to|tv|edu|gov|link"
_AUTO_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (
        "url",
        re.compile(
            r"(?<![\w@/.])(?:(?:https?|ftp|tg|ton)://[^\s<>\"]+"
            r"|(?:www\.)?(?:[A-Za-z0-9-]+\.)+(?:" + _TLDS + r")(?![\w-])(?::\d{1,5})?"
            r"(?:/[^\s<>\"]*)?)",
            re.IGNORECASE,
        ),
    ),
    (
        "bot_command",
        re.compile(r"(?<![^\s(])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])"),
    ),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{1,8}(?![\w])")),
]
# Telegram finds nothing inside these.
_OPAQUE = frozenset(
    {"code", "pre", "text_link", "text_mention", "url", "email", "custom_emoji", "mention"}
)


def detect_entities(text: str, existing: list[Entity] | None = None) -> list[Entity]:
    """Entities Telegram adds by itself, not overlapping ``existing`` opaque ones."""
    table = utf16_offsets(text)
    taken: list[tuple[int, int]] = [
        (int(e["offset"]), int(e["offset"]) + int(e["length"]))
        for e in existing or []
        if e.get("type") in _OPAQUE
    ]
    found: list[Entity] = []
    for kind, pattern in _AUTO_PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            if kind == "url":
                while end > start and text[end - 1] in ".,;:!?'\")]":
                    end -= 1
            a, b = table[start], table[end]
            if b <= a or any(a < y and x < b for x, y in taken):
                continue
            taken.append((a, b))
            found.append({"type": kind, "offset": a, "length": b - a})
    return found


def check_entities(text: str, entities: list[Entity]) -> list[Entity]:
    """Validate explicit ``entities`` against ``text`` as the server does; normalized copies."""
    total = utf16_len(text)
    result: list[Entity] = []
    for raw in entities:
        if not isinstance(raw, dict):
            raise EntityParseError("entity must be an object")
        kind = raw.get("type")
        if kind not in ENTITY_TYPES:
            raise EntityParseError(f"unsupported entity type {kind!r}")
        try:
            offset, length = int(raw["offset"]), int(raw["length"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EntityParseError("entity offset and length must be integers") from exc
        if offset < 0 or length < 0 or offset + length > total:
            raise EntityParseError(
                f"entity {kind} at offset {offset} with length {length} is beyond the end of "
                f"the text ({total} UTF-16 code units)"
            )
        if kind == "text_link" and not raw.get("url"):
            raise EntityParseError("text_link entity needs a url")
        if length == 0:
            continue
        entity: Entity = {"type": kind, "offset": offset, "length": length}
        for key in ("url", "user", "language", "custom_emoji_id"):
            if key in raw and raw[key] is not None:
                entity[key] = raw[key]
        result.append(entity)
    return sort_entities(result)
