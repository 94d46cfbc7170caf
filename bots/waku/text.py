"""Text as the Status app shows it: the neutral rich text to and from Status's markdown.

Status clients render ``ChatMessage.text`` (and a bridged message's ``BridgeMessage.content``)
through status-go's ``ParsedText``: ``markdown.Parse`` of github.com/status-im/markdown
(status-go c72f491, protocol/common/message.go ``PrepareContent``; parser read at
status-im/markdown 32e5a50, parser/parser.go ``NewWithExtensions`` and parser/inline.go). That
parser is much smaller than CommonMark, and this module follows it, not CommonMark:

- blocks are only fenced code (three or more backticks or tildes on their own line), quotes
  (``>`` at a line's start, shown verbatim: no formatting inside) and paragraphs;
- inline: ``*x*`` / ``_x_`` italic, ``**x**`` / ``__x__`` bold, ``***x***`` both, ``~~x~~``
  (and ``~x~``) struck, `` `x` `` code, bare ``http(s)://`` / ``ftp://`` URLs as links,
  ``\\`` escapes, ``@0x04…`` mentions and ``#tags``. Emphasis does not nest (``maxNesting``
  is 1: a run's text is shown verbatim), a single-character run must end before a space or
  punctuation (``NoIntraEmphasis``), and there is no ``[label](url)`` syntax at all.

So a link whose label is not its URL goes out as ``label (url)``, overlapping styles become
flat runs, and underline and spoilers go out as plain text.

Status's length limit is status-go's ``maxChatMessageTextLength``: 4096 runes
(protocol/message_validator.go ``ValidateText`` at c72f491); ``split_for_status`` cuts longer
texts into parts that each fit once rendered.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.formatting import Styled, clip_spans, pack, split_positions, strip_part, unpack
from bridge.model import RichText, Span, SpanKind
from bridge.status import MAX_TEXT_LENGTH

__all__ = ["MAX_TEXT_LENGTH", "escape_status", "from_status", "split_for_status", "to_status"]

# --- Status markdown -> rich text (a port of the parts of status-im/markdown's parser that
# change what a reader sees) ----------------------------------------------------------------

_SPACE = " \t\n\r\f\v"
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
_ESCAPABLE = "\\`*_{}[]()#+-.!:|&<>~"  # parser/inline.go escapeChars
_LINK_PREFIXES = ("http://", "https://", "ftp://", "file://", "mailto:")
_SAFE_LINKS = ("http://", "https://", "ftp://", "mailto://")
_QUOTE = re.compile(r" {0,3}>")
_BACKTICKS = re.compile(r"`+")


def _is_space(c: str) -> bool:
    return c in _SPACE


def _is_alnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


@dataclass(frozen=True, slots=True)
class _Node:
    kinds: tuple[SpanKind, ...]
    text: str
    url: str | None = None


def _find_emph_char(data: str, c: str) -> int:
    """helperFindEmphChar: the next ``c`` not escaped, skipping code spans and links."""
    i = 0
    n = len(data)
    while i < n:
        while i < n and data[i] != c and data[i] != "`" and data[i] != "[":
            i += 1
        if i >= n:
            return 0
        if i != 0 and data[i - 1] == "\\":
            i += 1
            continue
        if data[i] == c:
            return i
        if data[i] == "`":
            i, tmp = _scan_for(data, i + 1, "`", c)
            if i >= n:
                return tmp
            i += 1
        else:  # "["
            i, found = _skip_link(data, i, c)
            if found is not None:
                return found
    return 0


def _scan_for(data: str, i: int, end: str, c: str) -> tuple[int, int]:
    """From ``i`` to the next ``end`` (or the data's end): its index, and the first ``c`` on
    the way (0 if none)."""
    tmp = 0
    n = len(data)
    while i < n and data[i] != end:
        if tmp == 0 and data[i] == c:
            tmp = i
        i += 1
    return i, tmp


def _skip_link(data: str, i: int, c: str) -> tuple[int, int | None]:
    """helperFindEmphChar's link case, from the ``[`` at ``i``: where to scan on, and the
    answer when this link decides it."""
    n = len(data)
    i, tmp = _scan_for(data, i + 1, "]", c)
    i += 1
    while i < n and data[i] in " \n":
        i += 1
    if i >= n:
        return i, tmp
    if data[i] != "[" and data[i] != "(":
        return i, (tmp if tmp > 0 else None)
    cc = data[i]
    i += 1
    while i < n and data[i] != cc:
        if tmp == 0 and data[i] == c:
            return i, i
        i += 1
    if i >= n:
        return i, tmp
    return i + 1, None


def _emph1(data: str, c: str) -> tuple[int, _Node | None]:
    i = 0
    n = len(data)
    if n > 1 and data[0] == c and data[1] == c:
        i = 1
    while i < n:
        length = _find_emph_char(data[i:], c)
        if length == 0:
            return 0, None
        i += length
        if i >= n:
            return 0, None
        if i + 1 < n and data[i + 1] == c:
            i += 1
            continue
        if data[i] == c and not _is_space(data[i - 1]):
            # NoIntraEmphasis (in the parser's CommonExtensions)
            if not (i + 1 == n or _is_space(data[i + 1]) or data[i + 1] in _PUNCTUATION):
                continue
            kind: SpanKind = "strike" if c == "~" else "italic"
            return i + 1, _Node((kind,), data[:i])
    return 0, None


def _emph2(data: str, c: str) -> tuple[int, _Node | None]:
    i = 0
    n = len(data)
    while i < n:
        length = _find_emph_char(data[i:], c)
        if length == 0:
            return 0, None
        i += length
        if i + 1 < n and data[i] == c and data[i + 1] == c and i > 0 and not _is_space(data[i - 1]):
            kind: SpanKind = "strike" if c == "~" else "bold"
            return i + 2, _Node((kind,), data[:i])
        i += 1
    return 0, None


def _emph3(whole: str, offset: int, c: str) -> tuple[int, _Node | None]:
    data = whole[offset:]
    i = 0
    n = len(data)
    while i < n:
        length = _find_emph_char(data[i:], c)
        if length == 0:
            return 0, None
        i += length
        if data[i] != c or _is_space(data[i - 1]):
            continue
        if i + 2 < n and data[i + 1] == c and data[i + 2] == c:
            return i + 3, _Node(("bold", "italic"), data[:i])
        if i + 1 < n and data[i + 1] == c:
            found, node = _emph1(whole[offset - 2 :], c)
            return (found - 2, node) if found else (0, None)
        found, node = _emph2(whole[offset - 1 :], c)
        return (found - 1, node) if found else (0, None)
    return 0, None


def _emphasis(data: str) -> tuple[int, _Node | None]:
    c = data[0]
    n = len(data)
    if n > 2 and data[1] != c:
        if _is_space(data[1]):
            return 0, None
        found, node = _emph1(data[1:], c)
        return (found + 1, node) if found else (0, None)
    if n > 3 and data[1] == c and data[2] != c:
        if _is_space(data[2]):
            return 0, None
        found, node = _emph2(data[2:], c)
        return (found + 2, node) if found else (0, None)
    if n > 4 and data[1] == c and data[2] == c and data[3] != c:
        if c == "~" or _is_space(data[3]):
            return 0, None
        found, node = _emph3(data, 3, c)
        return (found + 3, node) if found else (0, None)
    return 0, None


def _code_span(data: str, offset: int) -> tuple[int, _Node | None]:
    run = _BACKTICKS.match(data, offset)
    nb = run.end() - offset if run else 0
    i = 0
    end = offset + nb
    while end < len(data) and i < nb:
        i = i + 1 if data[end] == "`" else 0
        end += 1
    if i < nb and end >= len(data):
        return 0, None
    begin, stop = offset + nb, end - nb
    while begin < end and data[begin] == " ":
        begin += 1
    while stop > begin and data[stop - 1] == " ":
        stop -= 1
    if begin != stop:
        return end - offset, _Node(("code",), data[begin:stop])
    return end - offset, None


def _unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _auto_link(data: str, offset: int) -> tuple[int, _Node | None]:
    if offset > 0 and data[offset - 1].isascii() and data[offset - 1].isalpha():
        return 0, None  # the parser rewinds over letters and then finds no safe prefix
    link = data[offset:]
    if not any(
        len(link) > len(p) and link[: len(p)].lower() == p and _is_alnum(link[len(p)])
        for p in _SAFE_LINKS
    ):
        return 0, None
    end = 0
    while end < len(link) and not _is_space(link[end]) and link[end] != "<":
        end += 1
    if end >= 2 and link[end - 1] in ".," and link[end - 2] != "\\":
        end -= 1
    if end >= 2 and link[end - 1] == ";" and link[end - 2] != "\\":
        end -= 1
    closer = {'"': '"', "'": "'", ")": "(", "]": "[", "}": "{"}.get(link[end - 1])
    if closer is not None:
        at = offset + end - 2
        open_delim = 1
        while at >= 0 and data[at] != "\n" and open_delim != 0:
            if data[at] == link[end - 1]:
                open_delim += 1
            if data[at] == closer:
                open_delim -= 1
            at -= 1
        if open_delim == 0:
            end -= 1
    url = _unescape(link[:end])
    return end, (_Node(("link",), url, url) if url else None)


def _inline(data: str, out: list[str], spans: list[Styled], base: int) -> int:
    """Parse one paragraph's inline markup into ``out``/``spans``; returns the text length."""
    length = 0

    def add(text: str, kinds: tuple[SpanKind, ...] = (), url: str | None = None) -> None:
        nonlocal length
        if not text:
            return
        for kind in kinds:
            spans.append(Styled(base + length, base + length + len(text), kind, url))
        out.append(text)
        length += len(text)

    beg = end = 0
    n = len(data)
    while end < n:
        c = data[end]
        consumed, node = 0, None
        if c in "*_~":
            consumed, node = _emphasis(data[end:])
        elif c == "`":
            consumed, node = _code_span(data, end)
        elif c == "\\":
            if end + 1 >= n:
                consumed = 2
            elif data[end + 1] in _ESCAPABLE or data[end + 1] == "\n":
                consumed, node = 2, _Node((), data[end + 1])
        elif c in "hHfFmM" and any(data[end : end + len(p)].lower() == p for p in _LINK_PREFIXES):
            consumed, node = _auto_link(data, end)
        if consumed == 0:
            end += 1
            continue
        add(data[beg:end])
        if node is not None:
            add(node.text, node.kinds, node.url)
        beg = end = end + consumed
    add(data[beg:])
    return length


_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,}) *([^\s]*)[ \t]*\n?")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*\n?")


