"""Tests for the rich-text core (bridge.formatting) and the Telegram and Discord converters
(bots/*/text.py): golden conversions, injection cases, splitting properties."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bots.discord.text import (
    ZWSP,
    escape_discord,
    from_discord,
    neutralize_mentions,
    split_for_discord,
    to_discord,
)
from bots.telegram.text import from_telegram, split_for_telegram, to_telegram, to_telegram_html
from bridge.formatting import split_rich, to_plain, utf16_len
from bridge.model import RichText, Span, SpanKind

FAST = settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def B(start: int, end: int) -> Span:
    return Span("bold", start, end)


# --------------------------------------------------------------------------------------------
# Telegram -> neutral
# --------------------------------------------------------------------------------------------


def test_from_telegram_utf16_offsets_after_surrogate_pairs() -> None:
    # "👍" and "🏽" are astral: 2 UTF-16 units each, 1 code point each.
    text = "👍🏽 hi there"
    ents = [{"type": "bold", "offset": 8, "length": 5}]  # "there"
    rt = from_telegram(text, ents)
    assert rt.spans == (B(6, 11),)
    assert rt.text[6:11] == "there"


def test_from_telegram_all_style_kinds_and_links() -> None:
    text = "b i u s sp c pre lnk https://x.org @bob #tag /cmd"
    ents: list[dict[str, Any]] = [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "underline", "offset": 4, "length": 1},
        {"type": "strikethrough", "offset": 6, "length": 1},
        {"type": "spoiler", "offset": 8, "length": 2},
        {"type": "code", "offset": 11, "length": 1},
        {"type": "pre", "offset": 13, "length": 3, "language": "python"},
        {"type": "text_link", "offset": 17, "length": 3, "url": "https://e.com/"},
        {"type": "url", "offset": 21, "length": 13},
        {"type": "mention", "offset": 35, "length": 4},
        {"type": "hashtag", "offset": 40, "length": 4},
        {"type": "bot_command", "offset": 45, "length": 4},
    ]
    rt = from_telegram(text, ents)
    assert rt.text == text
    assert rt.spans == (
        Span("bold", 0, 1),
        Span("italic", 2, 3),
        Span("underline", 4, 5),
        Span("strike", 6, 7),
        Span("spoiler", 8, 10),
        Span("code", 11, 12),
        Span("pre", 13, 16, language="python"),
        Span("link", 17, 20, url="https://e.com/"),
        Span("link", 21, 34, url="https://x.org"),
    )


def test_from_telegram_nested_and_overlapping() -> None:
    text = "bold bolditalic italic"
    ents = [
        {"type": "bold", "offset": 0, "length": 15},
        {"type": "italic", "offset": 5, "length": 17},
    ]
    rt = from_telegram(text, ents)
    assert rt.spans == (Span("bold", 0, 15), Span("italic", 5, 22))
    # Telegram wants nesting, not partial overlap: the italic is cut at the bold's end.
    _, out = to_telegram(rt)
    assert out == [
        {"type": "bold", "offset": 0, "length": 15},
        {"type": "italic", "offset": 5, "length": 10},
        {"type": "italic", "offset": 15, "length": 7},
    ]
    assert from_telegram(text, out) == rt


@pytest.mark.parametrize(
    "entities",
    [
        [{"type": "bold", "offset": 1, "length": 2}],  # starts inside the surrogate pair
        [{"type": "bold", "offset": 0, "length": 1}],  # ends inside it
        [{"type": "bold", "offset": 0, "length": 99}],  # past the end
        [{"type": "bold", "offset": -1, "length": 2}],
        [{"type": "bold", "offset": 0, "length": 0}],
        [{"type": "bold", "offset": "0", "length": 2}],
        [{"type": "bold", "offset": True, "length": 2}],
        [{"type": "bold", "offset": 0.0, "length": 2}],
        [{"type": "bold"}],
        [{"offset": 0, "length": 2}],
        [{"type": "text_link", "offset": 0, "length": 2}],  # no url
        [{"type": "text_link", "offset": 0, "length": 2, "url": 5}],
        [{"type": "no_such_type", "offset": 0, "length": 2}],
        [None, 5, "bold", []],
    ],
)
def test_from_telegram_drops_malformed_entities(entities: list[Any]) -> None:
    rt = from_telegram("😀ab", entities)
    assert rt == RichText("😀ab")


def test_from_telegram_non_sequence_entities() -> None:
    assert from_telegram("x", None) == RichText("x")
    assert from_telegram("x", "bold") == RichText("x")  # type: ignore[arg-type]


def test_from_telegram_pre_language_must_be_str() -> None:
    rt = from_telegram("code", [{"type": "pre", "offset": 0, "length": 4, "language": 3}])
    assert rt.spans == (Span("pre", 0, 4),)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
entity_like = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["bold", "italic", "pre", "code", "text_link", "url", "mention", "spoiler", "x"]
        ),
        "offset": st.one_of(st.integers(-3, 40), json_values),
        "length": st.one_of(st.integers(-3, 40), json_values),
    },
    optional={"url": json_values, "language": json_values},
)


@FAST
@given(
    text=st.text(alphabet=st.sampled_from("ab \n😀🏽é\u0301*"), max_size=20),
    entities=st.lists(st.one_of(entity_like, json_values), max_size=6),
)
def test_from_telegram_never_raises(text: str, entities: list[Any]) -> None:
    rt = from_telegram(text, entities)
    assert rt.text == text
    for s in rt.spans:
        assert 0 <= s.start < s.end <= len(text)


# --------------------------------------------------------------------------------------------
# Neutral -> Telegram
# --------------------------------------------------------------------------------------------


def test_to_telegram_utf16_offsets_and_entity_kinds() -> None:
    rt = RichText(
        "😀 x link https://a.b code",
        (
            Span("bold", 2, 3),
            Span("link", 4, 8, url="https://e.com"),
            Span("link", 9, 20, url="https://a.b"),
            Span("pre", 21, 25, language="go"),
        ),
    )
    text, ents = to_telegram(rt)
    assert text == rt.text
    assert ents == [
        {"type": "bold", "offset": 3, "length": 1},
        {"type": "text_link", "offset": 5, "length": 4, "url": "https://e.com"},
        {"type": "url", "offset": 10, "length": 11},
        {"type": "pre", "offset": 22, "length": 4, "language": "go"},
    ]


def test_to_telegram_literal_markup_is_just_text() -> None:
    rt = RichText("<b>x</b> *y* [a](b)")
    assert to_telegram(rt) == ("<b>x</b> *y* [a](b)", [])


def test_to_telegram_html_escapes_everything() -> None:
    rt = RichText(
        '<b>&"x"</b> bold link',
        (Span("bold", 12, 16), Span("link", 17, 21, url='https://e.com/?a=1&b="2"')),
    )
    assert to_telegram_html(rt) == (
        '&lt;b&gt;&amp;"x"&lt;/b&gt; <b>bold</b> '
        '<a href="https://e.com/?a=1&amp;b=&quot;2&quot;">link</a>'
    )
    pre = RichText("if a < b:", (Span("pre", 0, 9, language="py"),))
    assert to_telegram_html(pre) == '<pre><code class="language-py">if a &lt; b:</code></pre>'


def test_code_never_contains_other_formatting() -> None:
    # A bold span reaching into a code span is cut at the code's edge.
    rt = RichText("ab `cd` ef", (Span("code", 3, 7), Span("bold", 0, 5)))
    _, ents = to_telegram(rt)
    assert ents == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "code", "offset": 3, "length": 4},
    ]


# --------------------------------------------------------------------------------------------
# Neutral -> Discord (escaping, mentions)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("**not bold**", r"\*\*not bold\*\*"),
        ("__u__ ~~s~~ ||sp||", r"\_\_u\_\_ \~\~s\~\~ \|\|sp\|\|"),
        ("`code` and [a](https://x.y)", r"\`code\` and \[a\](https://x.y)"),
        ("# heading\n> quote\n- item\n1. first", "\\# heading\n\\> quote\n\\- item\n1\\. first"),
        ("a - b # c > d", "a - b # c > d"),
        ("back\\slash", "back\\\\slash"),
        ("see https://x.org/a_b*c_ now", "see https://x.org/a_b*c_ now"),
    ],
)
def test_to_discord_escapes_literal_text(plain: str, expected: str) -> None:
    assert to_discord(RichText(plain)) == expected
    assert from_discord(expected).text == plain


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("@everyone hi", f"@{ZWSP}everyone hi"),
        ("@here", f"@{ZWSP}here"),
        ("@EveryOne", f"@{ZWSP}EveryOne"),
        ("<@123>", r"\<@123>"),
        ("<@!123>", r"\<@!123>"),
        ("<@&456> admins", r"\<@&456> admins"),
        ("<#789>", r"\<#789>"),
        ("</ban:1>", r"\</ban:1>"),
        ("<:pepe:1> <t:0:R>", r"\<:pepe:1> \<t:0:R>"),
        ("https://x.org/@everyone", f"https://x.org/@{ZWSP}everyone"),
    ],
)
def test_to_discord_neutralizes_mentions(plain: str, expected: str) -> None:
    out = to_discord(RichText(plain))
    assert out == expected
    assert "@everyone" not in out.lower()
    assert "@here" not in out.lower()
    # Read back, no mention is found: the text comes back as it was (plus the ZWSP).
    assert from_discord(out, lambda kind, ident: "RESOLVED").text.replace(ZWSP, "") == plain


def test_mentions_neutralized_inside_code_and_formatting() -> None:
    rt = RichText(
        "@everyone @here <@1>",
        (Span("bold", 0, 9), Span("code", 10, 15), Span("pre", 16, 20)),
    )
    out = to_discord(rt)
    assert "@everyone" not in out and "@here" not in out
    assert out == f"**@{ZWSP}everyone** `@{ZWSP}here` ```\n<@1>\n```"


def test_neutralize_mentions_helper() -> None:
    assert neutralize_mentions("a @everyone b @here") == f"a @{ZWSP}everyone b @{ZWSP}here"
    assert escape_discord("*@here*") == f"\\*@{ZWSP}here\\*"


def test_to_discord_nested_and_formatted() -> None:
    rt = RichText(
        "bold bolditalic italic u s sp",
        (
            Span("bold", 0, 15),
            Span("italic", 5, 22),
            Span("underline", 23, 24),
            Span("strike", 25, 26),
            Span("spoiler", 27, 29),
        ),
    )
    out = to_discord(rt)
    assert out == "**bold *bolditalic*** *italic* __u__ ~~s~~ ||sp||"
    back = from_discord(out)
    assert back.text == rt.text
    assert set(back.spans) == {
        Span("bold", 0, 15),
        Span("italic", 5, 15),
        Span("italic", 16, 22),
        Span("underline", 23, 24),
        Span("strike", 25, 26),
        Span("spoiler", 27, 29),
    }


def test_to_discord_code_block_keeps_markdown_literal() -> None:
    code = "x = '**a**' # _b_ <@1>"
    rt = RichText(f"see\n{code}", (Span("pre", 4, 4 + len(code), language="python"),))
    out = to_discord(rt)
    assert out == f"see\n```python\n{code}\n```"
    back = from_discord(out)
    assert back.text == rt.text
    assert back.spans == rt.spans


def test_to_discord_code_with_backticks() -> None:
    assert to_discord(RichText("a`b", (Span("code", 0, 3),))) == "``a`b``"
    assert to_discord(RichText("`a", (Span("code", 0, 2),))) == "`` `a``"
    assert from_discord("`` `a``").text == "`a"
    assert to_discord(RichText("a`", (Span("code", 0, 2),))) == "``a` ``"
    assert from_discord("``a` ``").text == "a`"
    out = to_discord(RichText("x```y", (Span("pre", 0, 5),)))
    assert out.count("```") == 2  # the fence inside is broken by a ZWSP
    assert from_discord(out).text.replace(ZWSP, "") == "x```y"


def test_to_discord_links() -> None:
    rt = RichText("click me", (Span("link", 0, 5, url="https://e.com/a_(b)"),))
    assert to_discord(rt) == "[click](https://e.com/a_%28b%29) me"
    assert from_discord(to_discord(rt)).spans == (
        Span("link", 0, 5, url="https://e.com/a_%28b%29"),
    )
    bare = RichText("https://e.com/x_y", (Span("link", 0, 17, url="https://e.com/x_y"),))
    assert to_discord(bare) == "https://e.com/x_y"
    tg = RichText("Bob", (Span("link", 0, 3, url="tg://user?id=1"),))
    assert to_discord(tg) == "Bob"
    mail = RichText("mail", (Span("link", 0, 4, url="mailto:a_b@c.d"),))
    assert to_discord(mail) == r"mail (mailto:a\_b@c.d)"
    bracket = RichText("[x]", (Span("link", 0, 3, url="https://e.com"),))
    assert to_discord(bracket) == r"\[x\] (<https://e.com>)"


def test_to_discord_adjacent_markers_are_separated() -> None:
    rt = RichText("ab", (Span("italic", 0, 1), Span("bold", 1, 2)))
    out = to_discord(rt)
    assert out == f"*a*{ZWSP}**b**"
    back = from_discord(out)
    assert back.text.replace(ZWSP, "") == "ab"
    assert {s.kind for s in back.spans} == {"italic", "bold"}


# --------------------------------------------------------------------------------------------
# Discord -> neutral
# --------------------------------------------------------------------------------------------


def test_from_discord_golden() -> None:
    names = {("user", "1"): "alice", ("role", "2"): "mods", ("channel", "3"): "general"}
    content = (
        "**b _i_** *i2* __u__ ~~s~~ ||sp|| `co*de` ```py\nprint('**x**')\n``` "
        "[t](https://a.b/c) <https://d.e> <@1> <@!1> <@&2> <#3> <@9> \\*lit\\*"
    )
    rt = from_discord(content, lambda kind, ident: names.get((kind, ident)))
    assert rt.text == (
        "b i i2 u s sp co*de print('**x**') t https://d.e @alice @alice @mods #general @9 *lit*"
    )
    assert rt.spans == (
        Span("bold", 0, 3),
        Span("italic", 2, 3),
        Span("italic", 4, 6),
        Span("underline", 7, 8),
        Span("strike", 9, 10),
        Span("spoiler", 11, 13),
        Span("code", 14, 19),
        Span("pre", 20, 34, language="py"),
        Span("link", 35, 36, url="https://a.b/c"),
        Span("link", 37, 48, url="https://d.e"),
    )


def test_from_discord_misc() -> None:
    assert from_discord("snake_case_name").text == "snake_case_name"
    assert from_discord("snake_case_name").spans == ()
    assert from_discord("**unclosed").text == "**unclosed"
    assert from_discord("<a:party:12> </help:3>").text == ":party: /help"
    assert from_discord("<t:0:R>").text == "1970-01-01 00:00 UTC"
    assert from_discord("# Title\nbody") == RichText("Title\nbody", (Span("bold", 0, 5),))
    assert from_discord("a**# b**").text == "a# b"  # headings only at block level
    assert from_discord("").text == ""


def test_from_discord_resolver_failure_is_contained() -> None:
    def boom(kind: Any, ident: str) -> str | None:
        raise RuntimeError("db down")

    assert from_discord("hi <@5>", boom).text == "hi @5"


@FAST
@given(st.text(alphabet=st.sampled_from("ab *_~|`\\[]()<>@#&!:\n0h"), max_size=40))
def test_from_discord_never_raises(content: str) -> None:
    rt = from_discord(content)
    for s in rt.spans:
        assert 0 <= s.start < s.end <= len(rt.text)


# --------------------------------------------------------------------------------------------
# Plain
# --------------------------------------------------------------------------------------------


def test_to_plain() -> None:
    rt = RichText(
        "see docs, Bob, https://x.y",
        (
            Span("link", 4, 8, url="https://d.io"),
            Span("link", 10, 13, url="tg://user?id=5"),
            Span("link", 15, 26, url="https://x.y"),
            Span("bold", 0, 3),
        ),
    )
    assert to_plain(rt) == "see docs (https://d.io), Bob, https://x.y"
    assert to_plain(rt, link_urls=False) == rt.text


# --------------------------------------------------------------------------------------------
# Round trips (properties)
# --------------------------------------------------------------------------------------------

KINDS: list[SpanKind] = ["bold", "italic", "underline", "strike", "spoiler", "code", "pre"]
ALPHABET = "ab c\n*_~|`\\[]<>@#-1.😀🏽\u0301"


@st.composite
def rich_texts(draw: st.DrawFn, alphabet: str = ALPHABET, max_size: int = 40) -> RichText:
    text = draw(st.text(alphabet=st.sampled_from(alphabet), max_size=max_size))
    spans: list[Span] = []
    if text:
        for _ in range(draw(st.integers(0, 5))):
            a = draw(st.integers(0, len(text) - 1))
            b = draw(st.integers(a + 1, len(text)))
            kind = draw(st.sampled_from([*KINDS, "link"]))
            if kind == "link":
                url = draw(st.sampled_from(["https://e.com/x", "tg://user?id=1", "https://a.b"]))
                spans.append(Span("link", a, b, url=url))
            elif kind == "pre":
                spans.append(Span("pre", a, b, language=draw(st.sampled_from([None, "py"]))))
            else:
                spans.append(Span(kind, a, b))
    return RichText(text, tuple(spans))


def canonical(rt: RichText) -> RichText:
    """The normalised form (clipped, merged) that from_* functions return."""
    parts = split_rich(rt, 10**9)
    return parts[0] if parts else RichText("")


def masked_links_only(rt: RichText) -> bool:
    """Links whose text Discord can show as a masked link (no fallback text added)."""
    return all(
        not any(c in rt.text[s.start : s.end] for c in "[]\n") for s in rt.spans if s.kind == "link"
    )


def coverage(rt: RichText, kinds: set[SpanKind]) -> list[frozenset[str]]:
    cov: list[set[str]] = [set() for _ in rt.text]
    for s in rt.spans:
        if s.kind in kinds:
            for i in range(s.start, s.end):
                cov[i].add(s.kind)
    return [frozenset(c) for c in cov]


@FAST
@given(rich_texts())
def test_telegram_round_trip(rt: RichText) -> None:
    text, ents = to_telegram(rt)
    assert text == rt.text
    for e in ents:
        assert e["length"] > 0 and e["offset"] + e["length"] <= utf16_len(text)
    assert from_telegram(text, ents) == canonical(rt)


@FAST
@given(rich_texts())
def test_discord_round_trip_preserves_text_and_styles(rt: RichText) -> None:
    assume(masked_links_only(rt))
    md = to_discord(rt)
    assert "@everyone" not in md and "@here" not in md
    back = from_discord(md)
    # Nothing literal turned into markup, nothing was lost (Discord trims the newlines at
    # the edges of a code block, which is the one thing allowed to differ).
    if any(s.kind == "pre" for s in rt.spans):
        assert back.text.replace(ZWSP, "").replace("\n", "") == rt.text.replace("\n", "")
        return
    assert back.text.replace(ZWSP, "") == rt.text
    if ZWSP not in back.text:
        styles: set[SpanKind] = {"bold", "italic", "underline", "strike", "spoiler"}
        want = coverage(canonical(rt), styles | {"code", "pre"})
        got = coverage(back, styles | {"code", "pre"})
        for i, ch in enumerate(rt.text):
            if ch.isspace():
                continue
            if want[i] & {"code", "pre"}:
                assert got[i] & {"code", "pre"}
            else:
                assert got[i] == want[i], (i, md)


# --------------------------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------------------------


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "para one.\n\npara two is longer\nline"
    parts = split_rich(RichText(text), 20)
    assert [p.text for p in parts] == ["para one.\n\n", "para two is longer\n", "line"]
    parts = split_rich(RichText("aaaa bbbb cccc"), 11)
    assert [p.text for p in parts] == ["aaaa bbbb ", "cccc"]
    parts = split_rich(RichText("abcdefgh"), 3)
    assert [p.text for p in parts] == ["abc", "def", "gh"]


def test_split_reopens_spans_and_respects_utf16() -> None:
    rt = RichText("😀😀😀 bold", (Span("bold", 0, 8),))
    parts = split_rich(rt, 4, measure="utf16")
    assert [p.text for p in parts] == ["😀😀", "😀 ", "bold"]
    assert [p.spans for p in parts] == [(B(0, 2),), (B(0, 2),), (B(0, 4),)]


def test_split_keeps_graphemes_together() -> None:
    thumbs = "👍🏽"  # emoji + skin tone modifier
    parts = split_rich(RichText("a" + thumbs + "b"), 2)
    assert [p.text for p in parts] == ["a", thumbs, "b"]
    flags = "🇫🇷🇩🇪"
    parts = split_rich(RichText(flags), 3)
    assert [p.text for p in parts] == ["🇫🇷", "🇩🇪"]


def test_split_rejects_impossible_limits() -> None:
    with pytest.raises(ValueError):
        split_rich(RichText("x"), 1, measure="utf16")
    with pytest.raises(ValueError):
        split_rich(RichText("x"), 0)
    with pytest.raises(ValueError):
        split_for_discord(RichText("x"), 3)
    assert split_rich(RichText(""), 5) == []


def test_split_for_telegram_limit_4096() -> None:
    word = "😀abc "  # 6 UTF-16 units, 5 code points
    rt = RichText(word * 2000, (Span("bold", 0, 10_000),))
    parts = split_for_telegram(rt)
    assert len(parts) == 3
    for text, ents in parts:
        assert utf16_len(text) <= 4096
        assert ents == [{"type": "bold", "offset": 0, "length": utf16_len(text)}]
    assert "".join(t for t, _ in parts).replace(" ", "") == rt.text.replace(" ", "")


def test_split_for_discord_measures_rendered_markdown() -> None:
    # Escaping doubles the length: 1500 stars render to 3000 characters.
    rt = RichText("*" * 1500)
    parts = split_for_discord(rt)
    assert [len(p) for p in parts] == [2000, 1000]
    assert "".join(from_discord(p).text for p in parts) == rt.text


def test_split_for_discord_unfittable_link_falls_back_to_plain() -> None:
    url = "https://e.com/" + "x" * 3000
    rt = RichText("a b", (Span("link", 0, 3, url=url),))
    assert split_for_discord(rt, 100) == ["a b"]


@FAST
@given(
    rt=rich_texts(max_size=120),
    limit=st.integers(2, 30),
    measure=st.sampled_from(["utf16", "chars"]),
)
def test_split_rich_properties(rt: RichText, limit: int, measure: Any) -> None:
    parts = split_rich(rt, limit, measure=measure)
    assert "".join(p.text for p in parts) == rt.text
    for p in parts:
        assert p.text
        size = utf16_len(p.text) if measure == "utf16" else len(p.text)
        assert size <= limit
    # Formatting is carried over the cuts: per-character coverage is unchanged.
    kinds: set[SpanKind] = {*KINDS, "link"}
    joined: list[frozenset[str]] = []
    for p in parts:
        joined.extend(coverage(p, kinds))
    assert joined == coverage(canonical(rt), kinds)


@FAST
@given(rt=rich_texts(max_size=120), limit=st.integers(4, 40))
def test_split_for_telegram_properties(rt: RichText, limit: int) -> None:
    parts = split_for_telegram(rt, limit)
    for text, ents in parts:
        assert text.strip()
        assert utf16_len(text) <= limit
        for e in ents:
            assert e["offset"] >= 0 and e["offset"] + e["length"] <= utf16_len(text)
    joined = "".join(t for t, _ in parts)
    assert "".join(joined.split()) == "".join(rt.text.split())


@FAST
@given(rt=rich_texts(max_size=120), limit=st.integers(8, 60))
def test_split_for_discord_properties(rt: RichText, limit: int) -> None:
    assume(masked_links_only(rt))
    parts = split_for_discord(rt, limit)
    for md in parts:
        assert md.strip()
        assert len(md) <= limit
        assert "@everyone" not in md and "@here" not in md
    joined = "".join(from_discord(md).text for md in parts).replace(ZWSP, "")
    assert "".join(joined.split()) == "".join(rt.text.split())


def test_to_plain_spells_out_only_links_others_can_open() -> None:
    """A Matrix permalink opens anywhere; an app's own scheme (a Telegram or Matrix mention
    link) opens nowhere else, so plain text keeps just its label."""
    rt = RichText(
        "Ann, Bob, mail, room",
        (
            Span("link", 0, 3, url="matrix:u/ann:example.org"),
            Span("link", 5, 8, url="TG://user?id=7"),
            Span("link", 10, 14, url="mailto:a@b.c"),
            Span("link", 16, 20, url="https://matrix.to/#/!r:example.org"),
        ),
    )
    assert to_plain(rt) == (
        "Ann, Bob, mail (mailto:a@b.c), room (https://matrix.to/#/!r:example.org)"
    )
