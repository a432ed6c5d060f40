"""Which recorded rules a path belongs to, when the trace does not name the rule.

A 405 records the allowed methods but not the rules that matched the path, and a redirect
records its target URL but not the rule that target reaches. To overlay them on the route
map, the path is matched again by Werkzeug against a `Map` rebuilt from the recorded rules
(rule text, methods, strict slashes). Rules using converters Werkzeug does not know (an
app's own) cannot be rebuilt and are skipped, so the answer may be empty: callers then
draw the request without pointing at a rule. Only rules whose leading static text the path
starts with are rebuilt, which keeps a 2,000-rule map cheap.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from urllib.parse import unquote, urlsplit

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, RequestRedirect, Rule

from tracer.model import Request, Route
from viewer.graph.steps import match_facts

_SLASHES = re.compile("/{2,}")


def refused_routes(routes: Sequence[Route], request: Request) -> list[int]:
    """Positions in `routes` of the rules a 405's path matched, none of them for its method.

    The match step's `matched_rules` names them; a trace recorded before that fact existed
    is matched again here with the allowed methods. Empty for any other outcome.
    """
    if request.outcome != "method_not_allowed":
        return []
    rules = match_facts(request).get("matched_rules")
    if isinstance(rules, list):
        return [position for position, route in enumerate(routes) if route.rule in rules]
    return routes_for_path(routes, request.path, request.allowed_methods)


def routes_for_path(
    routes: Sequence[Route], path: str, methods: Iterable[str]
) -> list[int]:
    """Positions in `routes` of the rules that match `path` for any of `methods`.

    Args:
        routes: The recorded routes of one app.
        path: The request path, or a URL (whose path is used, percent-decoded).
        methods: The methods to try, e.g. the allowed methods of a 405.
    """
    if "://" in path:  # a redirect target: an URL, percent-encoded
        path = unquote(urlsplit(path).path)
    url_map = Map()
    merged = _SLASHES.sub("/", path)
    for position, route in enumerate(routes):
        static = route.rule.split("<", 1)[0]
        if not (merged.startswith(static) or (merged + "/").startswith(static)):
            continue  # its leading text differs: Werkzeug could not match it
        try:
            url_map.add(Rule(route.rule, endpoint=str(position), methods=route.methods or None,
                             strict_slashes=route.strict_slashes))
        except (LookupError, ValueError):
            continue
    adapter = url_map.bind("localhost", "/")
    found: list[int] = []
    for method in methods:
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except (HTTPException, RequestRedirect):
            continue
        position = int(rule.endpoint)
        if position not in found:
            found.append(position)
    return found
