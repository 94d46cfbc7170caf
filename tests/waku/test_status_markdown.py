"""Status's markdown, both ways, judged by the parser every Status client uses.

status-go (c72f491, protocol/common/message.go ``PrepareContent``) renders a message from
``markdown.Parse`` of github.com/status-im/markdown. The vectors below are that parser's own
test cases (status-im/markdown 32e5a50: testdata/emphasis.test, inline_test.go ``TestStrong``,
testdata/mentions.test): the input and the paragraph's children of the AST it expects, as
(node type, literal) pairs. What the rules below them say comes from its parser sources
(parser/parser.go ``NewWithExtensions``: the inline handlers it registers; parser/inline.go).
"""

from __future__ import annotations

import pytest

from bots.waku.text import from_status, split_for_status, to_status
from bridge.model import RichText, Span, SpanKind

PK = (
    "0x0424a68f89ba5fcd5e0640c1e1f591d561fa4125ca4e2a43592bc4123eca10ce064e522c254bb83079ba"
    "404327f6eafc01ec90a1444331fe769d3f3a7f90b0dde1"
)

Children = list[tuple[str, str]]

# (input, children): "" is a text node; the others are status-im/markdown node types.
VECTORS: list[tuple[str, Children]] = [
    # testdata/emphasis.test
    ("nothing inline", [("", "nothing inline")]),
    ("simple *inline* test", [("", "simple "), ("emph", "inline"), ("", " test")]),
    ("*at the* beginning", [("", ""), ("emph", "at the"), ("", " beginning")]),
    ("at the *end*", [("", "at the "), ("emph", "end")]),
    (
        "*try two* in *one line*",
        [("", ""), ("emph", "try two"), ("", " in "), ("emph", "one line")],
    ),
    ("over *two\nlines* test", [("", "over "), ("emph", "two\nlines"), ("", " test")]),
    (
        "odd *number of* markers* here",
        [("", "odd "), ("emph", "number of"), ("", " markers* here")],
    ),
    ("simple _inline_ test", [("", "simple "), ("emph", "inline"), ("", " test")]),
    ("mix of *markers_", [("", "mix of *markers_")]),
    # inline_test.go TestStrong
    ("simple **inline** test", [("", "simple "), ("strong", "inline"), ("", " test")]),
    ("simple ***triple*** test", [("", "simple "), ("strong-emph", "triple"), ("", " test")]),
    ("at the **end**", [("", "at the "), ("strong", "end")]),
    (
        "**try two** in **one line**",
        [("", ""), ("strong", "try two"), ("", " in "), ("strong", "one line")],
    ),
    ("simple __inline__ test", [("", "simple "), ("strong", "inline"), ("", " test")]),
    ("mix of **markers__", [("", "mix of **markers__")]),
    (
        "**`/usr`** : this folder is named `usr`",
        [
            ("", ""),
            ("strong", "`/usr`"),
            ("", " : this folder is named "),
            ("code", "usr"),
        ],
    ),
    # testdata/mentions.test
    (f"Valid pk comma @{PK},", [("", "Valid pk comma "), ("mention", PK), ("", ",")]),
    (f"in the middle @{PK} middle", [("", "in the middle "), ("mention", PK), ("", " middle")]),
]

_KINDS: dict[str, tuple[SpanKind, ...]] = {
    "": (),
    "emph": ("italic",),
    "strong": ("bold",),
    "strong-emph": ("bold", "italic"),
    "del": ("strike",),
    "code": ("code",),
    "mention": (),
}


def shown(children: Children) -> RichText:
    """What the Status app draws for these nodes, as neutral rich text. A mention is drawn as
    the person's name: the bridge keeps the ``@key`` it stands for."""
    text = ""
    spans: list[Span] = []
    for kind, literal in children:
        literal = "@" + literal if kind == "mention" else literal
        spans += [Span(k, len(text), len(text) + len(literal)) for k in _KINDS[kind]]
        text += literal
    return RichText(text, tuple(spans))


def _same(a: RichText, b: RichText) -> bool:
    def key(s: Span) -> tuple[int, int, str]:
        return (s.start, s.end, s.kind)

    return a.text == b.text and sorted(a.spans, key=key) == sorted(b.spans, key=key)


@pytest.mark.parametrize(("source", "children"), VECTORS)
def test_inbound_reads_what_status_shows(source: str, children: Children) -> None:
    assert _same(from_status(source), shown(children))


# The canonical spelling of each formatting: what the bridge writes is the parser's own input.
CANONICAL = [
    "nothing inline",
    "simple *inline* test",
    "*at the* beginning",
    "at the *end*",
    "*try two* in *one line*",
    "simple **inline** test",
    "simple ***triple*** test",
    "**try two** in **one line**",
    f"in the middle @{PK} middle",
]


@pytest.mark.parametrize("source", CANONICAL)
def test_outbound_writes_what_status_parses_back(source: str) -> None:
    [children] = [c for s, c in VECTORS if s == source]
    assert to_status(shown(children)) == source


