"""From a trace and the user's choices to one graph: the policy shared by CLI and API.

The calls graph needs a request (the first one unless `--request` names another). The
decorators graph shows the request's endpoint when there is a request and nothing else
narrows it (for a 405, the endpoints of the rules its URL matched), else every endpoint;
the routes graph shows every rule with the request's resolution on top.
`--endpoint`/`--blueprint` narrow the last two.
"""

from __future__ import annotations

from collections.abc import Sequence

import graphviz

from tracer.model import Request, Route, Trace
from viewer.graph.calls import calls_graph
from viewer.graph.decorators import decorators_graph
from viewer.graph.rematch import refused_routes
from viewer.graph.routes import routes_graph
from viewer.graph.select import GraphError, filter_routes, pick_request

KINDS = ("calls", "decorators", "routes")


def build(
    trace: Trace,
    kind: str,
    *,
    request_id: int | None = None,
    use_request: bool = True,
    endpoint: str | None = None,
    blueprint: str | None = None,
) -> graphviz.Digraph:
    """The graph of `kind` for `trace`.

    Args:
        trace: The recording.
        kind: "calls", "decorators" or "routes".
        request_id: The request to draw or overlay; None for the trace's first one.
        use_request: False to draw the app alone (decorators, routes) without an overlay.
        endpoint: A glob narrowing the endpoints drawn (decorators, routes).
        blueprint: A blueprint narrowing the routes drawn (decorators, routes).

    Raises:
        GraphError: The choice does not fit the kind or the trace.
    """
    if kind not in KINDS:
        raise GraphError(f"unknown graph kind {kind!r}; use one of {', '.join(KINDS)}")
    if not use_request and request_id is not None:
        raise GraphError(f"--request {request_id} and --no-request contradict each other; "
                         "keep one of them")
    if kind == "calls":
        if endpoint is not None or blueprint is not None:
            raise GraphError("--endpoint and --blueprint narrow the decorators and routes "
                             "graphs; a call graph shows one request, chosen with --request")
        if not use_request:
            raise GraphError("a call graph is made of one request's calls; drop --no-request")
        request = pick_request(trace, request_id, required=True)
        assert request is not None  # required=True raises GraphError instead of giving None
        return calls_graph(trace, request)
    if not trace.routes:
        raise GraphError(f"this trace holds no routes, so there is no {kind} graph to draw "
                         "(the app registered none, or it is not a Flask app); "
                         "try --kind calls")
    request = pick_request(trace, request_id) if use_request else None
    routes = filter_routes(trace.routes, endpoint, blueprint)
    if kind == "decorators":
        narrowed = endpoint is not None or blueprint is not None
        if not narrowed and request is not None:
            routes = _request_routes(routes, request) or routes
        return decorators_graph(trace, routes, request)
    return routes_graph(trace, routes, request)


def _request_routes(routes: Sequence[Route], request: Request) -> list[Route]:
    """The routes of the endpoint a request reached: the one it was dispatched to, or for a
    405 those of the rules its URL matched (the route exists, the method did not fit)."""
    if request.endpoint is not None:
        return [route for route in routes if route.endpoint == request.endpoint]
    refused = {(routes[i].app, routes[i].endpoint) for i in refused_routes(routes, request)}
    return [route for route in routes if (route.app, route.endpoint) in refused]
