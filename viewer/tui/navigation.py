"""Where the reader is in one phase's steps and how they move: no UI in here.

A phase is the registration or one request: a tuple of `Step`s whose ids equal their
positions. Steps are recorded in time order and a call's descendants follow it
directly (its return or exception step is its last child), so a step's subtree is the
contiguous run of ids after it whose parents are not earlier than it. Everything here
leans on that and computes what it needs lazily, so opening a 200,000-step request costs
nothing until the reader moves.

Moves are in time (next/previous), in the call tree (into, out, over, first, last),
to bookmarks and to search hits. Line steps can be hidden (`show_lines`), and collapsed
calls hide their descendants from the tree rows; moving onto a hidden-by-collapse step
opens its collapsed ancestors so the current step is always a visible row.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from tracer.model import Step, StepKind
from tracer.steptable import KIND_CODES, StepTable, as_table

ENDS: tuple[StepKind, ...] = ("return", "exception")
_END_CODES = frozenset(KIND_CODES[kind] for kind in ENDS)
_LINE = KIND_CODES["line"]
_CALL = KIND_CODES["call"]


class StepIndex:
    """Derived facts about a phase's steps (depth, subtree, children), computed on demand
    from the `parents` and `kinds` columns, so no step object is built for them."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps: StepTable = as_table(steps)
        self.parents = self.steps.parents
        self.kinds = self.steps.kinds
        self._depth: dict[int, int] = {}
        self._subtree_end: dict[int, int] = {}
        self._children: dict[int | None, list[int]] = {}

    def __len__(self) -> int:
        return len(self.steps)

    def depth(self, step_id: int) -> int:
        """How many ancestors the step has (0 for a top-level step)."""
        depth = self._depth.get(step_id)
        if depth is not None:
            return depth
        path = []
        current: int | None = step_id
        while current is not None and current not in self._depth:
            path.append(current)
            current = self.parents[current]
        depth = -1 if current is None else self._depth[current]
        for node in reversed(path):
            depth += 1
            self._depth[node] = depth
        return self._depth[step_id]

    def subtree_end(self, step_id: int) -> int:
        """The id of the step's last descendant (itself when it has none)."""
        end = self._subtree_end.get(step_id)
        if end is None:
            parents = self.parents
            count = len(parents)
            end = step_id + 1
            while end < count:
                parent = parents[end]
                if parent is None or parent < step_id:
                    break
                end = self._subtree_end.get(end, end) + 1
            end -= 1
            self._subtree_end[step_id] = end
        return end

    def has_children(self, step_id: int) -> bool:
        following = step_id + 1
        return following < len(self.parents) and self.parents[following] == step_id

    def children(self, step_id: int | None) -> list[int]:
        """Direct children in time order; `None` gives the top-level steps."""
        found = self._children.get(step_id)
        if found is None:
            found = []
            if step_id is None:
                position, stop = 0, len(self.steps) - 1
            else:
                position, stop = step_id + 1, self.subtree_end(step_id)
            while position <= stop:
                found.append(position)
                position = self.subtree_end(position) + 1
            self._children[step_id] = found
        return found

    def end_step(self, step_id: int) -> int | None:
        """The return or exception step closing a call, if it was recorded."""
        if self.kinds[step_id] != _CALL:
            return None
        last = self.subtree_end(step_id)
        return (last if last != step_id and self.parents[last] == step_id
                and self.kinds[last] in _END_CODES else None)

    def ancestors(self, step_id: int) -> list[int]:
        """Parent, grandparent, ... up to the top-level step (innermost first)."""
        out = []
        parents = self.parents
        parent = parents[step_id]
        while parent is not None:
            out.append(parent)
            parent = parents[parent]
        return out

    def frame(self, step_id: int) -> int | None:
        """The call step whose frame this step happened in (a call is its own frame)."""
        if self.kinds[step_id] == _CALL:
            return step_id
        return self.parents[step_id]


