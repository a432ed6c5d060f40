"""The URL map: rule → endpoint → view chain, blueprints as clusters, a request overlaid.

Each rule is a node with an edge to its endpoint labelled with the rule's methods; the
methods Flask added by itself (HEAD for GET, OPTIONS) are in parentheses, as in
`flaskscope routes`. Each endpoint leads to one node listing its view chain, outermost
first. Blueprints (nested ones inside their parent) are clusters.

With a request the resolution is drawn on top: the matched rule, its endpoint and chain and
the handler that ran are highlighted; a 404 is a node for the path that matched nothing,
with dotted edges to the rules that came close and why they missed; a 405 points at the
rules the path matched, with their allowed methods; a redirect points at its target and at
the rule the target reaches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz

from ..model import ChainLink, Request, Role, Route, Trace
from ..render import request_title
from . import style
from .labels import app_name, clip, plain_label, where
from .rematch import routes_for_path
from .steps import StepIndex, readable

_LAYOUT = {"rankdir": "LR", "newrank": "true", "ranksep": "0.6", "nodesep": "0.25"}
_VALUE_LIMIT = 48
_VIEW_ARGS_SHOWN = 6


@dataclass
class _Overlay:
    """What a request adds to the map, by route position."""

    matched: int | None = None
    not_allowed: list[int] = field(default_factory=list)
    near_misses: list[tuple[int, str]] = field(default_factory=list)
    redirect_target: list[int] = field(default_factory=list)
    handler_lines: list[str] | None = None


def routes_graph(
    trace: Trace,
    routes: Sequence[Route] | None = None,
    request: Request | None = None,
) -> graphviz.Digraph:
    """The route map of `routes` (default: all the trace's routes), `request` overlaid.

    Args:
        trace: The recording.
        routes: The routes to draw, e.g. narrowed by endpoint or blueprint.
        request: A request whose resolution is drawn on the map.

    Returns:
        A `graphviz.Digraph`; `.source` is its DOT text.
    """
    routes = list(trace.routes if routes is None else routes)
    request = readable(request) if request is not None else None
    overlay = _overlay(routes, request) if request is not None else _Overlay()
    graph = graphviz.Digraph(name="routes", graph_attr={**style.GRAPH, **_LAYOUT},
                             node_attr=style.NODE, edge_attr=style.EDGE)
    graph.attr(label=plain_label(_caption(trace, request), align="left"))

    endpoint_ids: dict[tuple[str | None, str], str] = {}
    for route in routes:
        endpoint_ids.setdefault((route.app, route.endpoint), f"e{len(endpoint_ids)}")
    apps = sorted({route.app or "" for route in routes})
    tree: dict[tuple[str, ...], list[int]] = {}
    for position, route in enumerate(routes):
        scope = (route.app or "",) if len(apps) > 1 else ()
        parts = tuple(route.blueprint.split(".")) if route.blueprint else ()
        tree.setdefault(scope + parts, []).append(position)
    edges: list[tuple[str, str, dict[str, str]]] = []
    drawn_endpoints: set[str] = set()
    scopes = sorted(tree)
    _emit(graph, (), scopes, tree, routes, endpoint_ids, drawn_endpoints, edges, overlay,
          multi_app=len(apps) > 1)
    for tail, head, attrs in edges:
        graph.edge(tail, head, **attrs)
    if request is not None:
        _draw_request(graph, request, routes, endpoint_ids, overlay)
    return graph


def methods_label(route: Route) -> str:
    """The methods of a rule, explicit ones first, Flask's automatic ones in parentheses."""
    explicit = [m for m in route.methods if m not in route.automatic_methods]
    automatic = [f"({m})" for m in route.methods if m in route.automatic_methods]
    return ", ".join(explicit + automatic)


def chain_label(chain: Sequence[ChainLink]) -> str:
    """The view chain outermost first, one callable per line."""
    lines = []
    for link in chain:
        if link.kind == "view_class":
            text = f"class {link.qualname}"
        else:
            text = link.qualname
        notes = []
        if link.origin == "class_decorators":
            notes.append("class decorator")
        if link.wraps is False:
            notes.append("no functools.wraps")
        if notes:
            text += f"  ({', '.join(notes)})"
        lines.append(text)
    return "\n".join(lines)


def _emit(
    parent: graphviz.Digraph,
    scope: tuple[str, ...],
    scopes: list[tuple[str, ...]],
    tree: dict[tuple[str, ...], list[int]],
    routes: Sequence[Route],
    endpoint_ids: dict[tuple[str | None, str], str],
    drawn_endpoints: set[str],
    edges: list[tuple[str, str, dict[str, str]]],
    overlay: _Overlay,
    *,
    multi_app: bool,
) -> None:
    """Draw the routes of `scope` in `parent`, then each child scope as a cluster."""
    for position in tree.get(scope, []):
        _route(parent, position, routes[position], endpoint_ids, drawn_endpoints, edges,
               overlay)
    children = sorted({s[: len(scope) + 1] for s in scopes
                       if len(s) > len(scope) and s[: len(scope)] == scope})
    for child in children:
        is_app = multi_app and len(child) == 1
        label = (f"app {child[0]}" if is_app else "blueprint " + ".".join(
            child[1:] if multi_app else child))
        with parent.subgraph(name=f"cluster_{'a' if is_app else 'b'}_{_slug(child)}") as c:
            c.attr(label=plain_label(label, align="left"), style="rounded",
                   color="#7b1fa2" if not is_app else "#424242",
                   **{"class": "app" if is_app else "blueprint"})
            _emit(c, child, scopes, tree, routes, endpoint_ids, drawn_endpoints, edges,
                  overlay, multi_app=multi_app)


def _slug(scope: tuple[str, ...]) -> str:
    """A cluster name part for a scope: its components' code points, so any name is safe."""
    return "_".join("x".join(f"{ord(ch):x}" for ch in part) or "0" for part in scope)


def _route(
    parent: graphviz.Digraph,
    position: int,
    route: Route,
    endpoint_ids: dict[tuple[str | None, str], str],
    drawn_endpoints: set[str],
    edges: list[tuple[str, str, dict[str, str]]],
    overlay: _Overlay,
) -> None:
    rule_id = f"r{position}"
    endpoint_id = endpoint_ids[(route.app, route.endpoint)]
    matched = overlay.matched == position
    rule_style = style.merge(
        {"class": "rule"},
        style.MATCHED_NODE if matched else None,
        style.NOT_ALLOWED_NODE if position in overlay.not_allowed else None,
    )
    parent.node(rule_id, label=plain_label(route.rule), **rule_style)
    edge = style.merge(
        {"class": "methods automatic" if route.automatic_methods else "methods"},
        style.MATCHED_EDGE if matched else None,
    )
    edge["label"] = plain_label(methods_label(route))
    edges.append((rule_id, endpoint_id, edge))
    if route.redirect_to is not None:
        target_id = f"t{position}"
        parent.node(target_id, label=plain_label(route.redirect_to),
                    **style.merge(style.REDIRECT_NODE, {"class": "redirect_to"}))
        edges.append((rule_id, target_id, {"label": plain_label("redirect_to"),
                                           "style": "dashed"}))
    if endpoint_id in drawn_endpoints:
        return
    drawn_endpoints.add(endpoint_id)
    parent.node(endpoint_id, label=plain_label(route.endpoint), shape="ellipse",
                **style.merge({"class": "endpoint"}, style.MATCHED_NODE if matched else None))
    if route.chain:
        chain_id = "c" + endpoint_id[1:]
        parent.node(chain_id, label=plain_label(chain_label(route.chain), align="left"),
                    **style.merge({"class": "chain"}, style.MATCHED_NODE if matched else None))
        edges.append((endpoint_id, chain_id,
                      style.merge({"class": "chain"},
                                  style.MATCHED_EDGE if matched else None)))


def _overlay(routes: Sequence[Route], request: Request) -> _Overlay:
    overlay = _Overlay()
    if request.rule is not None and request.endpoint is not None:
        overlay.matched = next(
            (i for i, r in enumerate(routes)
             if r.rule == request.rule and r.endpoint == request.endpoint),
            None,
        )
    match = _match_facts(request)
    if request.outcome == "method_not_allowed":
        rules = match.get("matched_rules")
        if isinstance(rules, list):
            overlay.not_allowed = [i for i, r in enumerate(routes) if r.rule in rules]
        else:  # recorded before the adapter named the rules: ask Werkzeug again
            overlay.not_allowed = routes_for_path(routes, request.path,
                                                  request.allowed_methods)
    if request.outcome == "not_found":
        for miss in match.get("near_misses") or ():
            position = next((i for i, r in enumerate(routes) if r.rule == miss.get("rule")
                             and r.endpoint == miss.get("endpoint")), None)
            if position is not None:
                overlay.near_misses.append((position, _miss_label(miss)))
    if request.outcome == "redirect" and request.redirect_to:
        overlay.redirect_target = routes_for_path(routes, request.redirect_to,
                                                  [request.method])
    index = StepIndex(request.steps)
    target = index.target()
    if target is not None:
        lines = [target.name, where(target.file, target.line)]
        if target.role == Role.LAYER:
            lines.append("answered without calling the view")
        result = index.result(target)
        error = index.raised(target)
        if error is not None:
            lines.append("raised " + clip(error, _VALUE_LIMIT))
        elif result is not None:
            lines.append("→ " + clip(result, _VALUE_LIMIT))
        overlay.handler_lines = lines
    return overlay


def _match_facts(request: Request) -> Mapping[str, Any]:
    """The facts of the request's URL-matching step ({} when it was not recorded)."""
    for step in request.steps:
        if step.kind == "call" and step.role == Role.MATCH:
            return step.facts
    return {}


def _miss_label(miss: Mapping[str, Any]) -> str:
    """Why a rule did not match: the reason, then its details, from the MATCH facts."""
    reason = str(miss.get("reason") or "no match").replace("_", " ")
    detail = miss.get("detail")
    if isinstance(detail, Mapping) and detail:
        shown = ", ".join(f"{key}: {_plain(value)}" for key, value in detail.items())
        return f"near miss: {reason}\n{clip(shown, _VALUE_LIMIT)}"
    if detail:
        return f"near miss: {reason}\n{clip(_plain(detail), _VALUE_LIMIT)}"
    return f"near miss: {reason}"


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _draw_request(
    graph: graphviz.Digraph,
    request: Request,
    routes: Sequence[Route],
    endpoint_ids: dict[tuple[str | None, str], str],
    overlay: _Overlay,
) -> None:
    target = request.path + (f"?{request.query}" if request.query else "")
    status = request.status if request.status is not None else "-"
    lines = [f"{request.method} {target}", f"→ {status} {request.outcome}"]
    for name, value in list(request.view_args.items())[:_VIEW_ARGS_SHOWN]:
        lines.append(f"{name} = {clip(str(value), _VALUE_LIMIT)}")
    node = style.merge({"class": "request"}, style.REQUEST_NODE)
    if request.outcome == "not_found":
        lines.append("matched no rule")
        node = style.merge(node, style.NO_MATCH_NODE)
    elif request.outcome == "method_not_allowed":
        lines.append("allowed: " + ", ".join(request.allowed_methods))
        node = style.merge(node, style.NOT_ALLOWED_NODE, {"shape": "cds"})
    elif request.outcome == "error":
        node = style.merge(node, style.RAISED)
    if request.error:
        lines.append("error: " + clip(request.error, _VALUE_LIMIT))
    for step in request.steps:
        if step.kind == "note" and step.role == Role.ERROR_HANDLER and step.facts.get("handler"):
            lines.append(f"handled by {step.facts['handler']}")
    graph.node("request", label=plain_label("\n".join(lines)), **node)

    if overlay.matched is not None:
        graph.edge("request", f"r{overlay.matched}", label=plain_label(request.method),
                   **style.MATCHED_EDGE)
        route = routes[overlay.matched]
        owner = endpoint_ids[(route.app, route.endpoint)]
        if overlay.handler_lines is not None:
            graph.node("handler", label=plain_label("\n".join(overlay.handler_lines)),
                       **style.HANDLER_NODE)
            graph.edge("c" + owner[1:] if route.chain else owner, "handler",
                       label=plain_label("ran"), **style.MATCHED_EDGE)
    for position, why in overlay.near_misses:
        graph.edge("request", f"r{position}", label=plain_label(why), **style.NEAR_MISS_EDGE)
    for position in overlay.not_allowed:
        allowed = ", ".join(request.allowed_methods)
        graph.edge("request", f"r{position}",
                   label=plain_label(f"{request.method} not allowed\nallowed: {allowed}"),
                   **style.NOT_ALLOWED_EDGE)
    if request.outcome == "redirect" and request.redirect_to:
        graph.node("redirect", label=plain_label(request.redirect_to), **style.REDIRECT_NODE)
        graph.edge("request", "redirect", label=plain_label(f"{status} redirect"),
                   **style.REDIRECT_EDGE)
        for position in overlay.redirect_target:
            graph.edge("redirect", f"r{position}", label=plain_label("then matches"),
                       **style.REDIRECT_EDGE)


def _caption(trace: Trace, request: Request | None) -> str:
    app = app_name(trace.meta)
    lines = [f"URL map{f' of {app}' if app else ''}: rule → endpoint → view chain "
             "(outermost first); (METHOD) = added by Flask"]
    if request is not None:
        lines.append(request_title(request))
    return "\n".join(lines)
