"""Bounded, never-failing reprs with secrets redacted.

Everything the recorder stores about a value goes through `safe_repr`, so a huge
object, a recursive one or one whose ``__repr__`` raises can never break the traced
app or bloat the trace, and a password never reaches the file.
"""

from __future__ import annotations

import functools
import re
import reprlib
import types
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any

from tracer.engine import compiled_steps
from tracer.unwrap import compiled_stand_in_type

REDACTED = "***"

_SECRET_WORDS = r"password|passwd|pwd|secret|token|api[_-]?key|session|csrf|authorization|cookie"

#: Names whose values are secrets: form/JSON/query fields, config keys, headers, arguments.
SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)

# A secret-looking name followed by its value inside free text: `'name': 'value'` in
# dict reprs, `('Name', 'value')` in header lists, `"name": "value"` in JSON, and the
# unquoted `name=value` of query strings and cookies. The name is matched from the start
# of its word only: the leftmost match starts there anyway, and trying every position
# inside a long word (a bearer token) cost a millisecond a repr.
_SECRET_IN_TEXT = re.compile(
    r"(?<![\w-])(?P<key>[\w-]*(?:" + _SECRET_WORDS + r")[\w-]*)"
    r"(?:"
    r"(?P<qsep>['\"]\s*[:=,]\s*)(?P<quote>['\"])(?P<qvalue>[^'\"]*)(?P=quote)"
    r"|(?P<sep>\s*=\s*)(?P<value>[^&\s;'\",)}\]]+)"
    r")",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """Whether a key, header, field or argument name announces a secret."""
    if type(name) is not str:
        return isinstance(name, str) and SECRET_NAME.search(name) is not None
    known = SECRET_NAMES_SEEN.get(name)
    if known is None:
        known = SECRET_NAME.search(name) is not None
        if len(SECRET_NAMES_SEEN) < 4096:  # argument and field names repeat; values do not
            SECRET_NAMES_SEEN[name] = known
    return known


#: `is_secret_name`'s answers by name (the compiled core's stand-ins read it too).
SECRET_NAMES_SEEN: dict[str, bool] = {}


def _may_hold_secret(lowered: str) -> bool:
    """A cheap pre-check of `_SECRET_IN_TEXT` (plain substring tests, no regex)."""
    return ("pass" in lowered or "pwd" in lowered or "secret" in lowered or "token" in lowered
            or "api" in lowered or "session" in lowered or "csrf" in lowered
            or "auth" in lowered or "cookie" in lowered)


def redact_text(text: str) -> str:
    """Mask the values that follow secret-looking names inside free text."""
    if not _may_hold_secret(text.lower()):  # the common case, kept cheap
        return text
    return _SECRET_IN_TEXT.sub(_mask, text)


Scrub = Callable[[str], str]

_scrubber: ContextVar[Scrub | None] = ContextVar("flaskscope_scrubber", default=None)


def scrubbing(scrub: Scrub | None) -> Token[Scrub | None]:
    """Hide secrets known by value (`scrub`) in every redacted repr made in this context,
    before it is cut short; `stop_scrubbing(token)` ends it."""
    return _scrubber.set(scrub)


def stop_scrubbing(token: Token[Scrub | None]) -> None:
    """End what `scrubbing` began."""
    _scrubber.reset(token)


def scrubbed(text: str) -> str:
    """`text` with the secrets known in this context hidden."""
    scrub = _scrubber.get()
    return text if scrub is None else scrub(text)


def _mask(match: re.Match[str]) -> str:
    if match["quote"]:
        return f"{match['key']}{match['qsep']}{match['quote']}{REDACTED}{match['quote']}"
    return f"{match['key']}{match['sep']}{REDACTED}"


class _BoundedRepr(reprlib.Repr):
    """reprlib with project-wide limits, secret-aware mappings and a guard per object."""

    def __init__(self, redact: bool) -> None:
        super().__init__()
        self.redact = redact
        self.maxlevel = 3
        self.maxstring = 160
        self.maxother = 160
        self.maxlong = 60
        self.maxdict = 12
        self.maxlist = 12
        self.maxtuple = 12
        self.maxset = 12
        self.maxfrozenset = 12
        self.maxdeque = 12
        self.maxarray = 12

    def repr1(self, x: Any, level: int) -> str:
        try:
            # The builtin types reprlib would find by their name, found by type: reprlib's
            # lookup by name costs more than most of these reprs.
            kind = type(x)
            if kind is str:
                return self.repr_str(x, level)
            if kind is tuple:
                return self.repr_tuple(x, level)
            if kind is list:
                return self.repr_list(x, level)
            if kind is dict:
                return self.repr_dict(x, level)
            if kind is int:
                return self.repr_int(x, level)
            if kind is float or kind is bool or x is None:
                return self.repr_instance(x, level)
            if self.redact and not isinstance(x, dict) and _is_plain_mapping(x):
                return self._repr_mapping(x, level, type(x).__name__)
            return super().repr1(x, level)
        except Exception as exc:  # a broken __repr__ must not break the traced app
            return _placeholder(x, exc)

    def repr_str(self, x: str, level: int) -> str:
        if self.redact:
            x = scrubbed(x)  # before reprlib cuts the middle out of it
        return super().repr_str(x, level)

    def repr_dict(self, x: dict, level: int) -> str:
        if not self.redact:
            return super().repr_dict(x, level)
        return self._repr_mapping(x, level, None)

    def _repr_mapping(self, x: Mapping, level: int, type_name: str | None) -> str:
        n = len(x)
        if n == 0:
            return "{}" if type_name is None else f"{type_name}({{}})"
        if level <= 0:
            return "{...}" if type_name is None else f"{type_name}({{...}})"
        pieces = []
        for i, key in enumerate(_items_keys(x)):
            if i >= self.maxdict:
                pieces.append("...")
                break
            item = x[key]
            value = (REDACTED if is_secret_name(key) and not _names_only(item)
                     else self.repr1(item, level - 1))
            pieces.append(f"{self.repr1(key, level - 1)}: {value}")
        body = "{" + ", ".join(pieces) + "}"
        return body if type_name is None else f"{type_name}({body})"

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            text = repr(x)
        except Exception as exc:
            return _placeholder(x, exc)
        if self.redact:
            text = scrubbed(text)
        if len(text) > self.maxother:
            half = max(0, (self.maxother - 3) // 2)
            text = text[:half] + "..." + text[len(text) - half :]
        return text


def _is_plain_mapping(x: Any) -> bool:
    """Mapping-like values whose items we may read without side effects (decided once per
    type: the `Mapping` check is an ABC's, slower than most reprs, and the walk makes it
    for every item it meets)."""
    kind = type(x)
    known = _routes.get(id(kind))
    if known is None or known[0]() is not kind:
        _route_of(kind)
        known = _routes.get(id(kind))
    if known is not None and known[1] is not _PRETENDS:
        return known[2]
    return _route(kind) not in (_OWN_REPR, _NAMES_ONLY) and _plain_mapping_type(kind, x)


def _plain_mapping_type(kind: type, x: Any) -> bool:
    return isinstance(x, Mapping) and kind.__module__.split(".")[0] in _PLAIN_MAPPING_MODULES


_PLAIN_MAPPING_MODULES = frozenset({"werkzeug", "flask", "collections", "types"})


def _items_keys(x: Mapping) -> list:
    try:
        return list(x.keys())
    except Exception:
        return []


def _placeholder(x: Any, exc: BaseException) -> str:
    return f"<{type(x).__qualname__} instance; repr failed: {type(exc).__name__}>"


_REDACTING = _BoundedRepr(redact=True)
_PLAIN = _BoundedRepr(redact=False)


_SCALARS = frozenset({int, float, bool, complex, type(None)})
_MAX_TEXT = 200


def _short_and_flat(items: list | tuple) -> bool:
    """A list or tuple within the walk's limits holding only short strings, booleans,
    None and small numbers (as `['GET', 'POST']`): its plain repr is the bounded one."""
    if len(items) > _REDACTING.maxlist:
        return False
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > _FLAT_TEXT or not item.isascii():  # its repr may be cut short
                return False
        elif kind is int:
            if not -_SMALL_INT < item < _SMALL_INT:
                return False
        elif kind is not bool and item is not None:
            return False
    return True


_SMALL_INT = 10**40
#: An ASCII string this short has a repr of at most 4 * 39 + 2 = 158 characters (every
#: character escaped as \xNN), within the walk's 160.
_FLAT_TEXT = 39


def safe_repr(value: Any, *, redact: bool = True) -> str:
    """A short repr of any value that never raises and hides secrets when asked.

    Scalars, short strings and objects with their own `__repr__` take the direct path;
    containers and mappings go through the bounded, secret-aware `reprlib` walk. A repr
    that shows only a type, a name and an address (functions, classes, objects without a
    `__repr__` of their own) cannot hold a secret and is not searched for one.
    """
    kind = type(value)
    route = _OWN_REPR
    try:
        if kind in _SCALARS or (kind is str and len(value) <= _MAX_TEXT - 2):
            text = repr(value)
        elif ((kind is list or kind is tuple) and _short_and_flat(value)) or (
                kind is dict and not value):
            text = repr(value)  # what the bounded walk would give, without walking
        else:
            route = _route(kind)
            if route is _PRETENDS:  # a proxy: its __class__ says what it stands for
                route = _WALK if isinstance(value, _WALKED) else _OWN_REPR
            if route is _WALK or kind is str:
                text = (_REDACTING if redact else _PLAIN).repr(value)
            else:
                text = repr(value)
    except Exception as exc:
        return _placeholder(value, exc)
    if not isinstance(text, str):
        return _placeholder(value, TypeError("__repr__ returned a non-string"))
    if redact and kind not in _SCALARS and route is not _NAMES_ONLY:
        scrub = _scrubber.get()
        if scrub is not None:  # secrets known by value, hidden before the text is cut
            text = scrub(text)
    if len(text) > _MAX_TEXT:
        half = (_MAX_TEXT - 3) // 2
        text = text[:half] + "..." + text[-half:]
    if not redact or kind in _SCALARS or route is _NAMES_ONLY:
        return text
    return redact_text(text)


#: How `safe_repr` renders a type's values, decided once per type (an `isinstance` check
#: against `Mapping` alone costs more than most reprs).
_WALK = "walk"  # containers and mappings: the bounded walk
_NAMES_ONLY = "names"  # functions, classes, objects without a __repr__ of their own
_OWN_REPR = "own"  # anything else: its own __repr__, then searched for secrets
_PRETENDS = "pretends"  # defines __class__ (a proxy): decided per value
_WALKED = (list, tuple, set, frozenset, dict, Mapping)
_NAME_REPRS = frozenset({types.FunctionType, types.BuiltinFunctionType, type})
#: id(type) -> (the type, weakly; its route; whether it is a plain mapping). Weakly: a
#: strong key would keep every class of a traced app alive, its module and all it holds
#: (signal receivers connected at import among them), after the app is gone or reloaded.
_routes: dict[int, tuple[weakref.ref[type], str, bool]] = {}


def _route(kind: type) -> str:
    known = _routes.get(id(kind))
    if known is not None and known[0]() is kind:
        return known[1]
    return _route_of(kind)


def _route_of(kind: type) -> str:
    if any("__class__" in vars(base) for base in kind.__mro__[:-1]):
        route = _PRETENDS
    elif issubclass(kind, _WALKED):
        route = _WALK
    elif (kind in _NAME_REPRS or kind.__repr__ is object.__repr__
          or kind is compiled_stand_in_type()):  # shown as the function it stands in for
        route = _NAMES_ONLY
    else:
        route = _OWN_REPR
    if len(_routes) < 4096:  # types made on the fly must not grow this forever
        try:
            plain = route not in (_OWN_REPR, _NAMES_ONLY, _PRETENDS) and issubclass(
                kind, Mapping) and kind.__module__.split(".")[0] in _PLAIN_MAPPING_MODULES
            _routes[id(kind)] = (weakref.ref(kind, functools.partial(_forget_route, id(kind))),
                                 route, plain)
        except TypeError:  # a type that cannot be referenced weakly: decided each time
            pass
    return route


def _forget_route(key: int, _: object) -> None:
    _routes.pop(key, None)


def safe_value(name: str, value: Any, *, redact: bool = True) -> str:
    """`safe_repr` for a named value: a secret-looking name hides the whole value."""
    if redact and is_secret_name(name) and value is not None and not _names_only(value):
        return REDACTED
    return safe_repr(value, redact=redact)


def _names_only(value: Any) -> bool:
    """Whether `value`'s repr shows only a type, a name and an address (a function, a
    class): nothing to hide, though it sits under a secret-looking name (Flask-WTF's
    context processor returns `{'csrf_token': <function generate_csrf>}`)."""
    try:
        return _route(type(value)) is _NAMES_ONLY
    except Exception:
        return False


#: The function above, which the compiled core's `safe_repr` hands every case but its
#: common ones (`tracer/_stepcore.c`); always the pure engine's.
python_safe_repr = safe_repr


def _compiled_safe_repr() -> Callable[..., str]:
    """The compiled core's `safe_repr` when it is built and used, else the Python one."""
    core = compiled_steps()
    if core is None:
        return python_safe_repr
    core.repr_helpers(python_safe_repr, _routes, _scrubber, redact_text, _OWN_REPR,
                      _NAMES_ONLY, _placeholder)
    # the walk of dicts, lists and tuples hands these the items it does not render itself
    core.walk_helpers(_REDACTING.repr1, _names_only)
    # how the core stores a named value (a hooked call's arguments, a watched call's)
    core.value_helpers(safe_value, SECRET_NAMES_SEEN, is_secret_name, REDACTED)
    return core.safe_repr  # type: ignore[no-any-return]


safe_repr = _compiled_safe_repr()  # noqa: F811 (the same function, compiled)