def search_text(step: Step) -> str:
    """What `/` matches against: name, file, role, the names and values in its detail
    (arguments, changed locals, results) and its facts, lower-cased."""
    parts = [step.name, step.file or "", step.role or ""]
    for name, value in step.detail.items():
        parts += (name, value)
    if step.facts:
        parts.append(json.dumps(step.facts, ensure_ascii=False, default=str))
    return "\n".join(parts).lower()


class Navigator:
    """The current step of one phase, the tree rows shown, folds, bookmarks and search.

    Every move returns the new current step id, or `None` when there is nowhere to go
    (the current step is then unchanged).
    """

    def __init__(self, steps: Sequence[Step], *, show_lines: bool = True) -> None:
        self.index = StepIndex(steps)
        self.steps = self.index.steps
        self.show_lines = show_lines
        self.collapsed: set[int] = set()
        self.bookmarks: list[int] = []
        self._navigable: Sequence[int] = range(0)
        self._rows: Sequence[int] | None = None
        self._haystack: list[str] | None = None
        self._refilter()
        self.current: int | None = self._navigable[0] if self._navigable else None

    # -- what is shown ---------------------------------------------------------------

    @property
    def navigable(self) -> Sequence[int]:
        """Step ids the reader can land on, in time order (line steps only when shown)."""
        return self._navigable

    @property
    def rows(self) -> Sequence[int]:
        """Step ids shown as tree rows: navigable steps not inside a collapsed call."""
        if self._rows is None:
            self._rows = self._compute_rows()
        return self._rows

    def row_of(self, step_id: int) -> int | None:
        """The row showing `step_id`, or None when it is not a row."""
        rows = self.rows
        position = bisect_left(rows, step_id)
        if position < len(rows) and rows[position] == step_id:
            return position
        return None

    def _refilter(self) -> None:
        count = len(self.steps)
        if self.show_lines:
            self._navigable = range(count)
        else:
            kinds = self.index.kinds
            self._navigable = [i for i in range(count) if kinds[i] != _LINE]
        self._rows = None

    def _compute_rows(self) -> Sequence[int]:
        if not self.collapsed:
            return self._navigable
        navigable = self._navigable
        rows = []
        position, count = 0, len(navigable)
        while position < count:
            step_id = navigable[position]
            rows.append(step_id)
            if step_id in self.collapsed:
                position = bisect_right(navigable, self.index.subtree_end(step_id), position)
            else:
                position += 1
        return rows

    def is_collapsed(self, step_id: int) -> bool:
        return step_id in self.collapsed

    def is_bookmarked(self, step_id: int) -> bool:
        position = bisect_left(self.bookmarks, step_id)
        return position < len(self.bookmarks) and self.bookmarks[position] == step_id

    # -- moves -------------------------------------------------------------------------

    def jump(self, step_id: int) -> int | None:
        """Make `step_id` current (a hidden line step lands on its frame's call)."""
        if not 0 <= step_id < len(self.steps):
            return None
        if not self.show_lines and self.index.kinds[step_id] == _LINE:
            parent = self.index.parents[step_id]
            if parent is None:
                return None
            step_id = parent
        return self._go(step_id)

    def next(self) -> int | None:
        """The next step in time."""
        return self._neighbour(+1)

    def previous(self) -> int | None:
        """The previous step in time (stepping backwards)."""
        return self._neighbour(-1)

    def first(self) -> int | None:
        return self._go(self._navigable[0]) if self._navigable else None

    def last(self) -> int | None:
        return self._go(self._navigable[-1]) if self._navigable else None

    def into(self) -> int | None:
        """The current step's first child; a step without children moves on in time."""
        current = self.current
        if current is None:
            return None
        for child in self.index.children(current):
            if self._shown(child):
                return self._go(child)
        return self.next()

    def out(self) -> int | None:
        """Where the current function returns: the end step of the call whose frame the
        current step is in (a call step is in its own frame).

        On a return step that call is the caller of the function that returned. A call
        whose end was not recorded is left for the call step itself.
        """
        current = self.current
        if current is None:
            return None
        frame = self.index.frame(current)
        while frame is not None:
            end = self.index.end_step(frame)
            if end is not None and end != current:
                return self._go(end)
            if end is None and frame != current:
                return self._go(frame)
            frame = self.index.parents[frame]
        return None

    def over(self) -> int | None:
        """The first step after the current one's insides: the next sibling of a call
        (step over), or the caller's next step from a return."""
        current = self.current
        if current is None:
            return None
        navigable = self._navigable
        position = bisect_right(navigable, self.index.subtree_end(current))
        return self._go(navigable[position]) if position < len(navigable) else None

    def _neighbour(self, direction: int) -> int | None:
        if self.current is None:
            return None
        navigable = self._navigable
        if direction > 0:
            position = bisect_right(navigable, self.current)
            return self._go(navigable[position]) if position < len(navigable) else None
        position = bisect_left(navigable, self.current) - 1
        return self._go(navigable[position]) if position >= 0 else None

    def _shown(self, step_id: int) -> bool:
        return self.show_lines or self.index.kinds[step_id] != _LINE

    def _go(self, step_id: int) -> int:
        if self.collapsed:
            for ancestor in self.index.ancestors(step_id):
                if ancestor in self.collapsed:
                    self.collapsed.discard(ancestor)
                    self._rows = None
        self.current = step_id
        return step_id

    # -- folds, line steps, bookmarks, search ----------------------------------------------

    def toggle_fold(self, step_id: int) -> bool:
        """Collapse or expand a call's descendants; the current step moves out of a fold.

        Returns False for a step without children (nothing to fold).
        """
        if not self.index.has_children(step_id):
            return False
        if step_id in self.collapsed:
            self.collapsed.discard(step_id)
        else:
            self.collapsed.add(step_id)
            current = self.current
            if current is not None and step_id < current <= self.index.subtree_end(step_id):
                self.current = step_id
        self._rows = None
        return True

    def set_show_lines(self, show: bool) -> None:
        """Show or hide line steps; a hidden current line step gives way to its frame."""
        if show == self.show_lines:
            return
        self.show_lines = show
        self._refilter()
        current = self.current
        if current is not None and not self._shown(current):
            parent = self.index.parents[current]
            position = bisect_left(self._navigable, current) - 1
            fallback = self._navigable[position] if position >= 0 else None
            self.current = parent if parent is not None else fallback

    def toggle_bookmark(self) -> bool:
        """Bookmark the current step, or remove its bookmark; True when it is now marked."""
        current = self.current
        if current is None:
            return False
        position = bisect_left(self.bookmarks, current)
        if position < len(self.bookmarks) and self.bookmarks[position] == current:
            del self.bookmarks[position]
            return False
        self.bookmarks.insert(position, current)
        return True

    def next_bookmark(self) -> int | None:
        """The first shown bookmark after the current step, wrapping to the first."""
        marks = [mark for mark in self.bookmarks if self._shown(mark)]
        if not marks:
            return None
        current = -1 if self.current is None else self.current
        position = bisect_right(marks, current)
        target = marks[position] if position < len(marks) else marks[0]
        return self._go(target)

    def search(self, query: str) -> int | None:
        """The next shown step after the current one whose name, file, values or facts
        contain `query` (case-insensitive), wrapping around."""
        needle = query.strip().lower()
        if not needle or not self.steps:
            return None
        if self._haystack is None:
            self._haystack = [search_text(step) for step in self.steps]
        haystack = self._haystack
        count = len(self.steps)
        start = -1 if self.current is None else self.current
        for offset in range(1, count + 1):
            step_id = (start + offset) % count
            if needle in haystack[step_id] and self._shown(step_id):
                return self._go(step_id)
        return None
