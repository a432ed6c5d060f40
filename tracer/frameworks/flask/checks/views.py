"""Mistakes read from the live app's views: decorators above the route, MethodView methods.

Python's own objects say these best: which module names hold a wrapper whose inner
function is the registered view, and which handlers a view class defines.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from flask import Flask
from flask.views import MethodView, http_method_funcs

from tracer.frameworks.flask.above_route import (
    WrappedAboveRoute,
    decorator_name,
    wrapped_above_route,
)
from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.findings import Finding, definition
from tracer.frameworks.narration.items import N_, Message
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint
from tracer.model import Role, Trace

_METHODS_LINE = re.compile(r"^\s*methods\s*[:=]")


def decorators_above_route(app: Flask, trace: Trace, owners: AppOwners | None = None
                           ) -> list[Finding]:
    """Module names bound to a wrapper around a registered view that is not registered.

    `@decorator` above `@app.route` wraps what `route` returned, the function it already
    registered: the module ends up with the wrapper, `view_functions` with the bare view
    (`tracer.frameworks.flask.above_route` finds them).
    """
    return [_above_route(app, trace, owners, found) for found in wrapped_above_route(app)]


def _above_route(app: Flask, trace: Trace, owners: AppOwners | None,
                 found: WrappedAboveRoute) -> Finding:
    name, endpoint = found.name, found.endpoint
    decorator = decorator_name(found.wrappers[0])
    rules = [rule.rule for rule in rules_by_endpoint(app.url_map) if rule.endpoint == endpoint]
    params = {"decorator": decorator, "view": name, "rules": [repr(r) for r in rules]}
    problem = (Message(N_("`@{decorator}` is written above the route decorator on `{view}`: "
                          "decorators apply from the bottom up, so `route` registered the bare "
                          "`{view}` for {rules} and `{decorator}` only wrapped the module's "
                          "name `{view}`. Requests never run `{decorator}`."), params),)
    fix = Message(N_("Move `@{decorator}` below `@app.route(...)`, directly above "
                     "`def {view}`: the route decorator must be the top one."), params)
    file, line = definition(found.view)
    steps = _own_steps(trace, owners, Role.VIEW_REGISTERED, "endpoint", endpoint)
    return Finding("decorator_above_route", file, line, problem, fix, steps)


def method_view_methods(app: Flask, trace: Trace, owners: AppOwners | None = None
                        ) -> list[Finding]:
    """MethodView classes whose `methods` hide handlers, or list methods without one."""
    findings = []
    for endpoint, view in app.view_functions.items():
        cls = getattr(view, "view_class", None)
        if not (isinstance(cls, type) and issubclass(cls, MethodView)):
            continue
        rules = [rule for rule in rules_by_endpoint(app.url_map) if rule.endpoint == endpoint]
        if not rules:
            continue
        routed = set().union(*(rule.methods or () for rule in rules))
        automatic = any(getattr(rule, "provide_automatic_options", False) for rule in rules)
        handlers = sorted(m for m in http_method_funcs if callable(getattr(cls, m, None)))
        steps = _own_steps(trace, owners, Role.CLASS_VIEW, "name", endpoint)
        file, line = _methods_line(cls)
        listed = sorted(m.upper() for m in (cls.methods or ()))
        params: dict[str, Any] = {"cls": cls.__qualname__, "methods": repr(listed),
                                  "rules": [repr(rule.rule) for rule in rules]}
        excluded = [h for h in handlers if h.upper() not in routed]
        if excluded:
            params.update(handlers=[f"`{h}`" for h in excluded],
                          missing=[h.upper() for h in excluded])
            problem = (Message(N_("`{cls}` defines {handlers}, but `{cls}.methods = {methods}` "
                                  "does not include {missing}: `as_view` copies `methods` to "
                                  "the view, so {rules} answers {missing} with 405 without "
                                  "calling {handlers}."), params),)
            fix = Message(N_("Add {missing} to `{cls}.methods`, or remove {handlers} from the "
                             "class; without a `methods` attribute, `MethodView` lists exactly "
                             "the handlers the class defines."), params)
            findings.append(Finding("method_view_excludes_handler", file, line, problem, fix,
                                    steps))
        unhandled = [m for m in listed if m.lower() not in handlers
                     and not (m == "HEAD" and "get" in handlers)
                     and not (m == "OPTIONS" and automatic)]
        if unhandled:
            params.update(unhandled=unhandled,
                          names=[f"`{m.lower()}`" for m in unhandled])
            problem = (Message(N_("`{cls}.methods` lists {unhandled}, but `{cls}` has no "
                                  "{names} method: such a request is routed to the class, "
                                  "`dispatch_request` finds no handler and "
                                  "`assert meth is not None` fails (\"Unimplemented method\"), "
                                  "which is a 500."), params),)
            fix = Message(N_("Define {names} on `{cls}`, or remove {unhandled} from "
                             "`{cls}.methods`."), params)
            findings.append(Finding("method_view_missing_handler", file, line, problem, fix,
                                    steps))
    return findings


def _own_steps(trace: Trace, owners: AppOwners | None, role: str, fact: str, value: str
               ) -> tuple[int, ...]:
    """Ids of the steps with `role` whose `fact` is `value`, but not those of another app
    that has an endpoint of the same name."""
    return tuple(step.id for step in trace.registration.steps
                 if step.role == role and step.facts.get(fact) == value
                 and not (owners is not None and owners.is_other(step)))


def _methods_line(cls: type) -> tuple[str | None, int | None]:
    """The `methods = ...` line of a class, else the class line."""
    try:
        file = inspect.getsourcefile(cls)
        source, start = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None, None
    for offset, text in enumerate(source):
        if _METHODS_LINE.match(text):
            return file, start + offset
    return file, start
