"""Copies of an app's rules for flaskscope's own matching, compiled without warnings.

`nomatch` binds fresh maps holding copies of the app's rules to ask werkzeug why a path
did not match. Binding compiles each copy's URL builder, and Werkzeug before 2.3 compiles
builders through `ast.Str`, which Python 3.12 deprecates: every copy would add
DeprecationWarnings to the traced app's process, so a pytest run of the app would count
more warnings than without flaskscope, and one with ``-W error`` would see errors it never
had. A copy compiles its builder with exactly those warnings ignored: DeprecationWarnings
attributed to werkzeug's router or to `ast`. The filter is process-wide while the builder
compiles (`warnings.catch_warnings` is, before Python 3.14), so for that moment another
thread's warning of the same kind would be ignored too; none of any other kind is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule

#: Where werkzeug's builder compiler warns from: its router module and `ast` itself.
_BUILDER_WARNINGS_FROM = r"(werkzeug\.routing(\.|\Z)|ast\Z)"
_QUIET: dict[type[Rule], type[Rule]] = {}


def copy_rule(rule: Rule, text: str | None = None) -> Rule:
    """An unbound copy of `rule` (optionally with another rule string) that compiles its
    URL builder without adding warnings to the app's process."""
    kind = _quiet_kind(type(rule))
    return kind(text if text is not None else rule.rule, **rule.get_empty_kwargs())


def _quiet_kind(rule_type: type[Rule]) -> type[Rule]:
    """A subclass of `rule_type` whose builders compile with the router's warnings off."""
    known = _QUIET.get(rule_type)
    if known is not None:
        return known

    def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    module=_BUILDER_WARNINGS_FROM)
            return rule_type._compile_builder(self, append_unknown)  # type: ignore[attr-defined]

    kind: type[Rule] = type(rule_type.__name__, (rule_type,), {
        "_compile_builder": _compile_builder,
        "__module__": rule_type.__module__,
        "__qualname__": rule_type.__qualname__,
    })
    _QUIET[rule_type] = kind
    return kind