def _closers(lines: Sequence[str]) -> dict[str, list[int]]:
    """Per fence marker, the lines that can close a fenced code block (isFenceLine)."""
    found: dict[str, list[int]] = {}
    for k, line in enumerate(lines):
        match = _FENCE_CLOSE.fullmatch(line)
        if match is not None:
            found.setdefault(match.group(1), []).append(k)
    return found


def _fence(
    lines: Sequence[str], at: int, closers: dict[str, list[int]]
) -> tuple[int, str | None, str] | None:
    """A fenced code block starting at ``lines[at]``: (lines used, language, content)."""
    opening = _FENCE_OPEN.fullmatch(lines[at])
    if opening is None:
        return None
    candidates = closers.get(opening.group(1), [])
    index = bisect.bisect_right(candidates, at)
    if index == len(candidates):
        return None  # never closed: not a code block
    k = candidates[index]
    content = "".join(lines[at + 1 : k])
    return k + 1 - at, opening.group(2) or None, content.removesuffix("\n")


def from_status(text: str) -> RichText:
    """What the Status app shows for ``text``, as neutral rich text. Never raises."""
    # Lines end at "\n" only, as the parser's do (str.splitlines would cut at \r, \v, ...).
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    closers = _closers(lines)
    out: list[str] = []
    spans: list[Styled] = []
    size = 0
    at = 0
    paragraph: list[str] = []
    quoting = False

    def flush() -> None:
        nonlocal size
        if paragraph:
            size += _inline("".join(paragraph), out, spans, size)
            paragraph.clear()

    while at < len(lines):
        line = lines[at]
        fence = _fence(lines, at, closers)
        if fence is not None:
            flush()
            used, language, content = fence
            if content:
                spans.append(Styled(size, size + len(content), "pre", None, language))
            ending = "\n" if lines[at + used - 1].endswith("\n") else ""
            out.append(content + ending)
            size += len(content) + len(ending)
            at += used
            continue
        # A quote is shown verbatim; the lines after it belong to it up to an empty line
        # (quote / terminateBlockquote).
        quoting = bool(_QUOTE.match(line)) or (quoting and bool(line.strip()))
        if quoting:
            flush()
            out.append(line)
            size += len(line)
        else:
            paragraph.append(line)
        at += 1
    flush()
    plain = "".join(out)
    return pack(plain, [s for s in spans if s.start < s.end])


