"""`plain_label`: any text survives DOT quoting and Graphviz's escString reading exactly."""

from __future__ import annotations

import graphviz
import pytest
from graph_dot import decode_label, needs_dot, parse, svg_texts
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.model import SourceFile
from viewer.graph import package_of, plain_label
from viewer.graph.labels import clip, short_file, source_excerpt

HOSTILE = [
    'say "hi"',
    "back\\slash",
    "ends with a backslash\\",
    "\\N \\G \\E \\T \\H \\L \\l \\n \\r",
    '\\"',
    "<b>bold</b>",
    "<>",
    "{record|field}",
    "a|b",
    "两行\n第二行",
    "路由：/引号/{x}",
    "digraph { a -> b }",
    "node",
    "",
    "-4.2",
    "  spaced  out  ",
]

#: Text without control characters or lone surrogates (those are shown as escapes).
_TEXT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")) | st.just("\n"),
    max_size=40,
)


def _round_trip(text: str, align: str = "center") -> str:
    graph = graphviz.Digraph()
    graph.node("n", label=plain_label(text, align=align), tooltip=plain_label(text))
    graph.edge("n", "n", label=plain_label(text))
    parsed = parse(graph.source)
    assert parsed.nodes["n"]["tooltip"] == parsed.node_label("n")
    assert parsed.edges[0][2]["label"] == parsed.node_label("n")
    return parsed.node_label("n")


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_through_dot(text: str) -> None:
    assert _round_trip(text) == text


@pytest.mark.parametrize("text", HOSTILE)
def test_left_aligned_text_round_trips(text: str) -> None:
    assert _round_trip(text, align="left") == text


@settings(max_examples=150, deadline=None)
@given(_TEXT)
def test_any_text_round_trips(text: str) -> None:
    assert _round_trip(text) == text


def test_html_shaped_text_is_never_an_html_label() -> None:
    graph = graphviz.Digraph()
    graph.node("n", label=plain_label("<b>bold</b>"))
    assert 'label="<b>bold</b>"' in graph.source


def test_line_breaks_of_every_kind_become_graphviz_breaks() -> None:
    assert decode_label('"' + plain_label("a\r\nb\rc\u2028d") + '"') == "a\nb\nc\nd"
    assert plain_label("a\nb") == "a\\nb"
    assert plain_label("a\nb", align="left") == "a\\lb\\l"


def test_control_characters_and_surrogates_are_shown_not_sent() -> None:
    assert _round_trip("bell\x07 nul\x00") == "bell\\x07 nul\\x00"
    assert _round_trip("tab\there") == "tab    here"
    assert _round_trip("lone \udc80") == "lone \\udc80"


def test_unknown_alignment_is_refused() -> None:
    with pytest.raises(ValueError, match="align"):
        plain_label("x", align="right")


@needs_dot
def test_dot_draws_hostile_text_as_given() -> None:
    graph = graphviz.Digraph()
    for number, text in enumerate(HOSTILE):
        if text.strip():
            graph.node(f"n{number}", label=plain_label(text))
    drawn = svg_texts(graph.source)
    for text in HOSTILE:
        for line in text.split("\n"):
            if line.strip():
                assert line.strip() in [t.strip() for t in drawn], line


def test_clip_marks_what_it_cut() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("abc", 4) == "abc"


def test_short_file_cuts_a_foreign_site_packages() -> None:
    assert short_file("/elsewhere/venv/lib/python3.9/site-packages/flask/app.py") == \
        "flask/app.py"
    assert short_file(None) == "?"


@pytest.mark.parametrize(("file", "package"), [
    ("/v/lib/python3.11/site-packages/flask/app.py", "flask"),
    ("/v/lib/python3.11/site-packages/flask/sansio/app.py", "flask"),
    ("/v/lib/python3.11/site-packages/werkzeug/routing/map.py", "werkzeug"),
    ("/v/lib/python3.11/site-packages/blinker/base.py", "other"),
    ("/usr/lib/python3/dist-packages/flask/app.py", "flask"),
    ("/usr/lib/python3.11/functools.py", "other"),
    ("<frozen importlib._bootstrap>", "other"),
    (None, "other"),
    ("/home/me/project/app/views.py", "app"),
])
def test_package_of_decides_by_path(file: str | None, package: str) -> None:
    assert package_of(file) == package


def test_source_excerpt_stops_at_missing_lines() -> None:
    sources = {"f.py": SourceFile("0", {3: "    def f():", 4: '        """Doc."""', 6: "x"})}
    assert source_excerpt(sources, "f.py", 3) == 'def f():\n    """Doc."""'
    assert source_excerpt(sources, "g.py", 3) == ""
