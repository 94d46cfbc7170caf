"""The neutral rich-text core: span normalisation, splitting, plain text, the mention model.

Pure functions only: no I/O, no platform SDK imports.

The neutral form is :class:`bridge.model.RichText`: a ``str`` plus spans whose offsets are
Python string indices (code points). Each platform's converter lives in its package under
``bots/`` and builds on the helpers here: ``unpack``/``pack`` between ``RichText`` and
``Styled`` runs, ``normalize`` (clip, merge, nest), ``render_nested`` (walk nested spans),
``split_positions``/``clip_spans``/``strip_part`` (cut long text at good places) and the
UTF-16 counting some platforms use.
"""

from __future__ import annotations

import heapq
import itertools
import unicodedata
from collections.abc import Callable, Sequence
from typing import Final, Literal, NamedTuple

from bridge.model import RichText, Span, SpanKind

__all__ = [
    "MentionKind",
    "MentionResolver",
    "Styled",
    "clip_spans",
    "human_size",
    "normalize",
    "pack",
    "render_nested",
    "split_positions",
    "split_rich",
    "strip_part",
    "to_plain",
    "unpack",
    "utf16_len",
    "utf16_prefix",
]

MentionKind = Literal["user", "role", "channel"]
#: ``resolve(kind, id) -> display name or None``: how a platform's parser names a mention.
MentionResolver = Callable[[MentionKind, str], str | None]

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


class Styled(NamedTuple):
    """A span while converting: half-open [start, end) in code points, any kind string."""

    start: int
    end: int
    kind: str
    url: str | None = None
    language: str | None = None


def unpack(rt: RichText) -> tuple[str, list[Styled]]:
    return rt.text, [Styled(s.start, s.end, s.kind, s.url, s.language) for s in rt.spans]


def pack(text: str, spans: Sequence[Styled]) -> RichText:
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
        else:  # pragma: no cover - normalize never lets other kinds through
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


def utf16_prefix(text: str) -> list[int]:
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


def _merge_same(spans: list[Styled]) -> list[Styled]:
    """Merge overlapping or touching spans of the same kind (and same url/language)."""
    groups: dict[tuple[str, str | None, str | None], list[Styled]] = {}
    for s in spans:
        groups.setdefault((s.kind, s.url, s.language), []).append(s)
    out: list[Styled] = []
    for (kind, url, lang), items in groups.items():
        items.sort()
        cur_start, cur_end = items[0].start, items[0].end
        for s in items[1:]:
            if s.start <= cur_end:
                cur_end = max(cur_end, s.end)
            else:
                out.append(Styled(cur_start, cur_end, kind, url, lang))
                cur_start, cur_end = s.start, s.end
        out.append(Styled(cur_start, cur_end, kind, url, lang))
    return out


def _nest(spans: list[Styled]) -> list[Styled]:
    """Split partially overlapping spans so that the result is properly nested.

    Returned in pre-order: sorted by (start, -end, rank).
    """
    heap: list[tuple[int, int, int, Styled]] = [(s.start, -s.end, _RANK[s.kind], s) for s in spans]
    heapq.heapify(heap)
    out: list[Styled] = []
    stack: list[Styled] = []
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


def normalize(
    text: str,
    spans: Sequence[Styled],
    *,
    trim_styles: bool = False,
    code_splits: Callable[[Styled, str], bool] | None = None,
    nest: bool = True,
) -> list[Styled]:
    """Clip, validate, merge and nest spans.

    Code/pre spans never overlap each other and never contain other spans; other spans are cut
    at code boundaries (a style or link may contain a whole code span, not part of one).
    ``trim_styles`` moves leading/trailing whitespace out of style spans (markdown needs that).
    ``code_splits(style, code_text)`` says a style must not contain that code span at all.
    """
    if not spans:
        return []  # most messages are plain text: every converter asks, often twice
    valid = _valid_spans(text, spans)
    codes = _code_regions(text, valid, drop_blank_pre=trim_styles)
    cut: list[Styled] = []
    for s in valid:
        if s.kind not in _CODE_KINDS:
            cut.extend(_cut_at_codes(text, s, codes, code_splits))
    merged = _exclusive_links(_merge_same(cut)) + codes
    if not nest:
        return sorted(merged, key=_order)
    nested = _nest(merged)
    if not trim_styles:
        return nested
    return sorted(_trimmed(text, nested, codes), key=_order)


def _valid_spans(text: str, spans: Sequence[Styled]) -> list[Styled]:
    """Known kinds, clipped to the text, non-empty; links need a URL; only ``pre`` keeps a
    language and only links a URL."""
    n = len(text)
    valid: list[Styled] = []
    for s in spans:
        if s.kind not in _KINDS:
            continue
        start, end = max(0, s.start), min(n, s.end)
        if start >= end or (s.kind == "link" and not s.url):
            continue
        url = s.url if s.kind == "link" else None
        lang = (s.language or None) if s.kind == "pre" else None
        valid.append(Styled(start, end, s.kind, url, lang))
    return valid


