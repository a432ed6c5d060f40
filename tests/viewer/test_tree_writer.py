"""`print_tree` writes exactly what `Console.print(tree)` writes on a console without
styles: rich itself is the oracle, on real step trees and on generated ones (wide
characters, words longer than a line, nesting deeper than the console is wide). So does
the plain step tree (`PlainTree`, string labels) against rich printing `step_tree`, and the
wrapping of narrow text against rich's `divide_line` and `Text.wrap`."""

from __future__ import annotations

import io

import pytest
from flaskscope_testing import record_fixture
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rich._wrap import divide_line
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from viewer.render import plain_step_tree, print_step_tree, request_title, step_tree
from viewer.tree_writer import PlainTree, _narrow_breaks, _wrapped_narrow, print_tree


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


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_the_plain_step_tree_is_written_as_rich_writes_the_step_tree(lines: bool) -> None:
    trace = record_fixture("seed_views", "GET /index", "POST /login", lines=lines).trace
    shown = [(trace.registration.steps, "registration")]
    shown += [(request.steps, request_title(request)) for request in trace.requests]
    for width in (80, 33, 160):
        for steps, title in shown:
            for with_lines in (False, True):
                by_rich, by_us, printed = io.StringIO(), io.StringIO(), io.StringIO()
                Console(file=by_rich, width=width).print(
                    step_tree(steps, title, lines=with_lines))
                print_tree(Console(file=by_us, width=width),
                           plain_step_tree(steps, title, lines=with_lines))
                print_step_tree(Console(file=printed, width=width), steps, title,
                                lines=with_lines)
                assert by_us.getvalue() == by_rich.getvalue()
                assert printed.getvalue() == by_rich.getvalue()
                assert by_rich.getvalue().count("\n") > 3


def test_steps_kept_as_columns_print_as_the_same_steps_built(fresh_import) -> None:
    """`trace` prints a recording frozen into columns (`StepTable`): line steps are shown
    from the columns, never built; the same characters as from the built steps."""
    import tracer
    from tracer.steptable import StepTable

    with tracer.record(lines=True) as recorder:
        app = fresh_import("fixtures.seed_views").app
        app.test_client().get("/index")
        built, columns = recorder.trace(), recorder.trace(lazy_steps=True)
    phases = [(built.registration.steps, columns.registration.steps),
              *((a.steps, b.steps) for a, b in zip(built.requests, columns.requests,
                                                   strict=True))]
    for steps, table in phases:
        assert isinstance(table, StepTable) and type(steps) is tuple
        for width in (80, 33):
            by_steps, by_columns = io.StringIO(), io.StringIO()
            print_step_tree(Console(file=by_steps, width=width), steps, "t")
            print_step_tree(Console(file=by_columns, width=width), table, "t")
            assert by_columns.getvalue() == by_steps.getvalue()
            assert by_steps.getvalue().count("\n") > 3
        shown = [step for step in table._built or () if step is not None]
        assert all(step.kind != "line" for step in shown), "line steps are never built"


def test_the_step_tree_on_a_console_showing_styles_is_rich_s() -> None:
    trace = record_fixture("seed_views", "GET /index", lines=True).trace
    steps, title = trace.requests[0].steps, request_title(trace.requests[0])
    options = {"width": 60, "force_terminal": True, "color_system": "truecolor"}
    by_rich, by_us = io.StringIO(), io.StringIO()
    Console(file=by_rich, **options).print(step_tree(steps, title))  # type: ignore[arg-type]
    print_step_tree(Console(file=by_us, **options), steps, title)  # type: ignore[arg-type]
    assert by_us.getvalue() == by_rich.getvalue()
    assert "\x1b[" in by_us.getvalue()


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


#: Labels of narrow text (`_is_narrow`) mostly, with some that are not.
_NARROW_WORDS = st.text(alphabet=st.sampled_from(list("ab  -=…→•'漢\xa0\x07\r\t\n\x1b")),
                        max_size=120)


@st.composite
def _plain_and_rich(draw: st.DrawFn) -> tuple[PlainTree, Tree]:
    """The same tree twice: string labels, and each label as `Text(label)`."""
    label = draw(st.one_of(_WORDS, _NARROW_WORDS))
    plain, rich = PlainTree(label), Tree(Text(label))
    nodes = [(plain, rich)]
    for _ in range(draw(st.integers(0, 40))):
        plain_parent, rich_parent = nodes[draw(st.integers(0, len(nodes) - 1))]
        label = draw(st.one_of(_WORDS, _NARROW_WORDS))
        nodes.append((plain_parent.add(label), rich_parent.add(Text(label))))
    return plain, rich


@settings(max_examples=300, deadline=None)
@given(trees=_plain_and_rich(), width=st.integers(1, 100))
def test_any_plain_tree_is_written_as_rich_writes_its_text_labels(
        trees: tuple[PlainTree, Tree], width: int) -> None:
    plain, rich = trees
    by_rich, by_us = io.StringIO(), io.StringIO()
    Console(file=by_rich, width=width).print(rich)
    print_tree(Console(file=by_us, width=width), plain)
    assert by_us.getvalue() == by_rich.getvalue()


def test_a_plain_tree_on_a_console_showing_styles_prints_as_its_text_labels() -> None:
    plain, rich = PlainTree("root"), Tree(Text("root"))
    plain.add("a " * 30).add("[bold]b[/bold]")
    rich.add(Text("a " * 30)).add(Text("[bold]b[/bold]"))
    options = {"width": 40, "force_terminal": True, "color_system": "standard"}
    by_rich, by_us = io.StringIO(), io.StringIO()
    Console(file=by_rich, **options).print(rich)  # type: ignore[arg-type]
    print_tree(Console(file=by_us, **options), plain)  # type: ignore[arg-type]
    assert by_us.getvalue() == by_rich.getvalue()
    assert "[bold]b[/bold]" in by_us.getvalue()


#: Narrow text: printable ASCII and the marks the step labels add, spaces often.
_NARROW_TEXT = st.text(alphabet=st.one_of(st.sampled_from(" …→•"),
                                          st.characters(min_codepoint=0x20, max_codepoint=0x7E)),
                       max_size=300)


@settings(max_examples=1000, deadline=None)
@given(text=_NARROW_TEXT, width=st.integers(1, 100))
@example(text="  " + "x" * 25 + "  y  ", width=10)
def test_narrow_text_breaks_where_rich_s_divide_line_breaks_it(text: str, width: int) -> None:
    assert _narrow_breaks(text, width) == divide_line(text, width, fold=True)


@settings(max_examples=500, deadline=None)
@given(text=_NARROW_TEXT, width=st.integers(1, 100))
def test_narrow_text_wraps_as_rich_wraps_it(text: str, width: int) -> None:
    lines = Text(text).wrap(Console(width=120), width)
    assert _wrapped_narrow(text, width) == [line.plain for line in lines]


def test_a_console_showing_styles_prints_through_rich() -> None:
    tree = Tree(Text("root", style="bold"))
    tree.add(Text("child", style="cyan"))
    expected, written = _both(tree, width=40, force_terminal=True, color_system="standard")
    assert written == expected
    assert "\x1b[" in written
