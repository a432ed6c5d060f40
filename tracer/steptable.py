"""Steps kept column by column, built into `Step` objects only when one is asked for.

A request traced line by line has hundreds of thousands of steps. Building them all as
objects costs seconds, yet a reader looks at a few dozen at a time, and the passes over
a whole request (the tree's shape, which calls were made, where the hook steps are)
need only a few plain columns. `StepTable` is a read-only `Sequence[Step]` over those
columns; what varies per step and is rarely read (time, detail, facts, thread) comes
from an `Extras` source that may decode it lazily, chunk by chunk, from a trace file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, overload

from tracer.model import Step, StepKind

#: One letter per step kind, as stored in the `kinds` column.
KIND_CODES: dict[StepKind, str] = {
    "call": "c", "return": "r", "exception": "x", "note": "n", "line": "l",
}
KINDS_BY_CODE: dict[str, StepKind] = {code: kind for kind, code in KIND_CODES.items()}

_EMPTY: Mapping[str, Any] = {}


#: (time_ns, detail, facts, thread) of one step.
Extra = tuple[int, Mapping[str, str], Mapping[str, Any], int]


class Extras(Protocol):
    """Where a step's time, detail, facts and thread come from."""

    def extra(self, step_id: int) -> Extra:
        """(time_ns, detail, facts, thread) of one step."""

    def preload(self) -> None:
        """Decode whatever is still stored undecoded (a damaged part raises here)."""


class _StoredExtras:
    """Extras already in memory (a table built from `Step` objects)."""

    def __init__(self, rows: list[Extra]) -> None:
        self.rows = rows

    def extra(self, step_id: int) -> Extra:
        return self.rows[step_id]

    def preload(self) -> None:
        pass


class StepTable(Sequence[Step]):
    """The steps of one phase (registration or request), ids equal to positions.

    Columns are public and read-only by convention: `parents` (id or None), `kinds`
    (a string, one `KIND_CODES` letter per step), `names`, `files`, `lines` and `roles`
    (step id → role, for the few steps that have one).
    """

    __slots__ = ("parents", "kinds", "names", "files", "lines", "roles", "_extras",
                 "_built")

    def __init__(
        self,
        *,
        parents: list[int | None],
        kinds: str,
        names: Sequence[str],
        files: Sequence[str | None],
        lines: Sequence[int | None],
        roles: Mapping[int, str],
        extras: Extras,
    ) -> None:
        self.parents = parents
        self.kinds = kinds
        self.names = names
        self.files = files
        self.lines = lines
        self.roles = roles
        self._extras = extras
        self._built: list[Step | None] | None = None

    @classmethod
    def from_rows(cls, *, parents: list[int | None], kinds: str, names: Sequence[str],
                  files: Sequence[str | None], lines: Sequence[int | None],
                  roles: Mapping[int, str], extras: list[Extra]) -> StepTable:
        """A table of steps given column by column, their extras already in memory (a
        recording frozen: its steps are built only if something reads them)."""
        return cls(parents=parents, kinds=kinds, names=names, files=files, lines=lines,
                   roles=roles, extras=_StoredExtras(extras))

    @classmethod
    def from_steps(cls, steps: Iterable[Step]) -> StepTable:
        """A table of steps already built (a recording, an eagerly loaded file)."""
        steps = tuple(steps)
        table = cls(
            parents=[step.parent for step in steps],
            kinds="".join(KIND_CODES[step.kind] for step in steps),
            names=[step.name for step in steps],
            files=[step.file for step in steps],
            lines=[step.line for step in steps],
            roles={step.id: step.role for step in steps if step.role is not None},
            extras=_StoredExtras([(step.time_ns, step.detail, step.facts, step.thread)
                                  for step in steps]),
        )
        table._built = list(steps)
        return table

    def __len__(self) -> int:
        return len(self.kinds)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Step, ...]: ...

    def __getitem__(self, index: int | slice) -> Step | tuple[Step, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        count = len(self.kinds)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("step id out of range")
        built = self._built
        if built is None:
            built = self._built = [None] * count
        step = built[index]
        if step is None:
            step = built[index] = self._build(index)
        return step

    def __iter__(self) -> Iterator[Step]:
        return (self[index] for index in range(len(self.kinds)))

    def __repr__(self) -> str:
        return f"<StepTable of {len(self)} steps>"

    def extra(self, index: int) -> Extra:
        """(time_ns, detail, facts, thread) of the step at `index`, without building it."""
        return self._extras.extra(index)

    def _build(self, index: int) -> Step:
        time_ns, detail, facts, thread = self._extras.extra(index)
        return Step(index, self.parents[index], KINDS_BY_CODE[self.kinds[index]],
                    self.names[index], self.files[index], self.lines[index], time_ns,
                    thread, detail or _EMPTY, self.roles.get(index), facts or _EMPTY)

    def preload(self) -> None:
        """Decode every step's extras now; a damaged file raises `TraceFileError` here
        instead of when a step is first read."""
        self._extras.preload()


def as_table(steps: Sequence[Step]) -> StepTable:
    """`steps` as a `StepTable` (itself when it already is one)."""
    return steps if isinstance(steps, StepTable) else StepTable.from_steps(steps)
