"""`print_tree` writes exactly what `Console.print(tree)` writes on a console without
styles: rich itself is the oracle, on real step trees and on generated ones (wide
characters, words longer than a line, nesting deeper than the console is wide)."""

from __future__ import annotations

import io

import pytest
from flaskscope_testing import record_fixture
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from viewer.render import request_title, step_tree
from viewer.tree_writer import print_tree


def _both(tree: Tree, **console_options: object) -> tuple[str, str]:
    by_rich, by_us = io.StringIO(), io.StringIO()
    Console(file=by_rich, **console_options).print(tree)  # type: ignore[arg-type]
    print_tree(Console(file=by_us, **console_options), tree)  # type: ignore[arg-type]
    return by_rich.getvalue(), by_us.getvalue()


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_a_recorded_trace_is_written_as_rich_writes_it(lines: bool) -> None:
    trace = record_fixture("seed_views", "GET /index", "POST /login", lines=lines).trace
    trees = [step_tree(trace.registration.steps, "registration", lines=True)]
    trees += [step_tree(request.steps, request_title(request), lines=True)
              for request in trace.requests]
    for width in (80, 33, 160):
        for tree in trees:
            expected, written = _both(tree, width=width)
            assert written == expected
            assert written.count("\n") > 3


def test_the_ascii_guides_of_a_console_that_cannot_write_box_drawing() -> None:
    tree = Tree(Text("root"))
    tree.add(Text("a " * 30)).add(Text("b"))
    tree.add(Text("c"))
    written = []
    for write in (lambda console: console.print(tree), lambda console: print_tree(console, tree)):
        out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        write(Console(file=out, width=20))
        out.flush()
        written.append(out.buffer.getvalue().decode("ascii"))  # type: ignore[attr-defined]
    assert written[1] == written[0]
    assert "+-- " in written[1]


_WORDS = st.text(alphabet=st.sampled_from(list("ab xy  é漢字😀-/.,:=[]()'\"\u3000\xa0\u200b")),
                 max_size=90)


@st.composite
def _trees(draw: st.DrawFn) -> Tree:
    tree = Tree(Text(draw(_WORDS)))
    nodes = [tree]
    for _ in range(draw(st.integers(0, 40))):
        parent = nodes[draw(st.integers(0, len(nodes) - 1))]
        nodes.append(parent.add(Text(draw(_WORDS))))
    return tree


def _chain(*labels: str) -> Tree:
    tree = node = Tree(Text(labels[0]))
    for label in labels[1:]:
        node = node.add(Text(label))
    return tree


@settings(max_examples=300, deadline=None)
@given(tree=_trees(), width=st.integers(1, 100))
# a label that fits in cells but not in characters: rich takes its trailing space off
@example(tree=_chain("", "", ":::\u200b "), width=16)
def test_any_tree_at_any_width_is_written_as_rich_writes_it(tree: Tree, width: int) -> None:
    expected, written = _both(tree, width=width)
    assert written == expected


def test_a_console_showing_styles_prints_through_rich() -> None:
    tree = Tree(Text("root", style="bold"))
    tree.add(Text("child", style="cyan"))
    expected, written = _both(tree, width=40, force_terminal=True, color_system="standard")
    assert written == expected
    assert "\x1b[" in written
