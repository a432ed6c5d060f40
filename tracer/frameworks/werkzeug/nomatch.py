"""Why a path matched no rule: ask werkzeug, one candidate rule at a time.

A 404 says only that nothing matched. To say *why*, this module picks the rules closest
to the path (same leading static segments, same number of segments, similar text) and,
for each, binds a fresh `Map` holding one copy of that rule (with the original map's
converters and settings) and calls `match` on it. The exception werkzeug raises there —
or the variant of the rule or path that makes it match — names the reason. Nothing here
re-implements werkzeug's matcher: the only string work is rewriting a rule's converters
to werkzeug's default one (or one of them to `path`), comparing static segments to say
which part differs, and matching a converter's own pattern against the segment it refused.

Reasons (`reason` of each dict):

- ``converter_rejected``: with the converters relaxed the path matches; `detail` names the
  argument, its converter and the segment it refused (``int`` refused ``'abc'``), and why:
  the converter the rule made is asked (`_refusal`): ``refused_by`` is ``"pattern"`` when
  its ``pattern`` does not match the segment in full, ``"to_python"`` when it does and its
  `to_python` raised `ValidationError` (``int(min=1)`` refused ``'0'``); ``arguments``
  holds those the rule wrote for it, by werkzeug's names (``{"min": 1}``). A segment with
  a slash that the default converter refused (``/wiki/a/b`` for ``/wiki/<title>``) is one
  too: werkzeug gives that converter one segment at a time.
- ``static_differs``: even relaxed, the path does not match; `detail` names the differing
  static part, or the segment counts.
- ``trailing_slash``: only the trailing slash differs (the rule would redirect, or the
  path with/without its slash matches).
- ``method_not_allowed``: the path matches but not for this method; `detail` lists the
  methods the rule accepts.
- ``host_differs``: the path matches on the rule's own host or subdomain.

The app's own converters (classes not from werkzeug) are never run here: a converter that
looks a segment up (in a database, say) would run again, outside its request. Every attempt
uses a stand-in for each of them instead (`_pattern_only`): the class's `regex`, `weight`
and `part_isolating`, with werkzeug's own `__init__` and `to_python`. A rule that matches
with the stand-ins did not match for real only because one of the app's converters refused
the segment in `to_python` (or by a pattern it set in `__init__`): ``converter_rejected``.
Which of the two is read, not run: the pattern of the converter the rule made (``regex``,
read with `getattr_static`, as `__init__` left it) either refuses the segment, or it
accepts it and so the converter's own `to_python` refused it. ``own: True`` marks every
refusal by one of the app's converters.
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import (
    BaseConverter,
    Map,
    MapAdapter,
    PathConverter,
    RequestRedirect,
    Rule,
    UnicodeConverter,
    ValidationError,
    parse_converter_args,
)

from tracer.frameworks.werkzeug.rule_copies import copy_rule
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint

#: The rule syntax werkzeug documents: ``<converter(arguments):variable>``.
RULE_VARIABLE = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?"
    r"(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
#: Converters that may span slashes keep their nature when relaxed.
_SPANNING = frozenset({"path"})
DEFAULT_LIMIT = 5
#: A segment or pattern kept in a near miss is cut to this many characters: the path
#: comes from the request, and five near misses would otherwise copy all of it five times.
MAX_TEXT = 200


def near_misses(
    url_map: Map,
    path: str,
    method: str,
    *,
    host: str | None = None,
    subdomain: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[dict[str, Any]]:
    """The rules closest to `path` and why each did not match it.

    Args:
        url_map: the live map the request was matched against (``app.url_map``).
        path: the request path (``request.path``).
        method: the request method.
        host: the request host; used for host-matching maps and as the server name.
        subdomain: the subdomain the request was bound with, for subdomain rules.
        limit: at most this many rules, closest first.

    Returns:
        JSON-able dicts ``{rule, endpoint, reason, detail}``, closest rule first. Rules that
        match on their own (so were not the cause of a 404) are left out.
    """
    method = method.upper()
    ranked = sorted(
        (
            (score, order, rule)
            for order, rule in enumerate(rules_by_endpoint(url_map))
            if (score := _closeness(rule, path)) is not None
        ),
        key=lambda item: (item[0], item[1]),
    )
    misses = []
    for _, _, rule in ranked:
        miss = _diagnose(url_map, rule, path, method, host, subdomain)
        if miss is not None:
            misses.append(miss)
        if len(misses) >= limit:
            break
    return misses


def matches_alone(url_map: Map, rule: Rule, path: str, method: str) -> bool:
    """Whether `path` matches `rule` in a fresh map holding only a copy of it."""
    host = rule.host if url_map.host_matching and rule.host and "<" not in rule.host else None
    subdomain = rule.subdomain if rule.subdomain and "<" not in rule.subdomain else None
    error, _ = _try(url_map, copy_rule(rule), path, method, host=host, subdomain=subdomain,
                    own_converters=True)
    return error is None


def rule_reached(adapter: MapAdapter, path: str, method: str) -> str | None:
    """The rule `path` reaches through the bound `adapter` (a redirect's target, say).
    When the app has converters of its own, a copy of the map with stand-ins answers, so
    that none of them runs again (see the module doc)."""
    url_map = adapter.map
    if _own_converters(url_map):
        copy = _single_map(url_map, [copy_rule(rule) for rule in rules_by_endpoint(url_map)],
                           own_converters=False)
        adapter = copy.bind(adapter.server_name, script_name=adapter.script_name,
                            subdomain=adapter.subdomain, url_scheme=adapter.url_scheme)
    try:
        rule, _ = adapter.match(path, method=method, return_rule=True)
    except HTTPException:
        return None
    return rule.rule


# -- choosing candidates -------------------------------------------------------------------


def _segments(text: str) -> list[str]:
    stripped = text.strip("/")
    return stripped.split("/") if stripped else []


def _closeness(rule: Rule, path: str) -> tuple[int, int, float] | None:
    """A sort key (smaller is closer), or None when the rule is not close to the path."""
    rule_parts = _segments(rule.rule)
    path_parts = _segments(path)
    prefix = 0
    for rule_part, path_part in zip(rule_parts, path_parts, strict=False):
        if "<" in rule_part or rule_part != path_part:
            break
        prefix += 1
    same_count = len(rule_parts) == len(path_parts)
    static_text = RULE_VARIABLE.sub("", rule.rule)
    similarity = difflib.SequenceMatcher(None, static_text, path).ratio()
    slash_only = rule.rule.rstrip("/") == path.rstrip("/")
    if not (prefix or slash_only or (same_count and similarity >= 0.6)):
        return None
    return (-prefix - (2 if slash_only else 0), 0 if same_count else 1, -similarity)


# -- asking werkzeug ----------------------------------------------------------------------


def _single_map(url_map: Map, rules: Iterable[Rule], own_converters: bool = True) -> Map:
    """A fresh map like `url_map` (converters, slashes, hosts) holding only `rules`;
    without `own_converters`, the app's converters are stand-ins (see the module doc)."""
    converters = dict(url_map.converters)
    if not own_converters:
        converters.update((name, _pattern_only(cls))
                          for name, cls in _own_converters(url_map).items())
    return Map(
        list(rules),
        default_subdomain=url_map.default_subdomain,
        strict_slashes=url_map.strict_slashes,
        merge_slashes=url_map.merge_slashes,
        redirect_defaults=url_map.redirect_defaults,
        converters=converters,
        host_matching=url_map.host_matching,
    )


def _try(
    url_map: Map,
    rule: Rule,
    path: str,
    method: str,
    *,
    host: str | None,
    subdomain: str | None,
    own_converters: bool = False,
) -> tuple[HTTPException | None, Mapping[str, Any]]:
    """Match `path` against a map holding only `rule`: (the exception or None, the values).
    The app's own converters are left out unless `own_converters` (see the module doc)."""
    single = _single_map(url_map, [rule], own_converters)
    adapter = single.bind(host or "localhost", subdomain=subdomain)
    try:
        _, values = adapter.match(path, method, return_rule=True)
    except HTTPException as exc:
        return exc, {}
    return None, values


def _diagnose(
    url_map: Map,
    rule: Rule,
    path: str,
    method: str,
    host: str | None,
    subdomain: str | None,
) -> dict[str, Any] | None:
    def result(reason: str, **detail: Any) -> dict[str, Any]:
        return {"rule": rule.rule, "endpoint": rule.endpoint, "reason": reason, "detail": detail}

    def attempt(
        candidate: Rule, path_: str, method_: str = method, **where: Any
    ) -> tuple[HTTPException | None, Mapping[str, Any]]:
        return _try(url_map, candidate, path_, method_, host=where.get("host", host),
                    subdomain=where.get("subdomain", subdomain))

    error, values = attempt(copy_rule(rule), path)
    if error is None:
        own = _own_variables(rule.rule, _own_converters(url_map))
        if not own:
            return None  # it matches on its own: not why the path missed
        # Only the app's converters' patterns were asked; the real match ran them.
        name, converter = _own_refuser(rule, own, values)
        return result("converter_rejected", **_rejected(rule, name, converter,
                                                        values.get(name)))
    if isinstance(error, RequestRedirect):
        new_path = _path_of(error.new_url)
        if new_path.rstrip("/") == path.rstrip("/"):
            return result("trailing_slash", rule_has_slash=True, path_has_slash=False,
                          redirect_to=error.new_url)
        return result("redirect", redirect_to=error.new_url)
    if isinstance(error, MethodNotAllowed):
        return result("method_not_allowed", method=method,
                      allowed=sorted(error.valid_methods or ()))
    if not isinstance(error, NotFound):
        return None
    # From here on the method is one the rule accepts, so 405 cannot hide the reason.
    accepted = method if not rule.methods or method in rule.methods else sorted(rule.methods)[0]
    toggled = path[:-1] if path.endswith("/") and path != "/" else path + "/"
    if attempt(copy_rule(rule), toggled, accepted)[0] is None:
        return result("trailing_slash", rule_has_slash=rule.rule.endswith("/"),
                      path_has_slash=path.endswith("/"), redirect_to=None)
    host_miss = _host_miss(rule, url_map, path, accepted, host, subdomain, attempt)
    if host_miss is not None:
        return result("host_differs", **host_miss)
    relaxed = _relax(rule.rule, keep=None)
    if relaxed != rule.rule:
        error, values = attempt(copy_rule(rule, relaxed), path, accepted)
        if error is None:
            rejected = _rejecting_argument(rule, path, accepted, attempt)
            if rejected is not None:
                name, converter = rejected
                return result("converter_rejected", **_rejected(rule, name, converter,
                                                                values.get(name)))
    empty = _empty_argument(rule.rule, path)
    if empty is not None:
        name, converter = empty
        return result("converter_rejected", **_rejected(rule, name, converter, "",
                                                        empty=True))
    slashed = _slashed_argument(url_map, rule, path, accepted, attempt)
    if slashed is not None:
        name, converter, segment = slashed
        return result("converter_rejected", **_rejected(rule, name, converter, segment))
    return result("static_differs", **_static_difference(rule.rule, path))


def _host_miss(rule, url_map, path, method, host, subdomain, attempt) -> dict[str, Any] | None:
    """Match on the rule's own host or subdomain; a match means the host was the problem."""
    if url_map.host_matching:
        if rule.host and "<" not in rule.host and rule.host != host:
            if attempt(copy_rule(rule), path, method, host=rule.host)[0] is None:
                return {"rule_host": rule.host, "host": host}
        return None
    own = rule.subdomain
    current = subdomain if subdomain is not None else url_map.default_subdomain
    if own and "<" not in own and own != current:
        if attempt(copy_rule(rule), path, method, subdomain=own)[0] is None:
            return {"rule_subdomain": own, "subdomain": current or ""}
    return None


def _own_converters(url_map: Map) -> dict[str, Any]:
    """The converters the app registered itself (any class not from werkzeug), by name."""
    return {name: cls for name, cls in url_map.converters.items()
            if not getattr(cls, "__module__", "").startswith("werkzeug.")}


def _own_variables(text: str, own: dict[str, Any]) -> list[tuple[str, str]]:
    """(variable, converter) of each variable of a rule that uses one of `own`."""
    return [(match.group("variable"), match.group("converter") or "default")
            for match in RULE_VARIABLE.finditer(text)
            if (match.group("converter") or "default") in own]


def _pattern_only(cls: Any) -> type[BaseConverter]:
    """A stand-in for the app's converter class `cls` that runs none of its code: the
    pattern, weight and part isolation the class declares, werkzeug's `__init__` and
    `to_python`. Read with `getattr_static`, so not even a metaclass runs."""
    declared: dict[str, Any] = {}
    for name, kind in (("regex", str), ("weight", int), ("part_isolating", bool)):
        value = inspect.getattr_static(cls, name, None)
        if isinstance(value, kind):
            declared[name] = value
    name = inspect.getattr_static(cls, "__name__", "Converter")
    return type(f"PatternOf{name}", (BaseConverter,), declared)


def _relax(text: str, keep: str | None) -> str:
    """The rule with every converter but `keep` replaced by werkzeug's default one."""

    def replace(match: re.Match[str]) -> str:
        variable = match.group("variable")
        converter = match.group("converter")
        if variable == keep or converter in _SPANNING:
            return match.group(0)
        return f"<{variable}>"

    return RULE_VARIABLE.sub(replace, text)


def _rejecting_argument(rule, path, method, attempt) -> tuple[str, str] | None:
    """The first argument whose own converter, alone kept, makes the match fail."""
    for match in RULE_VARIABLE.finditer(rule.rule):
        name = match.group("variable")
        converter = match.group("converter") or "default"
        if converter in _SPANNING:
            continue
        if attempt(copy_rule(rule, _relax(rule.rule, keep=name)), path, method)[0] is not None:
            return name, converter
    return None


def _slashed_argument(url_map, rule, path, method, attempt) -> tuple[str, str, str] | None:
    """(variable, converter, value) of a variable of the default converter that, were it
    `path`, would take a value with a slash and make the rule match (``/wiki/a/b`` for
    ``/wiki/<title>``): its one-segment pattern is why the rule missed."""
    if url_map.converters.get("path") is not PathConverter:
        return None
    for match in RULE_VARIABLE.finditer(rule.rule):
        name = match.group("variable")
        converter = match.group("converter") or "default"
        if url_map.converters.get(converter) is not UnicodeConverter:
            continue
        widened = _relax(rule.rule, keep=None).replace(f"<{name}>", f"<path:{name}>", 1)
        error, values = attempt(copy_rule(rule, widened), path, method)
        value = values.get(name)
        if error is None and isinstance(value, str) and "/" in value:
            return name, converter, value
    return None


def _empty_argument(text: str, path: str) -> tuple[str, str] | None:
    """The variable a path leaves empty where all of the rule's static text is there
    (`/anything/` for `/anything/<path:anything>`): its converter refused the empty value,
    which is why the rule missed, not the number of segments."""
    pattern, variables, position = "", [], 0
    for match in RULE_VARIABLE.finditer(text):
        converter = match.group("converter") or "default"
        pattern += re.escape(text[position:match.start()])
        pattern += "(.*)" if converter in _SPANNING else "([^/]*)"
        variables.append((match.group("variable"), converter))
        position = match.end()
    found = re.fullmatch(pattern + re.escape(text[position:]), path)
    if found is None:
        return None
    return next(((name, converter) for (name, converter), value
                 in zip(variables, found.groups(), strict=True) if value == ""), None)


# -- why a converter refused ----------------------------------------------------------------


def _rejected(rule: Rule, name: str, converter: str, segment: Any, **flags: Any
              ) -> dict[str, Any]:
    """The detail of ``converter_rejected``: which argument, which converter, the segment
    (bounded: it comes from the request) and why the converter refused it."""
    detail: dict[str, Any] = {"argument": name, "converter": converter,
                              "segment": _bounded(segment), **flags}
    made = _converter_made(rule, name)
    if made is None:
        return detail
    if _is_own(made):
        detail["own"] = True
    if isinstance(segment, str):
        detail.update(_refusal(rule, name, made, segment))
    return detail


def _converter_made(rule: Rule, name: str) -> Any | None:
    """The converter `rule` made for the variable `name` when its map bound it (werkzeug
    keeps them in `Rule._converters`); None for a rule that was never bound."""
    converters = inspect.getattr_static(rule, "_converters", None)
    return converters.get(name) if isinstance(converters, dict) else None


def _is_own(converter: Any) -> bool:
    """Whether a converter is the app's own (its class is not werkzeug's)."""
    module = inspect.getattr_static(type(converter), "__module__", "")
    return not (isinstance(module, str) and module.startswith("werkzeug."))


def _own_refuser(rule: Rule, own: list[tuple[str, str]], values: Mapping[str, Any]
                 ) -> tuple[str, str]:
    """Of the app's converters a rule uses, the one whose own pattern refused its value,
    else the first: the stand-ins matched with the patterns the classes declare."""
    for name, converter in own:
        made = _converter_made(rule, name)
        value = values.get(name)
        if made is not None and isinstance(value, str):
            if _refusal(rule, name, made, value).get("refused_by") == "pattern":
                return name, converter
    return own[0]


def _refusal(rule: Rule, name: str, converter: Any, segment: str) -> dict[str, Any]:
    """Why `converter` refused `segment`: its pattern, or its `to_python`.

    werkzeug's own converters are asked (`to_python` is theirs: nothing of the app runs);
    the app's are only read: a pattern that accepts the segment leaves their own
    `to_python`, which is not run again, as what refused it.
    """
    pattern = inspect.getattr_static(converter, "regex", None)
    if not isinstance(pattern, str):
        return {}
    found: dict[str, Any] = {"pattern": _bounded(pattern)}
    own = _is_own(converter)
    if not own:
        arguments = converter_arguments(rule, name, type(converter))
        if arguments:
            found["arguments"] = arguments
    if not _matches(pattern, segment):
        return {**found, "refused_by": "pattern"}
    if own or _to_python_refuses(converter, segment):
        return {**found, "refused_by": "to_python"}
    return found  # it accepts the segment alone: the rule's other parts are why


def _matches(pattern: str, segment: str) -> bool:
    try:
        return re.fullmatch(pattern, segment) is not None
    except re.error:
        return True  # werkzeug compiled it inside a larger pattern: not ours to judge


def _to_python_refuses(converter: Any, segment: str) -> bool:
    """Whether werkzeug's own converter raises `ValidationError` for `segment`, as it
    does when the matcher hands it over. Only werkzeug's own `to_python` is called, looked
    up on the class: one the app put in its place is not run."""
    method = inspect.getattr_static(type(converter), "to_python", None)
    module = getattr(method, "__module__", None)
    if not (callable(method) and isinstance(module, str) and module.startswith("werkzeug.")):
        return False
    try:
        method(converter, segment)
    except ValidationError:
        return True
    except Exception:  # not how a converter refuses: werkzeug would not have caught it
        return False
    return False


def converter_arguments(rule: Rule, name: str, cls: type) -> dict[str, Any]:
    """The arguments the rule wrote for the converter of `name`, named as werkzeug's
    `__init__` names them (``any(a, b)`` → ``{"items": ["a", "b"]}``), JSON-safe."""
    written = next((match.group("arguments") for match in RULE_VARIABLE.finditer(rule.rule)
                    if match.group("variable") == name), None)
    if not written:
        return {}
    try:
        args, kwargs = parse_converter_args(written)
        bound = inspect.signature(cls).bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return {}
    named = dict(list(bound.arguments.items())[1:])  # the map werkzeug passes first
    return {key: _plain(value) for key, value in named.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return _bounded(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # `int(max=inf)`: JSON has no infinity
    if value is None or isinstance(value, bool | int | float):
        return value
    return _bounded(repr(value))


def _bounded(text: Any) -> Any:
    """A text cut to `MAX_TEXT` characters (other values as they are)."""
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return text[: MAX_TEXT - 1] + "…"
    return text


def _static_difference(rule_text: str, path: str) -> dict[str, Any]:
    """Which static segment of the rule the path does not have."""
    rule_parts = _segments(rule_text)
    path_parts = _segments(path)
    for position, (rule_part, path_part) in enumerate(zip(rule_parts, path_parts, strict=False)):
        if "<" in rule_part:
            if RULE_VARIABLE.fullmatch(rule_part):
                continue
        if rule_part != path_part:
            return {"rule_part": rule_part, "path_part": path_part, "position": position}
    return {"rule_segments": len(rule_parts), "path_segments": len(path_parts)}


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
