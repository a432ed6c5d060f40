"""Terminal renderings of a trace with rich: the step tree and the route table.

Pure functions from model objects to rich renderables; the CLI prints them. The step tree
has a plain form too (`plain_step_tree`), for a console that shows no styles, where a
`Text` a label would cost more than printing it: `print_step_tree` picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from tracer.model import Request, Route, Step
from tracer.paths import short_path
from tracer.steptable import as_table
from viewer.chain_text import chain_line
from viewer.routes_output import APP_HEADER, app_label, several_apps
from viewer.textsafe import visible, visible_markup
from viewer.tree_writer import PlainTree, print_tree, shows_no_styles

_MAX_FACTS = 5
_MAX_VALUE = 60


def location(step: Step) -> str:
    """`file:line` of a step, short."""
    if step.file is None:
        return ""
    return f"{short_path(step.file)}:{step.line}" if step.line else short_path(step.file)


def step_tree(steps: Sequence[Step], title: str, *, lines: bool = True) -> Tree:
    """The nested call tree: one node per call or note; returns fold into their call.

    `lines`: show line steps. A `--lines` trace has one per line run, with the locals it
    changed; a hook-mode trace has only the lines explain may quote, which say nothing
    here, so the command leaves them out for it.

    Every value from the trace (the title too) is shown with its control characters
    escaped, and as a `Text`, so that rich markup in it prints as written.
    """
    return _grow(Tree(Text(visible(title), style="bold")), steps, _text_label, _text_line,
                 lines=lines)


def plain_step_tree(steps: Sequence[Step], title: str, *, lines: bool = True) -> PlainTree:
    """`step_tree` without its styles: the same labels as strings, for a console that shows
    no styles (`viewer.tree_writer.print_tree` prints it as rich prints `step_tree`)."""
    return _grow(PlainTree(visible(title)), steps, _plain_label, _plain_line, lines=lines)


def print_step_tree(console: Console, steps: Sequence[Step], title: str, *,
                    lines: bool = True) -> None:
    """Print `step_tree(steps, title, lines=lines)` on `console`; as its plain form where
    the console shows no styles, the same characters for a fraction of the work."""
    if shows_no_styles(console):
        print_tree(console, plain_step_tree(steps, title, lines=lines))
    else:
        console.print(step_tree(steps, title, lines=lines))


class _Label(Protocol):
    """What the label builders write to: a `Text`, or a `PlainLabel`."""

    def append(self, text: str, style: str | None = None) -> object: ...


_LabelT = TypeVar("_LabelT", bound=_Label)
_NodeT = TypeVar("_NodeT", Tree, PlainTree)


class PlainLabel:
    """A label's characters alone: takes the `Text` calls the label builders make, and
    drops the styles, which a console that shows none would not write."""

    __slots__ = ("_parts",)

    def __init__(self, text: str = "", style: str = "") -> None:
        self._parts = [text]

    def append(self, text: str, style: str | None = None) -> PlainLabel:
        """Add `text` (its style goes unused)."""
        self._parts.append(text)
        return self

    @property
    def plain(self) -> str:
        """The characters, as `Text.plain` has them."""
        return "".join(self._parts)


def _grow(tree: _NodeT, steps: Sequence[Step], label: Callable[[Step, Step | None], Any],
          line_label: Callable[[int | None, Mapping[str, str]], Any], *, lines: bool) -> _NodeT:
    """`tree` with a node for each step `step_tree` shows: a call or note labelled by
    `label(step, end)` (`end`: the return or exception of a call), a line step by
    `line_label(line, detail)`. Walked by columns (`StepTable`): a line step, most of a
    `--lines` trace, is never built into a `Step` object to be shown."""
    table = as_table(steps)
    kinds, parents = table.kinds, table.parents
    ends = {parents[index]: index for index, kind in enumerate(kinds) if kind in "rx"}
    nodes: dict[int, _NodeT] = {}
    for index, kind in enumerate(kinds):
        if kind in "rx":
            continue
        parent_id = parents[index]
        parent = nodes.get(parent_id, tree) if parent_id is not None else tree
        if kind == "l":
            if lines:
                parent.add(line_label(table.lines[index], table.extra(index)[1]))
        else:
            end = ends.get(index)
            nodes[index] = parent.add(label(table[index], None if end is None else table[end]))
    return tree


def _text_label(step: Step, end: Step | None) -> Text:
    return _label(step, end, Text)


def _plain_label(step: Step, end: Step | None) -> str:
    return _label(step, end, PlainLabel).plain


def _text_line(line: int | None, detail: Mapping[str, str]) -> Text:
    return _line_label(line, detail, Text)


def _plain_line(line: int | None, detail: Mapping[str, str]) -> str:
    return _line_label(line, detail, PlainLabel).plain


def _line_label(line: int | None, detail: Mapping[str, str],
                make: Callable[[str, str], _LabelT]) -> _LabelT:
    """A line step's label (its line, then the locals it changed), built by
    `make(text, style)` and its `append(text, style)`."""
    text = make(f"{line}", "dim")
    for name, value in detail.items():
        text.append(f"  {visible(name)} = ", style="blue")
        text.append(_clip(visible(value)))
    return text


def _label(step: Step, end: Step | None, make: Callable[[str, str], _LabelT]) -> _LabelT:
    text = make("", "")
    if step.kind == "note":
        text.append("• ", style="magenta")
        text.append(visible(step.name), style="magenta")
    else:
        text.append(visible(step.name), style="bold cyan" if step.role else "cyan")
    if step.role:
        text.append(f" [{visible(step.role)}]", style="green")
    facts = _summary(step.facts)
    if facts:
        text.append(" " + facts, style="yellow")
    if end is not None:
        if end.kind == "exception":
            text.append(" raised " + visible(end.detail.get("exception", "?")),
                        style="bold red")
        elif step.kind == "call":
            result = end.detail.get("result", "")
            if result and result != "None":
                text.append(" → " + _clip(visible(result)), style="white")
    where = location(step)
    if where:
        text.append(f"  {visible(where)}", style="dim")
    return text


def _summary(facts: Mapping[str, Any]) -> str:
    shown = []
    for key, value in facts.items():
        if value is None or value in ("", [], {}) or key in ("returns",):
            continue
        shown.append(f"{visible(key)}={_clip(visible(_plain(value)))}")
        if len(shown) == _MAX_FACTS:
            break
    return " ".join(shown)


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def request_title(request: Request) -> str:
    """One line naming a request and how it ended."""
    status = request.status if request.status is not None else "-"
    parts = [f"request {request.id}: {request.method} {request.path}", f"→ {status}",
             request.outcome]
    if request.endpoint:
        parts.append(f"endpoint={request.endpoint}")
    if request.allowed_methods:
        parts.append("allowed=" + ",".join(request.allowed_methods))
    if request.redirect_to:
        parts.append(f"redirect={request.redirect_to}")
    if request.dropped_steps:
        parts.append(f"({request.dropped_steps} steps dropped)")
    return "  ".join(parts)


def route_table(routes: Iterable[Route]) -> Table:
    """Rule, methods, endpoint and the view chain outermost → innermost; first the app of
    each route when they are of several apps (a helper module's own `Flask(__name__)`)."""
    routes = list(routes)
    with_app = several_apps(routes)
    table = Table(show_lines=False)
    if with_app:
        table.add_column(APP_HEADER, style="magenta", overflow="fold")
    table.add_column("Rule", style="bold")
    table.add_column("Methods")
    table.add_column("Endpoint", style="cyan")
    table.add_column("View chain (outer → inner)")
    for route in routes:
        methods = ", ".join(
            visible_markup(f"({m})" if m in route.automatic_methods else m)
            for m in route.methods
        )
        chain = visible_markup(chain_line(route.chain))
        cells = [visible_markup(route.rule), methods, visible_markup(route.endpoint), chain]
        if with_app:
            cells.insert(0, visible_markup(app_label(route)))
        table.add_row(*cells)
    return table
