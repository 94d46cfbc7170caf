"""Matrix HTML <-> neutral rich text, and puppet localparts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bots.matrix.formatting import HTML_FORMAT, from_matrix, to_matrix
from bots.matrix.puppets import escape_localpart
from bridge.model import RichText, Span, SpanKind


def html(formatted: str, body: str = "plain") -> RichText:
    return from_matrix({"body": body, "format": HTML_FORMAT, "formatted_body": formatted})


def test_plain_text_has_no_html() -> None:
    assert to_matrix(RichText("a < b & c")) == ("a < b & c", None)


def test_overlapping_spans_render_well_nested() -> None:
    rt = RichText("bold and link", (Span("bold", 0, 8), Span("italic", 5, 13)))
    body, formatted = to_matrix(rt)
    assert body == "bold and link"
    assert formatted == "<strong>bold <em>and</em></strong><em> link</em>"
    assert html(formatted or "") == rt


def test_links_code_blocks_and_escaping() -> None:
    rt = RichText(
        'x<y "q"\ncode',
        (Span("link", 0, 3, url="https://e.org/?a=1&b=2"), Span("pre", 8, 12, language="py")),
    )
    body, formatted = to_matrix(rt)
    assert body == 'x<y (https://e.org/?a=1&b=2) "q"\ncode'
    assert formatted == (
        '<a href="https://e.org/?a=1&amp;b=2">x&lt;y</a> "q"<br>'
        '<pre><code class="language-py">code</code></pre>'
    )
    assert html(formatted or "") == rt


def test_what_element_sends() -> None:
    rt = html(
        "<mx-reply><blockquote>quoted <b>parent</b></blockquote></mx-reply>"
        "<p>Hi <strong>all</strong>,<br />see <a href='https://matrix.to/#/@bob:e.org'>Bob</a> "
        "and <span data-mx-spoiler='why'>this</span></p><ul><li>one</li><li>two</li></ul>"
        '<pre><code class="language-rust">fn main() {\n}\n</code></pre>'
    )
    assert rt.text == "Hi all,\nsee Bob and this\n• one\n• two\nfn main() {\n}"
    kinds = {(s.kind, rt.text[s.start : s.end]) for s in rt.spans}
    assert ("bold", "all") in kinds and ("spoiler", "this") in kinds
    assert ("pre", "fn main() {\n}") in kinds
    assert not any(kind == "link" for kind, _ in kinds)  # a user pill is not a web link


def test_hostile_html_is_bounded_and_safe() -> None:
    deep = html("<b>" + "<i>" * 10_000 + "x")
    assert deep.text == "x" and len(deep.spans) <= 2
    scripted = html('<a href="javascript:alert(1)">click</a><script>evil()</script>')
    assert scripted.spans == ()
    assert from_matrix({"body": "b", "format": HTML_FORMAT, "formatted_body": "x" * 80_000}) == (
        RichText("b")
    )
    assert from_matrix({"body": ["not", "text"]}) == RichText("")


@given(st.text(max_size=40), st.data())
def test_round_trip(text: str, data: st.DataObject) -> None:
    styles: list[SpanKind] = ["bold", "italic", "underline", "strike", "spoiler", "code"]
    kinds = st.sampled_from(styles)
    spans = []
    if text.strip() and "\r" not in text and text == " ".join(text.split()):
        for _ in range(data.draw(st.integers(0, 3))):
            a = data.draw(st.integers(0, len(text) - 1))
            b = data.draw(st.integers(a + 1, len(text)))
            spans.append(Span(data.draw(kinds), a, b))
        rt = RichText(text, tuple(spans))
        body, formatted = to_matrix(rt)
        back = html(formatted, body) if formatted else RichText(body)
        assert back.text == text
        for span in spans:
            covered = [s for s in back.spans if s.kind == span.kind]
            assert all(
                any(s.start <= i < s.end for s in covered) for i in range(span.start, span.end)
            )


def test_localpart_escaping() -> None:
    assert escape_localpart("1234567890") == "1234567890"
    assert escape_localpart("0xAbC_d") == "0x_ab_c__d"
    assert escape_localpart("a b/ü") == "a=20b=2f=c3=bc"
    assert escape_localpart("ABC") != escape_localpart("abc")
