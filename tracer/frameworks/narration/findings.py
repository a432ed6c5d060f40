"""A finding: a classic Flask mistake, where it is written, and how to fix it.

Findings hold message ids and values (like the explain narrative), so `check` speaks every
language explain has a catalog for.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.items import N_, Message
from tracer.model import Route, Step
from tracer.paths import OWN_DIRS
from tracer.unwrap import code_of

_LIBRARY_DIRS = tuple(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem.

    Attributes:
        check: the kind of mistake (``decorator_above_route``, ``endpoint_collision``...).
        file: the file of the cause (absolute, as Python knows it), or None if unknown.
        line: the line of the cause.
        problem: what is wrong, as sentences.
        fix: how to fix it.
        steps: registration step ids the finding is read from, if any.
    """

    check: str
    file: str | None
    line: int | None
    problem: tuple[Message, ...]
    fix: Message
    steps: tuple[int, ...] = ()


def elsewhere(owners: AppOwners | None, step: Step) -> Message | None:
    """The sentence naming the other app a step belongs to, if it is not the one checked."""
    if owners is None or not owners.is_other(step):
        return None
    return Message(N_("This is in another app, {other}, made while loading {app}, the app "
                      "checked."),
                   {"other": f"`{owners.owner(step)}`", "app": f"`{owners.asked}`"})


def definition(obj: Any) -> tuple[str | None, int | None]:
    """Where a function is written: its file and first line (its top decorator's line)."""
    code = code_of(obj)
    if code is None:
        return None, None
    return code.co_filename, code.co_firstlineno


def user_frame(error: BaseException | None) -> tuple[str | None, int | None]:
    """The innermost line of the app's own code in an exception's traceback."""
    found: tuple[str | None, int | None] = (None, None)
    if error is None:
        return found
    for frame in traceback.extract_tb(error.__traceback__):
        name = os.path.abspath(frame.filename)
        if name.startswith(OWN_DIRS) or name.startswith(_LIBRARY_DIRS):
            continue
        if frame.filename.startswith("<"):
            continue
        found = (frame.filename, frame.lineno)
    return found


def routes_by_endpoint(routes: Iterable[Route]) -> Mapping[str, list[Route]]:
    """The routes of each endpoint."""
    result: dict[str, list[Route]] = {}
    for route in routes:
        result.setdefault(route.endpoint, []).append(route)
    return result
