"""Matrix text: the neutral ``RichText`` to and from ``org.matrix.custom.html``.

Outbound renders the spans as the HTML subset the Matrix spec recommends clients accept
(``strong em u del code pre a span[data-mx-spoiler]``), with the plain text as ``body``.
Inbound reads ``formatted_body`` with the standard library's HTML tokenizer. mautrix's
``MatrixParser`` was the first choice but trims the whitespace inside every formatting tag
(``<b>bold </b>text`` becomes "boldtext") and recurses once per nesting level.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, Final

from bridge.formatting import to_plain
from bridge.model import RichText, Span, SpanKind

__all__ = ["HTML_FORMAT", "from_matrix", "to_matrix"]

HTML_FORMAT: Final = "org.matrix.custom.html"
# A formatted_body is at most one event (65,536 bytes); anything longer is not from a homeserver.
MAX_HTML = 70_000
_LANGUAGE: Final = re.compile(r"[A-Za-z0-9_+#.\-]{1,32}")

_OPEN: Final[dict[SpanKind, str]] = {
    "bold": "<strong>",
    "italic": "<em>",
    "underline": "<u>",
    "strike": "<del>",
    "spoiler": "<span data-mx-spoiler>",
    "code": "<code>",
}
_CLOSE: Final[dict[SpanKind, str]] = {
    "bold": "</strong>",
    "italic": "</em>",
    "underline": "</u>",
    "strike": "</del>",
    "spoiler": "</span>",
    "code": "</code>",
}


def _open(span: Span) -> str:
    if span.kind == "link":
        return f'<a href="{html.escape(span.url or "", quote=True)}">'
    if span.kind == "pre":
        if span.language:
            return f'<pre><code class="language-{html.escape(span.language, quote=True)}">'
        return "<pre><code>"
    return _OPEN[span.kind]


def _close(span: Span) -> str:
    if span.kind == "link":
        return "</a>"
    if span.kind == "pre":
        return "</code></pre>"
    return _CLOSE[span.kind]


def to_matrix(rt: RichText) -> tuple[str, str | None]:
    """(``body``, ``formatted_body``); the HTML is None for text without formatting.

    Spans may overlap in the neutral model; HTML must nest. At every span boundary the open
    tags that no longer match the active spans (outermost first) are closed and reopened, so
    the output is always well nested and each character keeps exactly its formatting.
    """
    body = to_plain(rt)
    if not rt.spans:
        return body, None
    text = rt.text
    spans = sorted(set(rt.spans), key=lambda s: (s.start, -s.end, s.kind, s.url or ""))
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    out: list[str] = []
    stack: list[Span] = []
    for a, b in itertools.pairwise(cuts):
        active = [s for s in spans if s.start <= a and b <= s.end]
        keep = 0
        while keep < len(stack) and keep < len(active) and stack[keep] == active[keep]:
            keep += 1
        while len(stack) > keep:
            out.append(_close(stack.pop()))
        for span in active[keep:]:
            out.append(_open(span))
            stack.append(span)
        in_pre = any(s.kind == "pre" for s in stack)
        chunk = html.escape(text[a:b], quote=False)
        out.append(chunk if in_pre else chunk.replace("\n", "<br>"))
    while stack:
        out.append(_close(stack.pop()))
    return body, "".join(out)


_INLINE: Final[dict[str, SpanKind]] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "code": "code",
}
_BLOCK: Final = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
    | {"table", "tr"}
)
_VOID: Final = frozenset({"br", "hr", "img", "wbr"})
_MAX_DEPTH = 64
_SPACES: Final = re.compile(r"\s+")


@dataclass
class _Open:
    tag: str
    kind: SpanKind | None
    start: int
    url: str | None = None
    language: str | None = None


class _HtmlReader(HTMLParser):
    """The Matrix HTML subset -> text + spans, without recursion (hostile nesting is cheap).

    Whitespace follows HTML: runs collapse to one space except inside ``pre``; ``br`` and block
    elements make the line breaks. The reply fallback (``mx-reply``) is dropped.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[Span] = []
        self.stack: list[_Open] = []
        self.skip = 0

    def _append(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.length += len(text)

    def _ends_with_newline(self) -> bool:
        return not self.parts or self.parts[-1].endswith("\n")

    def _in_pre(self) -> bool:
        return any(o.kind == "pre" for o in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip or tag == "mx-reply":
            self.skip += tag not in _VOID
            return
        attributes = dict(attrs)
        if tag == "br":
            self._append("\n")
            return
        if tag in _BLOCK and not self._ends_with_newline():
            self._append("\n")
        if tag == "li":
            self._append("• ")
        if tag == "img":
            self._append(attributes.get("alt") or "")
            return
        if tag in _VOID or len(self.stack) >= _MAX_DEPTH:
            return
        kind: SpanKind | None = _INLINE.get(tag)
        entry = _Open(tag, kind, self.length)
        if tag == "code" and self._in_pre():
            entry.kind = None
            language = (attributes.get("class") or "").removeprefix("language-")
            for outer in reversed(self.stack):
                if outer.kind == "pre" and language and _LANGUAGE.fullmatch(language):
                    outer.language = language
                    break
        elif tag == "pre":
            entry.kind = "pre"
        elif tag == "a":
            href = attributes.get("href") or ""
            if href.startswith(("https://", "http://", "mailto:")) and not href.startswith(
                "https://matrix.to/"
            ):
                entry.kind, entry.url = "link", href
        elif tag == "span" and "data-mx-spoiler" in attributes:
            entry.kind = "spoiler"
        self.stack.append(entry)

    def handle_endtag(self, tag: str) -> None:
        if self.skip:
            self.skip -= tag not in _VOID
            return
        if not any(o.tag == tag for o in self.stack):
            return
        while self.stack:
            entry = self.stack.pop()
            if entry.kind is not None and self.length > entry.start:
                self.spans.append(
                    Span(
                        entry.kind,
                        entry.start,
                        self.length,
                        url=entry.url,
                        language=entry.language,
                    )
                )
            if entry.tag == tag:
                break
        if tag in _BLOCK and not self._ends_with_newline():
            self._append("\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if not self._in_pre():
            data = _SPACES.sub(" ", data)
            if self._ends_with_newline():
                data = data.lstrip(" ")
        self._append(data)


def from_matrix(content: dict[str, Any]) -> RichText:
    """A message event's content -> neutral rich text (``body`` when there is no HTML)."""
    body = content.get("body")
    plain = body if isinstance(body, str) else ""
    formatted = content.get("formatted_body")
    if content.get("format") != HTML_FORMAT or not isinstance(formatted, str):
        return RichText(plain)
    if len(formatted) > MAX_HTML:
        return RichText(plain)
    reader = _HtmlReader()
    reader.feed(formatted)
    reader.close()
    reader.handle_endtag("")  # nothing matches "": only unclosed tags are left to close
    while reader.stack:
        reader.handle_endtag(reader.stack[-1].tag)
    text = "".join(reader.parts)
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    # Same formatting split by our own re-opened tags (or a sender's) is one span again.
    merged: list[Span] = []
    for span in sorted(set(reader.spans), key=lambda s: (s.kind, s.url or "", s.start)):
        start, end = max(span.start - lead, 0), min(span.end - lead, len(text))
        if start >= end:
            continue
        last = merged[-1] if merged else None
        if (
            last is not None
            and (last.kind, last.url, last.language) == (span.kind, span.url, span.language)
            and start <= last.end
        ):
            merged[-1] = Span(last.kind, last.start, max(end, last.end), last.url, last.language)
        else:
            merged.append(Span(span.kind, start, end, url=span.url, language=span.language))
    return RichText(text, tuple(sorted(merged, key=lambda s: (s.start, -s.end, s.kind))))
