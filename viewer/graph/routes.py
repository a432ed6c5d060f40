"""The URL map: rule → endpoint → view chain, blueprints as clusters, a request overlaid.

Each rule is a node with an edge to its endpoint labelled with the rule's methods; the
methods Flask added by itself (HEAD for GET, OPTIONS) are in parentheses, as in
`flaskscope routes`. Each endpoint leads to one node listing its view chain, outermost
first. Blueprints (nested ones inside their parent) are clusters.

The map reads like a table: one row per rule, top to bottom in the URL map's order (the
order endpoints were registered; Werkzeug keeps the rules of one endpoint together), the
rule, its endpoint and its chain side by side on the row. An endpoint shared by several
rules sits on the row of the first one; the others have rows of their own and an edge up
to it. A blueprint's rows stay together in its cluster, where its first rule falls.

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

from tracer.model import ChainLink, Request, Role, Route, Trace
from viewer.chain_text import chain_lines, default_label
from viewer.graph import style
from viewer.graph.labels import app_name, clip, plain_label, where
from viewer.graph.rematch import refused_routes, routes_for_path
from viewer.graph.steps import StepIndex, match_facts, readable
from viewer.render import request_title

#: Top to bottom, one rank per row: a rule, then its endpoint and chain, side by side.
_LAYOUT = {"newrank": "true", "ranksep": "0.12", "nodesep": "0.3"}
#: Invisible edges from each row's first node to the next row's: they put the rows in order
#: and, weighing more than a drawn edge, keep the column of rules straight. (Tying endpoints
#: and chains the same way makes `dot` several times slower on a big map.)
_ROW_ORDER = {"style": "invis", "weight": "10"}
_VALUE_LIMIT = 48
_VIEW_ARGS_SHOWN = 6

_Scope = tuple[str, ...]
_Edge = tuple[str, str, dict[str, str]]


@dataclass
class _Overlay:
    """What a request adds to the map, by route position."""

    matched: int | None = None
    not_allowed: list[int] = field(default_factory=list)
    near_misses: list[tuple[int, str]] = field(default_factory=list)
    redirect_target: list[int] = field(default_factory=list)
    handler_lines: list[str] | None = None


@dataclass
class _Map:
    """The map being drawn: its nodes are laid out in rows, one row per rule.

    Each row is one rank (`rank=same`, the graph running top to bottom), so a rule, its
    endpoint and its view chain share a y coordinate by construction, whatever Graphviz's
    crossing minimisation decides; invisible edges chain the rows in the order drawn.
    (Left to right with a column per kind, the order of the rows and the level of the edges
    were up to Graphviz: rows came out reversed and drifted off their endpoints.)
    """

    graph: graphviz.Digraph
    routes: Sequence[Route]
    overlay: _Overlay
    endpoint_ids: dict[tuple[str | None, str], str]
    rows: list[list[str]] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)

    def add_row(self, *nodes: str) -> None:
        """A new row below the others."""
        self.rows.append([])
        self.join(len(self.rows) - 1, *nodes)

    def add_top_row(self, *nodes: str) -> None:
        """A new row above the others."""
        self.rows.insert(0, [])
        self.row_of = {node: row + 1 for node, row in self.row_of.items()}
        self.join(0, *nodes)

    def join(self, row: int, *nodes: str) -> None:
        self.rows[row].extend(nodes)
        self.row_of.update(dict.fromkeys(nodes, row))

    def finish(self) -> None:
        """Draw the collected edges, then pin each row to a rank and the rows in order."""
        for tail, head, attrs in self.edges:
            self.graph.edge(tail, head, **attrs)
        for row in self.rows:
            if len(row) > 1:
                with self.graph.subgraph(graph_attr={"rank": "same"}) as rank:
                    for node in row:
                        rank.node(node)
        first = [row[0] for row in self.rows]
        with self.graph.subgraph(edge_attr=_ROW_ORDER) as order:
            order.edges(zip(first, first[1:], strict=False))


def routes_graph(
    trace: Trace,
    routes: Sequence[Route] | None = None,
    request: Request | None = None,
) -> graphviz.Digraph:
    """The route map of `routes` (default: all the trace's routes), `request` overlaid.

    One row per rule, in the order of `routes`, beside its endpoint and view chain.

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
    drawing = _Map(graph, routes, overlay, endpoint_ids)
    multi_app = len({route.app or "" for route in routes}) > 1
    tree = _scope_tree(routes, multi_app=multi_app)
    _emit(drawing, graph, (), tree, multi_app=multi_app)
    if request is not None:
        _draw_request(drawing, request)
    drawing.finish()
    return graph


def methods_label(route: Route) -> str:
    """The methods of a rule, explicit ones first, Flask's automatic ones in parentheses."""
    explicit = [m for m in route.methods if m not in route.automatic_methods]
    automatic = [f"({m})" for m in route.methods if m in route.automatic_methods]
    return ", ".join(explicit + automatic)


def chain_label(chain: Sequence[ChainLink]) -> str:
    """The view chain outermost first, one callable per line (each of several handler
    methods on its own line, with its layers)."""
    return "\n".join(chain_lines(chain, _noted_label))


def _noted_label(link: ChainLink) -> str:
    text = default_label(link)
    notes = []
    if link.origin == "class_decorators":
        notes.append("class decorator")
    if link.wraps is False:
        notes.append("no functools.wraps")
    return f"{text}  ({', '.join(notes)})" if notes else text


def _scope_tree(routes: Sequence[Route], *, multi_app: bool) -> dict[_Scope, list[int]]:
    """Route positions by scope: (app,)? + the blueprint's dotted name split."""
    tree: dict[_Scope, list[int]] = {}
    for position, route in enumerate(routes):
        scope = (route.app or "",) if multi_app else ()
        parts = tuple(route.blueprint.split(".")) if route.blueprint else ()
        tree.setdefault(scope + parts, []).append(position)
    return tree


def _scope_items(tree: dict[_Scope, list[int]], scope: _Scope) -> list[int | _Scope]:
    """The routes of `scope` and its child scopes, each where its first rule was registered.

    A child scope (a blueprint) becomes one cluster, so its rows stay together; placing it
    by its first rule keeps the whole map in registration order whenever each blueprint's
    rules were registered together, which is what `register_blueprint` does.
    """
    depth = len(scope)
    first: dict[_Scope, int] = {}
    for inner, positions in tree.items():
        if len(inner) > depth and inner[:depth] == scope:
            child = inner[: depth + 1]
            first[child] = min(first.get(child, positions[0]), positions[0])
    keyed: list[tuple[int, int | _Scope]] = [(p, p) for p in tree.get(scope, [])]
    keyed += [(position, child) for child, position in first.items()]
    return [item for _, item in sorted(keyed, key=lambda pair: pair[0])]


def _emit(
    drawing: _Map,
    parent: graphviz.Digraph,
    scope: _Scope,
    tree: dict[_Scope, list[int]],
    *,
    multi_app: bool,
) -> None:
    """Draw the routes of `scope` in `parent` and each child scope as a cluster, in order."""
    for item in _scope_items(tree, scope):
        if isinstance(item, int):
            _route(drawing, parent, item)
            continue
        is_app = multi_app and len(item) == 1
        label = (f"app {item[0]}" if is_app else "blueprint " + ".".join(
            item[1:] if multi_app else item))
        with parent.subgraph(name=f"cluster_{'a' if is_app else 'b'}_{_slug(item)}") as c:
            c.attr(label=plain_label(label, align="left"), style="rounded",
                   color="#7b1fa2" if not is_app else "#424242",
                   **{"class": "app" if is_app else "blueprint"})
            _emit(drawing, c, item, tree, multi_app=multi_app)


def _slug(scope: _Scope) -> str:
    """A cluster name part for a scope: its components' code points, so any name is safe."""
    return "_".join("x".join(f"{ord(ch):x}" for ch in part) or "0" for part in scope)


def _route(drawing: _Map, parent: graphviz.Digraph, position: int) -> None:
    """One row: the rule, and the first time an endpoint is named, the endpoint and chain.

    A rule whose endpoint is already drawn (`/a` and `/a/<int:x>` both → `a`) keeps a row
    of its own and an edge to the endpoint's row, so no later row shifts.
    """
    route = drawing.routes[position]
    overlay = drawing.overlay
    rule_id = f"r{position}"
    endpoint_id = drawing.endpoint_ids[(route.app, route.endpoint)]
    matched = overlay.matched == position
    rule_style = style.merge(
        {"class": "rule"},
        style.MATCHED_NODE if matched else None,
        style.NOT_ALLOWED_NODE if position in overlay.not_allowed else None,
    )
    parent.node(rule_id, label=plain_label(route.rule), **rule_style)
    drawing.add_row(rule_id)
    edge = style.merge(
        {"class": "methods automatic" if route.automatic_methods else "methods"},
        style.MATCHED_EDGE if matched else None,
    )
    edge["label"] = plain_label(methods_label(route))
    drawing.edges.append((rule_id, endpoint_id, edge))
    if endpoint_id not in drawing.row_of:
        _endpoint(drawing, parent, route, endpoint_id)
    if route.redirect_to is not None:
        target_id = f"t{position}"
        parent.node(target_id, label=plain_label(route.redirect_to),
                    **style.merge(style.REDIRECT_NODE, {"class": "redirect_to"}))
        drawing.join(drawing.row_of[rule_id], target_id)
        drawing.edges.append((rule_id, target_id, {"label": plain_label("redirect_to"),
                                                   "style": "dashed"}))


def _endpoint(drawing: _Map, parent: graphviz.Digraph, route: Route, endpoint_id: str) -> None:
    """The endpoint and its view chain, on the row of the rule that names it first;
    highlighted when the request matched any of the endpoint's rules."""
    row = len(drawing.rows) - 1
    matched_at = drawing.overlay.matched
    matched = matched_at is not None and drawing.endpoint_ids[
        (drawing.routes[matched_at].app, drawing.routes[matched_at].endpoint)] == endpoint_id
    parent.node(endpoint_id, label=plain_label(route.endpoint), shape="ellipse",
                **style.merge({"class": "endpoint"}, style.MATCHED_NODE if matched else None))
    drawing.join(row, endpoint_id)
    if not route.chain:
        return
    chain_id = "c" + endpoint_id[1:]
    parent.node(chain_id, label=plain_label(chain_label(route.chain), align="left"),
                **style.merge({"class": "chain"}, style.MATCHED_NODE if matched else None))
    drawing.join(row, chain_id)
    drawing.edges.append((endpoint_id, chain_id,
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
    overlay.not_allowed = refused_routes(routes, request)
    if request.outcome == "not_found":
        for miss in match_facts(request).get("near_misses") or ():
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


#: The keys of a near miss's detail that say why a converter refused: a line of their own.
_REFUSAL_KEYS = frozenset({"pattern", "refused_by", "arguments"})


def _miss_label(miss: Mapping[str, Any]) -> str:
    """Why a rule did not match: the reason, then its details, from the MATCH facts."""
    reason = str(miss.get("reason") or "no match").replace("_", " ")
    detail = miss.get("detail")
    if isinstance(detail, Mapping) and detail:
        shown = ", ".join(f"{key}: {_plain(value)}" for key, value in detail.items()
                          if key not in _REFUSAL_KEYS)
        label = f"near miss: {reason}\n{clip(shown, _VALUE_LIMIT)}"
        refusal = _refusal(detail)
        return f"{label}\n{clip(refusal, _VALUE_LIMIT)}" if refusal else label
    if detail:
        return f"near miss: {reason}\n{clip(_plain(detail), _VALUE_LIMIT)}"
    return f"near miss: {reason}"


def _refusal(detail: Mapping[str, Any]) -> str | None:
    """`refused by pattern \\d+`, or `refused by to_python (pattern \\d+)`."""
    by, pattern = detail.get("refused_by"), detail.get("pattern")
    if by == "pattern":
        return f"refused by pattern {_plain(pattern)}"
    if by == "to_python":
        return f"refused by to_python (pattern {_plain(pattern)})"
    return None


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _draw_request(drawing: _Map, request: Request) -> None:
    """The request beside the first rule its resolution reached, and its edges to them."""
    graph, overlay, routes = drawing.graph, drawing.overlay, drawing.routes
    graph.node("request", label=plain_label("\n".join(_request_lines(request))),
               **_request_style(request))
    row = _request_row(drawing)
    if row is None:  # the request reached no drawn rule: a row of its own, on top
        drawing.add_top_row("request")
        row = 0
    else:
        drawing.join(row, "request")
    if overlay.matched is not None:
        drawing.edges.append(("request", f"r{overlay.matched}",
                              {"label": plain_label(request.method), **style.MATCHED_EDGE}))
        route = routes[overlay.matched]
        owner = drawing.endpoint_ids[(route.app, route.endpoint)]
        if overlay.handler_lines is not None:
            graph.node("handler", label=plain_label("\n".join(overlay.handler_lines)),
                       **style.HANDLER_NODE)
            tail = "c" + owner[1:] if route.chain else owner
            drawing.join(drawing.row_of[tail], "handler")
            drawing.edges.append((tail, "handler",
                                  {"label": plain_label("ran"), **style.MATCHED_EDGE}))
    for position, why in overlay.near_misses:
        drawing.edges.append(("request", f"r{position}",
                              {"label": plain_label(why), **style.NEAR_MISS_EDGE}))
    allowed = ", ".join(request.allowed_methods)
    for position in overlay.not_allowed:
        label = plain_label(f"{request.method} not allowed\nallowed: {allowed}")
        drawing.edges.append(("request", f"r{position}",
                              {"label": label, **style.NOT_ALLOWED_EDGE}))
    if request.outcome == "redirect" and request.redirect_to:
        _draw_redirect(drawing, request, row)


def _request_lines(request: Request) -> list[str]:
    target = request.path + (f"?{request.query}" if request.query else "")
    status = request.status if request.status is not None else "-"
    lines = [f"{request.method} {target}", f"→ {status} {request.outcome}"]
    for name, value in list(request.view_args.items())[:_VIEW_ARGS_SHOWN]:
        lines.append(f"{name} = {clip(str(value), _VALUE_LIMIT)}")
    if request.outcome == "not_found":
        lines.append("matched no rule")
    elif request.outcome == "method_not_allowed":
        lines.append("allowed: " + ", ".join(request.allowed_methods))
    if request.error:
        lines.append("error: " + clip(request.error, _VALUE_LIMIT))
    for step in request.steps:
        if step.kind == "note" and step.role == Role.ERROR_HANDLER and step.facts.get("handler"):
            lines.append(f"handled by {step.facts['handler']}")
    return lines


def _request_style(request: Request) -> dict[str, str]:
    node = style.merge({"class": "request"}, style.REQUEST_NODE)
    if request.outcome == "not_found":
        return style.merge(node, style.NO_MATCH_NODE)
    if request.outcome == "method_not_allowed":
        return style.merge(node, style.NOT_ALLOWED_NODE, {"shape": "cds"})
    if request.outcome == "error":
        return style.merge(node, style.RAISED)
    return node


def _request_row(drawing: _Map) -> int | None:
    """The top-most row among the rules the request reached (matched, refused, near
    missed, redirected to), so its first edge is level and the rest fan out below."""
    overlay = drawing.overlay
    reached = [overlay.matched] if overlay.matched is not None else []
    reached += overlay.not_allowed + [position for position, _ in overlay.near_misses]
    reached += overlay.redirect_target
    rows = [drawing.row_of[f"r{position}"] for position in reached]
    return min(rows) if rows else None


def _draw_redirect(drawing: _Map, request: Request, row: int) -> None:
    """The redirect's target URL between the request and the rule the target reaches."""
    status = request.status if request.status is not None else "-"
    drawing.graph.node("redirect", label=plain_label(request.redirect_to or ""),
                       **style.REDIRECT_NODE)
    drawing.join(row, "redirect")
    drawing.edges.append(("request", "redirect",
                          {"label": plain_label(f"{status} redirect"), **style.REDIRECT_EDGE}))
    for position in drawing.overlay.redirect_target:
        drawing.edges.append(("redirect", f"r{position}",
                              {"label": plain_label("then matches"), **style.REDIRECT_EDGE}))


def _caption(trace: Trace, request: Request | None) -> str:
    app = app_name(trace.meta)
    lines = [f"URL map{f' of {app}' if app else ''}: rule → endpoint → view chain "
             "(outermost first); (METHOD) = added by Flask"]
    if request is not None:
        lines.append(request_title(request))
    return "\n".join(lines)