def _code_regions(text: str, valid: Sequence[Styled], *, drop_blank_pre: bool) -> list[Styled]:
    """The code spans to keep: first come, first kept (they never overlap)."""
    codes: list[Styled] = []
    for s in sorted((s for s in valid if s.kind in _CODE_KINDS), key=lambda s: (s.start, -s.end)):
        if codes and s.start < codes[-1].end:
            continue
        codes.append(s)
    if drop_blank_pre:  # markdown: a code block of nothing but newlines cannot be shown
        codes = [c for c in codes if c.kind != "pre" or text[c.start : c.end].strip("\n")]
    return codes


def _cut_at_codes(
    text: str,
    s: Styled,
    codes: Sequence[Styled],
    code_splits: Callable[[Styled, str], bool] | None,
) -> list[Styled]:
    """``s`` in pieces that each lie outside every code span or cover one whole."""
    pieces = [s]
    for c in codes:
        if c.end <= s.start or c.start >= s.end:
            continue
        nxt: list[Styled] = []
        for p in pieces:
            if c.end <= p.start or c.start >= p.end:
                nxt.append(p)
                continue
            if p.start < c.start:
                nxt.append(p._replace(end=c.start))
            if p.end > c.end:
                nxt.append(p._replace(start=c.end))
            if p.start <= c.start and p.end >= c.end and _may_hold(text, s, c, code_splits):
                nxt.append(p._replace(start=c.start, end=c.end))
        pieces = nxt
    return pieces


def _may_hold(
    text: str, s: Styled, c: Styled, code_splits: Callable[[Styled, str], bool] | None
) -> bool:
    """A style may hold a whole code span (unless code_splits says no); a link never does."""
    if s.kind == "link":
        return False
    return code_splits is None or not code_splits(s, text[c.start : c.end])


def _trimmed(text: str, nested: Sequence[Styled], codes: Sequence[Styled]) -> list[Styled]:
    """Leading/trailing whitespace moved out of style spans. That keeps them nested, as long as
    no code span (which is never trimmed) is cut."""
    trimmed: list[Styled] = []
    for s in nested:
        start, end = s.start, s.end
        if s.kind not in _CODE_KINDS:
            start, end = _trim_span(text, s, codes)
        if start < end:
            trimmed.append(s._replace(start=start, end=end))
    return trimmed


def _trim_span(text: str, s: Styled, codes: Sequence[Styled]) -> tuple[int, int]:
    start, end = s.start, s.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    for c in codes:
        if s.start <= c.start < start:
            start = c.start
        if end < c.end <= s.end:
            end = c.end
    return start, end


def _order(s: Styled) -> tuple[int, int, int, str, str, str]:
    return (s.start, -s.end, _RANK[s.kind], s.kind, s.url or "", s.language or "")


def _exclusive_links(spans: list[Styled]) -> list[Styled]:
    """Links cannot nest: where two overlap, the one starting first (then longer) wins."""
    out = [s for s in spans if s.kind != "link"]
    last_end = 0
    for s in sorted((s for s in spans if s.kind == "link"), key=_order):
        start = max(s.start, last_end)
        if start < s.end:
            out.append(s._replace(start=start))
            last_end = s.end
    return out


def render_nested(
    text: str,
    spans: Sequence[Styled],
    leaf: Callable[[int, int], str],
    wrap: Callable[[Styled, str], str],
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


# Link targets a reader on any platform can open; other schemes are one app's internal links.
_OPENABLE = ("http://", "https://", "mailto:")


def to_plain(rt: RichText, *, link_urls: bool = True) -> str:
    """Neutral rich text -> plain text.

    With ``link_urls`` a link whose text is not its URL is written ``text (url)`` so that the
    target is not lost where a converter has no labelled links, and in fallbacks.
    """
    text, raw = unpack(rt)
    if not link_urls:
        return text
    spans = normalize(text, raw)

    def leaf(a: int, b: int) -> str:
        return text[a:b]

    def wrap(s: Styled, inner: str) -> str:
        if s.kind == "link" and s.url and s.url != text[s.start : s.end]:
            if not s.url.lower().startswith(_OPENABLE):
                return inner  # an app's own link (a mention) opens nowhere else: its text says it
            return f"{inner} ({s.url})"
        return inner

    return render_nested(text, spans, leaf, wrap)


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


def clip_spans(spans: Sequence[Styled], a: int, b: int) -> list[Styled]:
    out: list[Styled] = []
    for s in spans:
        start, end = max(s.start, a), min(s.end, b)
        if start < end:
            out.append(s._replace(start=start - a, end=end - a))
    return out


def split_positions(text: str, fits: Callable[[int, int], bool], step_max: int) -> list[int]:
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
    text, raw = unpack(rt)
    if limit < (2 if measure == "utf16" else 1):
        raise ValueError(f"limit {limit} too small")
    if not text:
        return []
    spans = normalize(text, raw, nest=False)
    if measure == "utf16":
        prefix = utf16_prefix(text)

        def fits(a: int, b: int) -> bool:
            return prefix[b] - prefix[a] <= limit

    else:

        def fits(a: int, b: int) -> bool:
            return b - a <= limit

    cuts = split_positions(text, fits, limit)
    return [pack(text[a:b], clip_spans(spans, a, b)) for a, b in itertools.pairwise(cuts)]


def strip_part(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def human_size(size: int | None) -> str:
    """A file size for notices, in binary units everywhere ("10.0 MiB", "512 KiB")."""
    if size is None:
        return "size unknown"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"
