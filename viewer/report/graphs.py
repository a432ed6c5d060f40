"""The decorator onion and the route map of each phase as inline SVG, each node that
stands for something the request ran tied to the step where it ran.

The builders are the ones `flaskscope graph` uses; Graphviz's `dot` draws them. Without
`dot` the page says graphs need Graphviz and works on without them.
"""

from __future__ import annotations

import shutil
from typing import Any

import graphviz

from tracer.model import Request, Role, Trace
from tracer.steptable import StepTable
from viewer.graph.kinds import build
from viewer.graph.select import GraphError
from viewer.report.svg import clean_svg
from viewer.tui.onion import build_onion, entered_calls

__all__ = ["graphviz_available", "phase_graphs"]

GRAPHVIZ_MISSING = ("graphs need Graphviz's dot program, which was not found when this "
                    "report was made (apt-get install graphviz)")


def graphviz_available() -> bool:
    """Whether `dot` can be run here."""
    return shutil.which("dot") is not None


def _svg(digraph: graphviz.Digraph) -> str | None:
    try:
        svg = digraph.pipe(format="svg").decode("utf-8", "replace")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError, OSError, UnicodeError):
        return None
    return clean_svg(svg)


def _first_role(table: StepTable, *roles: str) -> int | None:
    found = [step_id for step_id, role in table.roles.items() if role in roles]
    return min(found) if found else None


def _onion_links(trace: Trace, request: Request, table: StepTable) -> dict[str, int]:
    """Decorators graph node → the first call that entered that layer (the graph draws the
    request's own endpoint as cluster `e0`)."""
    onion = build_onion(trace, request, entered_calls(table))
    return {f"e0_{position}": layer.step for position, layer in enumerate(onion.layers)
            if layer.step is not None}


def _route_links(trace: Trace, request: Request, table: StepTable) -> dict[str, int]:
    """Route map node → the step that decided it: the request, the match, the dispatch."""
    links: dict[str, int] = {}
    if len(table):
        links["request"] = 0
    match = _first_role(table, Role.MATCH)
    dispatch = _first_role(table, Role.DISPATCH)
    handler = _first_role(table, Role.HANDLER, Role.VIEW)
    for position, route in enumerate(trace.routes):
        if match is not None and route.rule == request.rule and \
                route.endpoint == request.endpoint:
            links[f"r{position}"] = match
    endpoints: dict[tuple[str | None, str], str] = {}
    for route in trace.routes:
        endpoints.setdefault((route.app, route.endpoint), f"e{len(endpoints)}")
    if dispatch is not None and request.endpoint is not None:
        for (_, endpoint), node in endpoints.items():
            if endpoint == request.endpoint:
                links[node] = dispatch
                links["c" + node[1:]] = dispatch
    if handler is not None:
        links["handler"] = handler
    return links


def phase_graphs(trace: Trace, request: Request | None, table: StepTable) -> dict[str, Any]:
    """{"decorators"|"routes": {"svg": text, "links": {node: step}}} for one phase; an
    entry is missing when the trace has nothing to draw for it."""
    graphs: dict[str, Any] = {}
    if not trace.routes or not graphviz_available():
        return graphs
    request_id = None if request is None else request.id
    for kind in ("decorators", "routes"):
        if kind == "decorators" and request is None:
            continue
        try:
            digraph = build(trace, kind, request_id=request_id,
                            use_request=request is not None)
        except GraphError:
            continue
        svg = _svg(digraph)
        if svg is None:
            continue
        links: dict[str, int] = {}
        if request is not None:
            links = (_onion_links(trace, request, table) if kind == "decorators"
                     else _route_links(trace, request, table))
        graphs[kind] = {"svg": svg, "links": links}
    return graphs
