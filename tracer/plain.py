"""The one boundary where recorded values become plain JSON values, secrets hidden.

Hooks store facts as they find them: a rule given as a `functools.partial` (as
Flask-RESTful passes), a `Role`, a tuple, a set, a Markup string. A trace is written as
JSON and read by every presenter, so when a recording is frozen into a `Trace`, every
fact, detail value and request field goes through `PlainValues`: strings, finite
numbers, booleans, None, lists and string-keyed dicts pass (as exact built-in types);
anything else becomes its safe repr. Each string also has the secrets known by value
hidden (`tracer.secret_values`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from tracer.saferepr import safe_repr

#: Deeper structures are stored as their repr.
_MAX_DEPTH = 12


class PlainValues:
    """Converts recorded values to plain JSON values, hiding secrets with `scrub`."""

    __slots__ = ("_scrub", "_code_names")

    def __init__(self, scrub: Callable[[str], str] | None = None,
                 code_names: frozenset[str] = frozenset()) -> None:
        self._scrub = scrub
        #: Names of the code steps ran (`view_a`, `Index.get`): the app's source, which the
        #: trace embeds as written, not values; kept as they are wherever they appear.
        self._code_names = code_names

    @property
    def code_names(self) -> frozenset[str]:
        return self._code_names

    def scrub(self, text: str) -> str:
        """`text` with the known secrets hidden (a name of code kept as it is)."""
        if self._scrub is None or text in self._code_names:
            return text
        return self._scrub(text)

    def name(self, name: str) -> str:
        """A step's name: the qualified name of its code (or a fixed label), kept."""
        return name if type(name) is str else self._text(name)

    def detail(self, detail: Mapping[str, Any]) -> dict[str, str]:
        """A step's detail: every key and value a string."""
        if not detail:
            return {}
        return {self._text(key): self._text(value) for key, value in detail.items()}

    def facts(self, facts: Mapping[str, Any] | None) -> dict[str, Any]:
        """A step's facts: plain values under string keys."""
        if not facts:
            return {}
        return {self._text(key): self.value(value) for key, value in facts.items()}

    def value(self, value: Any, depth: int = 0) -> Any:
        """Any value as a plain JSON value (None stays None)."""
        kind = type(value)
        if kind is str:
            return self.scrub(value)
        if value is None or kind is bool or kind is int:
            return value
        if kind is float:
            return value if math.isfinite(value) else repr(value)
        if depth >= _MAX_DEPTH:
            return self._text(value)
        if kind is list or kind is tuple:
            return [self.value(item, depth + 1) for item in value]
        if kind is dict:
            return {self._text(key): self.value(item, depth + 1) for key, item in value.items()}
        if isinstance(value, str):  # a str subclass: StrEnum, Markup
            return self.scrub(str.__str__(value))
        if isinstance(value, int):  # bool and IntEnum members, read without their methods
            return bool(value) if isinstance(value, bool) else int.__index__(value)
        if kind is set or kind is frozenset:
            return sorted((self.value(item, depth + 1) for item in value), key=repr)
        return self._text(value)

    def _text(self, value: Any) -> str:
        if type(value) is str:
            return self.scrub(value)
        if isinstance(value, str):
            return self.scrub(str.__str__(value))
        return self.scrub(safe_repr(value))