# --- rich text -> Status markdown -----------------------------------------------------------

_STYLES: tuple[SpanKind, ...] = ("bold", "italic", "strike", "code", "link")
_TAG_CHAR = re.compile(r"[0-9a-z-]")


def escape_status(text: str) -> str:
    """Plain text that Status's parser shows as it is (escapes are removed when shown)."""
    out: list[str] = []
    for i, ch in enumerate(text):
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch in "\\`*_~" or (ch == "#" and _TAG_CHAR.match(nxt)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _code(content: str) -> str:
    if "`" not in content:
        return f"`{content}`"
    run = max(len(m) for m in re.findall(r"`+", content)) + 1
    fence = "`" * run
    return f"{fence} {content} {fence}"  # the parser trims the spaces


@dataclass(slots=True)
class _Run:
    text: str
    kinds: frozenset[SpanKind]
    url: str | None


def _runs(text: str, spans: Sequence[Span]) -> list[_Run]:
    """Flat runs of equal style (Status's emphasis does not nest), cut at line ends too."""
    cuts = {0, len(text)}
    for s in spans:
        cuts.update((s.start, s.end))
    cuts.update(i + 1 for i, ch in enumerate(text) if ch == "\n")
    runs: list[_Run] = []
    for a, b in itertools.pairwise(sorted(cuts)):
        kinds = frozenset(s.kind for s in spans if s.start <= a and b <= s.end)
        urls = [s.url for s in spans if s.kind == "link" and s.start <= a and b <= s.end]
        url = urls[0] if urls else None
        if runs and runs[-1].kinds == kinds and runs[-1].url == url and "\n" not in runs[-1].text:
            runs[-1].text += text[a:b]
        else:
            runs.append(_Run(text[a:b], kinds, url))
    return runs


def _marked(content: str, kinds: frozenset[SpanKind], before: str, after: str) -> str | None:
    """``content`` between Status's markers for ``kinds``, or None where the parser would not
    read them back (the text then goes out plain)."""
    if "code" in kinds:
        return _code(content)
    bold, italic = "bold" in kinds, "italic" in kinds
    if bold or italic:
        chars = "*_"
        count = 3 if bold and italic else 2 if bold else 1
    elif "strike" in kinds:
        chars, count = "~", 2
    else:
        return None
    if any(ch in content for ch in "`[\\") or _is_space(content[0]) or _is_space(content[-1]):
        return None
    for ch in chars:
        if ch in content or before.endswith(ch) or after.startswith(ch):
            continue
        # A single-character run must end before a space, punctuation or the end.
        if count == 1 and after and not (_is_space(after[0]) or after[0] in _PUNCTUATION):
            continue
        return ch * count + content + ch * count
    return None


def _render_line(runs: Sequence[_Run]) -> str:
    out = ""
    for index, run in enumerate(runs):
        label = run.text
        url = run.url
        after = runs[index + 1].text if index + 1 < len(runs) else ""
        suffix = ""
        if url is not None:
            if label == url and url.startswith(("http://", "https://")):
                out += label  # a bare URL: Status makes it a link itself
                continue
            suffix = f" ({url})"
            after = suffix
        core = label.strip()
        if not core:
            out += escape_status(label) + suffix
            continue
        lead = label[: len(label) - len(label.lstrip())]
        trail = label[len(label.rstrip()) :]
        marked = _marked(core, run.kinds, out + lead, trail + after)
        out += lead + (marked if marked is not None else escape_status(core)) + trail + suffix
    return out


def _to_status(text: str, spans: Sequence[Span]) -> str:
    pres = sorted((s for s in spans if s.kind == "pre"), key=lambda s: s.start)
    pieces: list[str] = []
    pos = 0
    for pre in pres:
        if pre.start < pos:
            continue  # overlapping code blocks: the first wins
        pieces.append(_render_text(text, spans, pos, pre.start))
        body = text[pre.start : pre.end]
        run = max((len(m) for m in re.findall(r"`{3,}", body)), default=2) + 1
        fence = "`" * run
        lead = "" if not pieces[-1] or pieces[-1].endswith("\n") else "\n"
        trail = "" if pre.end >= len(text) or text[pre.end] == "\n" else "\n"
        pieces.append(f"{lead}{fence}{pre.language or ''}\n{body}\n{fence}{trail}")
        pos = pre.end
    pieces.append(_render_text(text, spans, pos, len(text)))
    return "".join(pieces)


def _render_text(text: str, spans: Sequence[Span], a: int, b: int) -> str:
    if a >= b:
        return ""
    part = text[a:b]
    inner = [
        Span(s.kind, max(s.start, a) - a, min(s.end, b) - a, url=s.url)
        for s in spans
        if s.kind in _STYLES and max(s.start, a) < min(s.end, b)
    ]
    lines: list[str] = []
    quoting = False
    for run_line in _by_line(_runs(part, inner)):
        raw = "".join(r.text for r in run_line)
        # A quote shows verbatim, and so do the lines after it up to an empty line.
        quoting = bool(_QUOTE.match(raw)) or (quoting and bool(raw.strip()))
        lines.append(raw if quoting else _render_line(run_line))
    return "".join(lines)


def _by_line(runs: list[_Run]) -> list[list[_Run]]:
    lines: list[list[_Run]] = [[]]
    for run in runs:
        lines[-1].append(run)
        if run.text.endswith("\n"):
            lines.append([])
    return [line for line in lines if line]


def to_status(rt: RichText) -> str:
    """``rt`` in the markdown Status renders (see the module's docstring for what it reads)."""
    return _to_status(rt.text, rt.spans)


def split_for_status(rt: RichText, limit: int = MAX_TEXT_LENGTH) -> list[str]:
    """``rt`` as Status markdown in parts of at most ``limit`` code points each (status-go
    counts runes, which are code points), cut at paragraph, line or word ends. A part that
    cannot fit with its formatting goes out as plain text. Whitespace-only parts are skipped."""
    text, raw = unpack(rt)
    if not text:
        return []

    def render(a: int, b: int, *, plain: bool = False) -> str:
        a, b = strip_part(text, a, b)
        if a >= b:
            return ""
        if plain:
            return escape_status(text[a:b])
        kept = clip_spans(raw, a, b)
        return to_status(pack(text[a:b], kept))

    if len(text) <= limit:
        whole = render(0, len(text))
        if len(whole) <= limit:
            return [whole] if whole else []

    def fits(a: int, b: int) -> bool:
        # Formatted where it can be; plain only where not even one character fits formatted.
        if len(render(a, b)) <= limit:
            return True
        return len(render(a, a + 1)) > limit and len(render(a, b, plain=True)) <= limit

    cuts = split_positions(text, fits, limit)
    parts: list[str] = []
    for a, b in itertools.pairwise(cuts):
        part = render(a, b)
        if len(part) > limit:
            part = render(a, b, plain=True)
        if part:
            parts.append(part)
    return parts
