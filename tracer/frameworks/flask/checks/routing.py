"""Mistakes in the URL map: rules another rule shadows, and surprising slash redirects.

Werkzeug is asked, never imitated: a sample URL is made for each rule (checked to match
that rule alone), then matched against the whole map.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule, ValidationError

from tracer.frameworks.narration.findings import Finding, definition
from tracer.frameworks.narration.items import N_, Message
from tracer.frameworks.werkzeug.nomatch import RULE_VARIABLE, converter_arguments, matches_alone
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint

#: Values tried, in order, until a rule's converter accepts one.
_SAMPLES = ("1", "x", "12345678-1234-5678-1234-567812345678", "1.5", "a/b", "abc", "2024")
_MAX_SAMPLES = 64
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_AUTOMATIC = ("HEAD", "OPTIONS")


def sample_paths(rule: Rule, limit: int = _MAX_SAMPLES) -> list[str]:
    """Paths `rule` matches, one per combination of values its converters accept.

    Each converter is offered a few values (and an `any` converter its own items); those it
    accepts, by its regex and `to_python`, are combined. Empty when a converter takes none.
    """
    converters = getattr(rule, "_converters", {})
    names = [m.group("variable") for m in RULE_VARIABLE.finditer(rule.rule)]
    choices = [_accepted(converters.get(name), _items(rule, name, converters.get(name)))
               for name in names]
    if any(not values for values in choices):
        return []
    paths = []
    for combination in itertools.islice(itertools.product(*choices), limit):
        values = iter(combination)

        def fill(_: re.Match[str], values: Iterator[str] = values) -> str:
            return next(values)

        paths.append(RULE_VARIABLE.sub(fill, rule.rule))
    return paths


def sample_path(rule: Rule) -> str | None:
    """The first of `sample_paths`, or None."""
    paths = sample_paths(rule, 1)
    return paths[0] if paths else None


def _items(rule: Rule, name: str, converter: Any) -> list[str]:
    """The values an `any` converter lists: its `items` (Werkzeug 2.2+), else the ones the
    rule wrote for it (before 2.2 the converter keeps only its regex)."""
    if converter is None:
        return []
    items = getattr(converter, "items", None)
    if items is None:
        items = converter_arguments(rule, name, type(converter)).get("items")
    return sorted(item for item in items or () if isinstance(item, str))


def _accepted(converter: Any, items: list[str]) -> list[str]:
    if converter is None:
        return list(_SAMPLES)
    candidates = [*items, *_SAMPLES]
    accepted = []
    for candidate in candidates:
        if re.fullmatch(converter.regex, candidate) is None:
            continue
        try:
            converter.to_python(candidate)
        except (ValidationError, ValueError):
            continue
        accepted.append(candidate)
    return accepted


def _adapter(url_map: Map, rule: Rule) -> Any:
    host = rule.host if url_map.host_matching and rule.host and "<" not in rule.host else None
    subdomain = rule.subdomain if rule.subdomain and "<" not in rule.subdomain else None
    return url_map.bind(host or "localhost", subdomain=subdomain)


def shadowed_rules(app: Flask) -> list[Finding]:
    """Rules the whole map never gives their own URLs to: every sample goes to another rule."""
    url_map = app.url_map
    order = {id(rule): index for index, rule in enumerate(rules_by_endpoint(url_map))}
    findings = []
    for rule in rules_by_endpoint(url_map):
        for method in sorted(set(rule.methods or ("GET",)) - set(_AUTOMATIC)):
            taken = _taken_by(url_map, rule, method)
            if taken is not None:
                winner, path = taken
                findings.append(_shadowed(app, rule, winner, path, method,
                                          order[id(winner)] < order[id(rule)]))
                break
    return findings


def _taken_by(url_map: Map, rule: Rule, method: str) -> tuple[Rule, str] | None:
    """The rule that gets every sample path of `rule` (and the first path), if one rule does."""
    first: tuple[Rule, str] | None = None
    for path in sample_paths(rule):
        if not matches_alone(url_map, rule, path, method):
            continue
        try:
            winner, _ = _adapter(url_map, rule).match(path, method, return_rule=True)
        except HTTPException:
            return None
        if winner is rule:
            return None
        first = first or (winner, path)
    return first


def _shadowed(app: Flask, rule: Rule, winner: Rule, path: str, method: str,
              earlier: bool) -> Finding:
    view = app.view_functions.get(rule.endpoint)
    params = {"rule": repr(rule.rule), "endpoint": repr(rule.endpoint),
              "other": repr(winner.rule), "other_endpoint": repr(winner.endpoint),
              "sample": repr(path), "method": method,
              "view": getattr(view, "__name__", rule.endpoint)}
    if earlier:
        problem = Message(N_("The rule {rule} (endpoint {endpoint}) is shadowed by {other} "
                             "(endpoint {other_endpoint}), added before it: werkzeug matches "
                             "{method} {sample} to {other}, so `{view}` is never reached for "
                             "such URLs."), params)
    else:
        problem = Message(N_("The rule {rule} (endpoint {endpoint}) is shadowed by {other} "
                             "(endpoint {other_endpoint}), which werkzeug ranks first: it "
                             "matches {method} {sample} to {other}, so `{view}` is never "
                             "reached for such URLs."), params)
    fix = Message(N_("Make the two rules distinct: give {other} a converter that refuses these "
                     "values (`<int:...>`, `<uuid:...>` or your own), or move one of them to "
                     "another path."), params)
    file, line = definition(view)
    return Finding("shadowed_rule", file, line, (problem,), fix)


def strict_slash_redirects(app: Flask) -> list[Finding]:
    """Rules ending in '/' that take a body: the slash-less URL redirects instead of serving."""
    url_map = app.url_map
    findings = []
    for rule in rules_by_endpoint(url_map):
        methods = sorted(set(rule.methods or ()) & set(_BODY_METHODS))
        if not methods or not rule.rule.endswith("/") or rule.rule == "/":
            continue
        if not rule.strict_slashes:
            continue
        path = sample_path(rule)
        if path is None:
            continue
        bare = path.rstrip("/")
        try:
            _adapter(url_map, rule).match(bare, methods[0], return_rule=True)
        except RequestRedirect as redirect:
            findings.append(_slash(app, rule, bare, methods, redirect.code))
        except HTTPException:
            continue
    return findings


def _slash(app: Flask, rule: Rule, bare: str, methods: list[str], code: int) -> Finding:
    view = app.view_functions.get(rule.endpoint)
    params = {"rule": repr(rule.rule), "bare": repr(bare), "methods": methods,
              "method": methods[0], "code": code, "suggested": repr(rule.rule.rstrip("/")),
              "view": getattr(view, "__name__", rule.endpoint)}
    problem = Message(N_("{rule} ends with a slash and accepts {methods}: a client sending "
                         "{method} to {bare} gets `{code}` redirecting it to {rule} instead of "
                         "reaching `{view}`. It must send the body again, and browsers do not "
                         "follow redirects of CORS preflight requests."), params)
    fix = Message(N_("Drop the trailing slash from the rule ({suggested}), or pass "
                     "`strict_slashes=False` to the route so both URLs reach the view."), params)
    file, line = definition(view)
    return Finding("strict_slash_redirect", file, line, (problem,), fix)