def test_outbound_code_strike_and_links() -> None:
    # codeSpan: a run of n backticks ends at the next run of n, outer spaces trimmed.
    rich = RichText("named usr and a`b", (Span("code", 6, 9), Span("code", 14, 17)))
    assert to_status(rich) == "named `usr` and `` a`b ``"
    # Strikethrough extension: "~~" makes a Del node (helperDoubleEmphasis).
    assert to_status(RichText("gone now", (Span("strike", 0, 4),))) == "~~gone~~ now"
    # No "[" handler: a link is a bare URL (Autolink), its label written before it.
    url = "https://example.org/a_b"
    assert to_status(RichText(url, (Span("link", 0, len(url), url=url),))) == url
    labelled = RichText("see docs", (Span("link", 4, 8, url=url),))
    assert to_status(labelled) == f"see docs ({url})"
    # Underline and spoilers have no Status syntax: plain text.
    assert to_status(RichText("u s", (Span("underline", 0, 1), Span("spoiler", 2, 3)))) == "u s"


def test_outbound_escapes_what_status_would_read_as_markup() -> None:
    # escape(): a backslash before one of escapeChars shows that character; "#" before a tag
    # character would make a status tag (statusTag), "_" and "*" emphasis, "`" code.
    plain = RichText("2*3*4 snake_case_name #general ~x~ `q` C:\\dir")
    out = to_status(plain)
    assert out == "2\\*3\\*4 snake\\_case\\_name \\#general \\~x\\~ \\`q\\` C:\\\\dir"
    assert _same(from_status(out), plain)


def test_emphasis_is_flat_and_ends_where_status_allows() -> None:
    # maxNesting is 1: a run's text is shown verbatim, so overlapping styles become runs.
    rich = RichText("bold both italic", (Span("bold", 0, 9), Span("italic", 5, 16)))
    assert to_status(rich) == "**bold** ***both*** *italic*"
    # NoIntraEmphasis: a single "*" run must end before a space, punctuation or the end;
    # inside a word the text goes out plain rather than as stray asterisks.
    assert to_status(RichText("unbelievable", (Span("italic", 2, 6),))) == "unbelievable"
    # Leading and trailing spaces stay outside the markers (an opener before a space is text).
    assert to_status(RichText("a bold b", (Span("bold", 1, 7),))) == "a **bold** b"


def test_quotes_and_code_blocks() -> None:
    # quotePrefix: ">" starts a quote, shown verbatim; fencedCodeBlock: ``` lines.
    quote = from_status("> **not bold** here\nstill *quoted*\n\n*after*")
    assert quote.text == "> **not bold** here\nstill *quoted*\n\nafter"
    assert [s.kind for s in quote.spans] == ["italic"]
    rich = RichText("> said\nthis\n\nbold", (Span("bold", 9, 11), Span("bold", 13, 17)))
    assert to_status(rich) == "> said\nthis\n\n**bold**"
    block = from_status("look:\n```python\nx = 1\n```\nafter")
    assert block.text == "look:\nx = 1\nafter"
    assert Span("pre", 6, 11, language="python") in block.spans
    rich = RichText("look:\nx = 1\nafter", (Span("pre", 6, 11, language="python"),))
    assert to_status(rich) == "look:\n```python\nx = 1\n```\nafter"


def test_autolinks_as_status_finds_them() -> None:
    # autoLink: up to a space; a trailing "." or "," and an unbalanced ")" are not the URL's.
    rich = from_status("see https://example.org/x_y. and (https://example.org/z)")
    links = [(rich.text[s.start : s.end], s.url) for s in rich.spans if s.kind == "link"]
    assert links == [
        ("https://example.org/x_y", "https://example.org/x_y"),
        ("https://example.org/z", "https://example.org/z"),
    ]
    assert from_status("[label](https://example.org/)").text == "[label](https://example.org/)"


def test_inbound_never_raises() -> None:
    odd = ("", "*", "**", "```", "```\n", "\\", "`" * 50, "_*~" * 30, "> ", "http://")
    hostile = ("```a\n" * 800, "a\rb\u2028c")  # unclosed fences; line ends Status ignores
    for text in (*odd, *hostile):
        from_status(text)
    # Lines end at "\n" only: "\r" does not end the italic run.
    assert from_status("*a\rb*").spans == (Span("italic", 0, 3),)


def test_split_keeps_every_part_within_the_limit_and_its_formatting() -> None:
    words = " ".join(f"w{i}" for i in range(300))
    rich = RichText(words, (Span("bold", 0, len(words)),))
    parts = split_for_status(rich, 200)
    assert len(parts) > 1 and all(len(p) <= 200 for p in parts)
    assert all(p.startswith("**") and p.endswith("**") for p in parts)
    assert " ".join(from_status(p).text for p in parts).split() == words.split()
