"""Values line tracing keeps raw on the traced app's path, rendered when the trace is built.

Line tracing sees thousands of values per request, and rendering each (a bounded, redacted
repr) on the spot would cost more than the request itself. So it keeps a plain dict of raw
values per step (`StepRecord.raw`) beside the rendered strings hooks give (a few dozen
steps per request, rendered at once). A plain dict, not a subclass: the collector stops
tracking a dict of numbers and strings, and most changed locals are those. The compiled
core keeps these dicts, and the copies `kept` makes, out of the collector's sight until
their record leaves the recorder (`tracer/_linecore.c`, `out_of_sight`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tracer.saferepr import is_secret_name, safe_repr, safe_value


class _Deleted:
    """What a step's raw values hold for a local that a line deleted."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<deleted>"


DELETED = _Deleted()


def kept(value: Any) -> Any:
    """A value as it is now, to render when the trace is built.

    Numbers and strings cannot change; lists, dicts, sets and bytearrays are copied
    (shallowly) so later changes do not leak back; other objects are rendered as they are
    when the trace is built.
    """
    kind = type(value)
    if kind is list or kind is dict or kind is set:
        return kind(value)
    if kind is bytearray:
        return bytes(value)
    return value


def rendered_detail(detail: Mapping[str, str] | None, raw: Mapping[str, Any] | None,
                    redact: bool, memo: dict[int, str] | None = None) -> Mapping[str, str]:
    """A step's detail as the trace stores it, every value a string: the strings hooks
    rendered, then the values line tracing kept raw (a later value of a name wins).

    `memo` (id of a kept value -> its stored form) renders a value kept by many steps once:
    while the trace is built every kept value is alive, and the same object shows the same
    at the same moment. A registration keeps each `Rule` at every line that ran with it.
    """
    if not raw:
        return detail or {}
    rendered = {name: render(name, value, redact, memo) for name, value in raw.items()}
    return {**detail, **rendered} if detail else rendered


def render(name: str, value: Any, redact: bool, memo: dict[int, str] | None = None) -> str:
    """The stored form of one kept value; a secret-looking name hides it."""
    if value is DELETED:
        return "<deleted>"
    if memo is None or (redact and value is not None and is_secret_name(name)):
        return safe_value(name, value, redact=redact)
    text = memo.get(id(value))
    if text is None:
        text = memo[id(value)] = safe_repr(value, redact=redact)
    return text
