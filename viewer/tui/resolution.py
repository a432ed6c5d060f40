"""How a request was resolved, in reading order: URL → rule → endpoint → view → handler.

Built from the facts the adapter attached to MATCH and DISPATCH steps and to the
HANDLER_LOOKUP, AUTOMATIC_OPTIONS and ERROR_HANDLER steps, plus the request's own
summary; the registration phase gets the rule table instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from tracer.model import Request, Role, Route, Step
from tracer.steptable import KIND_CODES, as_table

Tone = Literal["plain", "good", "bad", "muted"]


@dataclass(frozen=True)
class Line:
    """One row of the Resolution pane; `step` is where to jump for the evidence."""

    label: str
    text: str
    tone: Tone = "plain"
    step: int | None = None


def _methods(route: Route) -> str:
    return ", ".join(route.methods)


def resolve_request(request: Request, routes: Sequence[Route],
                    steps: Sequence[Step] | None = None) -> tuple[Line, ...]:
    """The resolution of one request (`steps`: its steps as a `StepTable` already made)."""
    by_role = _by_role(request.steps if steps is None else steps)
    query = f"?{request.query}" if request.query else ""
    lines = [Line("URL", f"{request.method} {request.path}{query}")]
    match = _first(by_role, Role.MATCH)
    facts = match.facts if match is not None else {}
    outcome = facts.get("outcome", request.outcome)
    match_id = match.id if match is not None else None
    if match is None and request.outcome == "ok" and request.rule is None:
        lines.append(Line("Rule", "no match step recorded", "muted"))
    elif facts.get("matched", request.rule is not None) and outcome not in (
        "not_found", "method_not_allowed", "redirect"
    ):
        rule = facts.get("rule", request.rule)
        route = next((r for r in routes if r.rule == rule), None)
        methods = f"  [{_methods(route)}]" if route is not None else ""
        lines.append(Line("Rule", f"{rule}{methods}", "good", match_id))
        view_args = facts.get("view_args", request.view_args)
        if view_args:  # values are the reprs recorded: `42` for an int, `'a'` for a str
            args = ", ".join(f"{k}={v}" for k, v in dict(view_args).items())
            lines.append(Line("Args", args, "plain", match_id))
    elif outcome == "not_found":
        lines.append(Line("Rule", f"no rule matches {request.path} → 404 Not Found", "bad",
                          match_id))
    elif outcome == "method_not_allowed":
        allowed = facts.get("allowed_methods") or list(request.allowed_methods)
        lines.append(Line(
            "Rule",
            f"{request.path} matches, but not for {request.method} → 405 Method Not Allowed",
            "bad", match_id,
        ))
        lines.append(Line("Allowed", ", ".join(allowed) or "?", "plain", match_id))
    elif outcome == "redirect":
        target = facts.get("redirect_to") or request.redirect_to or "?"
        status = facts.get("status", request.status)
        why = " (strict slashes: the rule ends with '/')" if facts.get(
            "reason") == "strict_slashes" else ""
        lines.append(Line("Rule", f"→ {status} redirect to {target}{why}", "bad", match_id))
    endpoint = facts.get("endpoint") or request.endpoint
    if endpoint:
        lines.append(Line("Endpoint", str(endpoint), "good", match_id))
    dispatch = _first(by_role, Role.DISPATCH)
    dispatch_id = dispatch.id if dispatch is not None else None
    route = next((r for r in routes if r.endpoint == endpoint), None) if endpoint else None
    if route is not None and route.chain:
        chain = " → ".join(
            f"class {link.qualname}" if link.kind == "view_class" else link.qualname
            for link in route.chain
            if link.kind != "method" or link.name == "dispatch_request"
        )
        lines.append(Line("View", chain, "plain", dispatch_id))
    elif dispatch is not None and dispatch.facts.get("view"):
        lines.append(Line("View", str(dispatch.facts["view"]), "plain", dispatch_id))
    options = _first(by_role, Role.AUTOMATIC_OPTIONS)
    if options is not None:
        lines.append(Line("Handler", "OPTIONS answered by Flask itself "
                          "(make_default_options_response); the view is not called", "plain",
                          options.id))
    for lookup in by_role.get(Role.HANDLER_LOOKUP, []):
        lines.append(_handler_line(lookup))
    for handler in by_role.get(Role.ERROR_HANDLER, []):
        if handler.kind != "note":
            continue
        exc = handler.facts.get("exception", "?")
        code = handler.facts.get("code")
        name = handler.facts.get("handler")
        target = f"handler {name}" if name else "no handler: the default error response"
        what = f"{exc} ({code})" if code else str(exc)
        lines.append(Line("Error", f"{what} → {target}", "bad", handler.id))
    status = request.status if request.status is not None else "-"
    tone: Tone = "good" if request.outcome == "ok" else "bad"
    result = f"{status} {request.outcome}"
    if request.error:
        result += f": {request.error}"
    lines.append(Line("Response", result, tone))
    return tuple(lines)


def _handler_line(lookup: Step) -> Line:
    facts = lookup.facts
    method = facts.get("method", "?")
    tried = facts.get("tried", "?")
    handler = facts.get("handler")
    if facts.get("error"):
        return Line("Handler", f"{method} → {tried}(): {facts['error']}", "bad", lookup.id)
    if facts.get("found"):
        return Line("Handler", f"{method} → {tried}() → {handler}", "good", lookup.id)
    fallback = facts.get("fallback")
    if fallback:
        return Line(
            "Handler",
            f"{method} → no {tried}(), falls back to {fallback}() → {handler}",
            "good", lookup.id,
        )
    return Line("Handler", f"{method} → no {tried}() → 405", "bad", lookup.id)


def resolve_registration(routes: Sequence[Route]) -> tuple[Line, ...]:
    """The rule table: what every request will be resolved against."""
    if not routes:
        return (Line("Rules", "no rules were registered", "muted"),)
    lines = [Line("Rules", f"{len(routes)} registered", "plain")]
    for route in routes:
        lines.append(Line(route.rule, f"{route.endpoint}  [{_methods(route)}]", "plain"))
    return tuple(lines)


_CALL_OR_NOTE = (KIND_CODES["call"], KIND_CODES["note"])
_WANTED = frozenset({Role.MATCH, Role.DISPATCH, Role.AUTOMATIC_OPTIONS, Role.HANDLER_LOOKUP,
                     Role.ERROR_HANDLER})


def _by_role(steps: Sequence[Step]) -> dict[str, list[Step]]:
    """Call and note steps of the roles this pane reads (found in the role column, so
    only those steps are built)."""
    table = as_table(steps)
    found: dict[str, list[Step]] = {}
    for step_id, role in sorted(table.roles.items()):
        if role in _WANTED and table.kinds[step_id] in _CALL_OR_NOTE:
            found.setdefault(role, []).append(table[step_id])
    return found


def _first(by_role: dict[str, list[Step]], role: str) -> Step | None:
    steps = by_role.get(role)
    return steps[0] if steps else None
