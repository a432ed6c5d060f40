"""The navigation model on its own: moves in time and in the tree, folds, line steps,
bookmarks and search, without any UI."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from viewer_traces import line_steps

from tracer.model import Step
from viewer.tui.navigation import Navigator, StepIndex

# line_steps(): 0 call total · 1 line · 2 line · 3 line · 4 call price · 5 line
# · 6 return price · 7 line · 8 line · 9 call price · 10 line · 11 return price
# · 12 note · 13 line · 14 return total


def test_index_depth_subtree_children_and_ends() -> None:
    index = StepIndex(line_steps())
    assert [index.depth(i) for i in (0, 1, 4, 5, 6, 12, 14)] == [0, 1, 1, 2, 2, 1, 1]
    assert index.subtree_end(0) == 14
    assert index.subtree_end(4) == 6
    assert index.subtree_end(5) == 5
    assert index.children(0) == [1, 2, 3, 4, 7, 8, 9, 12, 13, 14]
    assert index.children(4) == [5, 6]
    assert index.children(None) == [0]
    assert index.end_step(0) == 14
    assert index.end_step(9) == 11
    assert index.end_step(5) is None
    assert index.ancestors(10) == [9, 0]
    assert index.frame(10) == 9
    assert index.frame(9) == 9
    assert index.has_children(4) and not index.has_children(5)


def test_next_and_previous_walk_time_and_come_back_exactly() -> None:
    nav = Navigator(line_steps())
    assert nav.current == 0
    forward = [nav.current]
    while nav.next() is not None:
        forward.append(nav.current)
    assert forward == list(range(15))
    assert nav.next() is None and nav.current == 14
    backward = [nav.current]
    while nav.previous() is not None:
        backward.append(nav.current)
    assert backward == forward[::-1]
    assert nav.previous() is None and nav.current == 0


def test_into_out_over() -> None:
    nav = Navigator(line_steps())
    assert nav.into() == 1  # first child of total
    nav.jump(3)
    assert nav.into() == 4  # a line has no children: on in time, to the call
    assert nav.into() == 5  # into price
    assert nav.out() == 6  # to where price returns
    assert nav.out() == 14  # from price's return: where total returns
    nav.jump(4)
    assert nav.over() == 7  # over price's insides
    nav.jump(4)
    assert nav.out() == 6  # a call step is in its own frame
    nav.jump(14)
    assert nav.over() is None and nav.current == 14
    assert nav.out() is None  # top level: nowhere to return to
    assert nav.first() == 0 and nav.last() == 14


def test_hiding_line_steps_skips_them_and_moves_off_a_hidden_current_step() -> None:
    nav = Navigator(line_steps())
    nav.jump(8)
    nav.set_show_lines(False)
    assert nav.current == 0  # the line's frame
    assert list(nav.rows) == [0, 4, 6, 9, 11, 12, 14]
    walked = [nav.current]
    while nav.next() is not None:
        walked.append(nav.current)
    assert walked == [0, 4, 6, 9, 11, 12, 14]
    assert nav.jump(5) == 4  # a hidden line lands on its call
    nav.jump(0)
    assert nav.into() == 4  # into skips hidden lines
    nav.set_show_lines(True)
    assert nav.current == 4 and nav.next() == 5


def test_folding_hides_descendants_and_stepping_in_unfolds() -> None:
    nav = Navigator(line_steps())
    nav.jump(5)
    assert nav.toggle_fold(4)
    assert nav.current == 4  # the current step was inside the fold
    assert 5 not in nav.rows and 6 not in nav.rows and 7 in nav.rows
    assert nav.row_of(5) is None and nav.row_of(7) == nav.row_of(4) + 1
    assert not nav.toggle_fold(5)  # a line has nothing to fold
    assert nav.next() == 5  # time goes inside: the fold opens
    assert not nav.is_collapsed(4) and nav.row_of(5) is not None


def test_bookmarks_cycle_and_toggle() -> None:
    nav = Navigator(line_steps())
    assert nav.next_bookmark() is None
    nav.jump(9)
    assert nav.toggle_bookmark()
    nav.jump(4)
    assert nav.toggle_bookmark()
    nav.jump(5)
    assert nav.next_bookmark() == 9
    assert nav.next_bookmark() == 4  # wraps around
    assert not nav.toggle_bookmark()  # 4 unmarked
    assert nav.bookmarks == [9]


def test_search_by_name_file_value_and_facts_wraps_and_misses() -> None:
    nav = Navigator(line_steps())
    assert nav.search("price") == 4  # a step name
    assert nav.search("price") == 5  # from the current step onwards: price's line
    nav.jump(9)
    assert nav.search("price") == 10
    assert nav.search("PRICE") == 11
    assert nav.search("price") == 4  # case-insensitive, wrapping around
    assert nav.search("subtotal") == 7  # a local that changed (name or value)
    assert nav.search("[1, 2]") == 0  # an argument's value
    assert nav.search("discount") == 12  # a fact
    nav.jump(12)
    assert nav.search("shop.py") == 13  # the file
    assert nav.search("no such thing") is None and nav.current == 13
    assert nav.search("   ") is None


def test_search_skips_hidden_line_steps() -> None:
    nav = Navigator(line_steps(), show_lines=False)
    assert nav.search("[1, 2]") == 0
    assert nav.search("2") in (4, 6, 9, 11)  # never a hidden line step
    assert nav.steps[nav.current].kind != "line"


def _tree(shape: list[int]) -> tuple[Step, ...]:
    """Steps from a list of depth changes: each entry opens a call (1), writes a line (0)
    or returns (-1), closing what is left open at the end."""
    steps: list[Step] = []
    stack: list[int] = []

    def add(kind: str, parent: int | None) -> int:
        steps.append(Step(len(steps), parent, kind, f"s{len(steps)}", "f.py", 1, 0, 1))  # type: ignore[arg-type]
        return len(steps) - 1

    for move in shape:
        parent = stack[-1] if stack else None
        if move == 1 or not stack:
            stack.append(add("call", parent))
        elif move == 0:
            add("line", parent)
        else:
            add("return", stack.pop())
    while stack:
        add("return", stack.pop())
    return tuple(steps)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([1, 0, -1]), min_size=1, max_size=60), st.data())
def test_structure_and_moves_hold_on_any_tree(shape: list[int], data: st.DataObject) -> None:
    steps = _tree(shape)
    nav = Navigator(steps)
    index = nav.index
    for step in steps:
        end = index.subtree_end(step.id)
        inside = [s.id for s in steps if step.id in index.ancestors(s.id)]
        assert inside == list(range(step.id + 1, end + 1))
        assert index.depth(step.id) == len(index.ancestors(step.id))
    start = data.draw(st.integers(0, len(steps) - 1))
    nav.jump(start)
    if nav.next() is not None:
        assert nav.previous() == start
    nav.jump(start)
    for fold in data.draw(st.lists(st.integers(0, len(steps) - 1), max_size=4)):
        nav.toggle_fold(fold)
    rows = list(nav.rows)
    assert rows == sorted(rows) and nav.current in rows
    for row in rows:  # no row sits inside a folded call
        assert not any(a in nav.collapsed for a in index.ancestors(row))
    before = nav.current
    target = nav.over()
    if target is not None:
        assert target == index.subtree_end(before) + 1  # the first step after its insides
        assert nav.current in nav.rows
