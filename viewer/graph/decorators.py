"""The decorator onion of each endpoint: what wraps what, outermost first.

Every layer of `Route.chain` is a node inside its own cluster, and the cluster of a layer
holds everything it wraps, so the drawing nests like the code runs: outermost decorator →
… → innermost decorator → the view function. For a view class (`as_view`) the nesting goes
on: the generated view → the view class → `dispatch_request` → the handler methods.

With a request for one of the endpoints, each layer is styled as entered (filled) or never
entered (dashed): a decorator that answers early leaves everything inside it dashed. A 405
reached a route but no view: the endpoints of the rules its URL matched are drawn with
every layer dashed, and the caption says which rules matched and which methods they allow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import graphviz

from tracer.model import ChainLink, Request, Role, Route, Trace
from viewer.chain_text import split_positions
from viewer.graph import style
from viewer.graph.labels import app_name, plain_label, source_excerpt, where
from viewer.graph.rematch import refused_routes
from viewer.graph.steps import StepIndex, readable
from viewer.layer_names import made_by
from viewer.render import request_title

_CLASS_DECORATORS = "class_decorators"


def decorators_graph(
    trace: Trace,
    routes: Sequence[Route] | None = None,
    request: Request | None = None,
) -> graphviz.Digraph:
    """One onion per endpoint of `routes` (default: all of the trace's routes).

    Args:
        trace: The recording (for source lines in tooltips).
        routes: The routes whose endpoints to draw; endpoints shared by several rules are
            drawn once.
        request: A request whose path through its endpoint's layers is overlaid.

    Returns:
        A `graphviz.Digraph`; `.source` is its DOT text.
    """
    routes = trace.routes if routes is None else routes
    request = readable(request) if request is not None else None
    endpoints: dict[tuple[str | None, str], list[Route]] = {}
    for route in routes:
        endpoints.setdefault((route.app, route.endpoint), []).append(route)
    several_apps = len({app for app, _ in endpoints}) > 1
    refused = [routes[i] for i in refused_routes(routes, request)] if request else []

    graph = graphviz.Digraph(name="decorators", graph_attr=style.GRAPH, node_attr=style.NODE,
                             edge_attr=style.EDGE)
    graph.attr(label=plain_label(_caption(trace, request, endpoints, refused), align="left"))
    for number, ((app, endpoint), members) in enumerate(endpoints.items()):
        chain = members[0].chain
        entered = None
        if request is not None and request.endpoint == endpoint:
            entered = entered_links(chain, request)
        elif any((route.app, route.endpoint) == (app, endpoint) for route in refused):
            entered = [False] * len(chain)  # the route exists, but a 405 runs none of it
        prefix = f"e{number}"
        with graph.subgraph(name=f"cluster_{prefix}") as cluster:
            rules = ", ".join(route.rule for route in members)
            title = f"endpoint {endpoint}" + (f" (app {app})" if several_apps else "")
            cluster.attr(label=plain_label(f"{title}\n{rules}", align="left"),
                         **{"class": "endpoint"}, style="rounded,bold", color="#424242")
            levels, follows = _levels(chain)
            if not levels:
                cluster.node(f"{prefix}_none", label=plain_label("no view recorded"),
                             shape="plaintext")
                continue
            edges: list[tuple[str, str, dict[str, str]]] = []
            _nest(trace, cluster, edges, (levels, follows), 0, prefix, chain, entered)
        for tail, head, attrs in edges:
            graph.edge(tail, head, **attrs)
    return graph


def entered_links(chain: Sequence[ChainLink], request: Request) -> list[bool]:
    """For each link of `chain`, whether `request` ran it.

    A link ran iff a call step under the dispatch has the link's (file, line): both are the
    function's first line. The same code wrapping twice (`@log @log`) is entered as many
    times as it was called, outermost first. A view class counts as entered when it was
    instantiated or one of its methods ran.
    """
    index = StepIndex(request.steps)
    calls = index.calls()
    dispatch = next((s for s in calls if s.role == Role.DISPATCH), None)
    if dispatch is not None:
        inside = {dispatch.id}
        for step in index.steps:
            if step.parent in inside:
                inside.add(step.id)
        calls = [s for s in calls if s.id in inside]
    remaining = Counter((s.file, s.line) for s in calls)
    instantiated = {
        s.facts.get("view_class") for s in index.steps
        if s.kind == "note" and s.role == Role.VIEW_INSTANCE
    }
    entered = []
    for link in chain:
        key = (link.file, link.line)
        if link.kind != "view_class" and link.file and remaining[key] > 0:
            remaining[key] -= 1
            entered.append(True)
        else:
            entered.append(False)
    for position, link in enumerate(chain):
        if link.kind == "view_class":
            methods_ran = any(
                entered[i] for i in range(position + 1, len(chain)) if chain[i].kind == "method"
            )
            entered[position] = link.qualname in instantiated or methods_ran
    return entered


def _levels(chain: Sequence[ChainLink]) -> tuple[list[list[int]], dict[int, int]]:
    """Chain positions grouped by nesting depth: one link per level, except the handler
    methods a request picks one of (`chain_text.split_positions`), side by side in the
    innermost level with the decorators on each alone; `follows` maps each of those to
    the decorator that calls it."""
    shared, handlers = split_positions(chain)
    levels = [[position] for position in shared]
    follows: dict[int, int] = {}
    if handlers:
        levels.append([position for group in handlers for position in group])
        for group in handlers:
            follows.update(zip(group[1:], group[:-1], strict=True))
    return levels, follows


def _nest(
    trace: Trace,
    parent: graphviz.Digraph,
    edges: list[tuple[str, str, dict[str, str]]],
    nesting: tuple[list[list[int]], dict[int, int]],
    depth: int,
    prefix: str,
    chain: Sequence[ChainLink],
    entered: list[bool] | None,
) -> None:
    """Draw level `depth` inside `parent`: its own cluster unless it is the innermost.

    Edges into the level are collected in `edges` and drawn after the clusters, so each
    node is declared in its cluster before an edge names it. A handler method's own
    decorator is the only way in to what it wraps (`follows`).
    """
    levels, follows = nesting
    level = levels[depth]
    innermost = depth == len(levels) - 1
    if innermost:
        _level_nodes(trace, parent, level, prefix, chain, entered)
    else:
        with parent.subgraph(name=f"cluster_{prefix}_l{depth}") as cluster:
            link = chain[level[0]]
            cluster_style = style.PLAIN_CLUSTER
            if entered is not None:
                cluster_style = (style.ENTERED_CLUSTER if entered[level[0]]
                                 else style.NOT_ENTERED_CLUSTER)
            cluster.attr(label=plain_label(_cluster_label(chain, level[0])),
                         **style.merge({"class": f"layer {link.kind}"}, cluster_style))
            _level_nodes(trace, cluster, level, prefix, chain, entered)
            _nest(trace, cluster, edges, nesting, depth + 1, prefix, chain, entered)
    for head in level:
        tails = [follows[head]] if head in follows else levels[depth - 1] if depth else []
        for tail in tails:
            attrs: dict[str, str] = {}
            if chain[head].kind == "view_class":
                attrs["label"] = plain_label("instantiates")
            if entered is not None:
                attrs.update(style.PATH_EDGE if entered[tail] and entered[head]
                             else {"style": "dashed", "color": "#9e9e9e"})
            edges.append((f"{prefix}_{tail}", f"{prefix}_{head}", attrs))


def _level_nodes(
    trace: Trace,
    parent: graphviz.Digraph,
    level: list[int],
    prefix: str,
    chain: Sequence[ChainLink],
    entered: list[bool] | None,
) -> None:
    for position in level:
        link = chain[position]
        overlay = None
        if entered is not None:
            overlay = style.ENTERED_NODE if entered[position] else style.NOT_ENTERED_NODE
        attrs = style.merge({"class": link.kind}, overlay)
        if link.wraps is False:
            attrs = style.merge(attrs, {"class": "no-wraps"}, style.NO_WRAPS)
        if link.kind == "view_class":
            shape = [part for part in attrs.get("style", "").split(",")
                     if part and part != "rounded"]
            attrs.update(shape="box3d", style=",".join(shape) or "solid")
        tooltip = source_excerpt(trace.sources, link.file, link.line) or link.qualname
        parent.node(f"{prefix}_{position}", label=plain_label(_node_label(chain, position)),
                    tooltip=plain_label(tooltip), **attrs)


def _node_label(chain: Sequence[ChainLink], position: int) -> str:
    link = chain[position]
    name = f"class {link.qualname}" if link.kind == "view_class" else link.qualname
    lines = [name, where(link.file, link.line)]
    if link.kind == "decorator":
        maker = made_by(chain, position)
        if maker:
            lines.append(f"made by {maker}")
        if link.origin == _CLASS_DECORATORS:
            lines.append("from the view class's decorators")
        if link.wraps is False:
            lines.append("no functools.wraps")
    return "\n".join(lines)


def _cluster_label(chain: Sequence[ChainLink], position: int) -> str:
    link = chain[position]
    if link.kind == "decorator":
        maker = made_by(chain, position) or f"layer {link.name}"
        if link.origin == _CLASS_DECORATORS:
            return f"{maker} (view class decorators)"
        return maker
    if link.kind == "view":
        has_class = any(other.kind == "view_class" for other in chain)
        return f"view {link.name!r} made by as_view" if has_class else f"view {link.name}"
    if link.kind == "view_class":
        return f"class {link.qualname}"
    return f"{link.name} ({link.qualname.rpartition('.')[0] or link.qualname})"


def _caption(
    trace: Trace,
    request: Request | None,
    endpoints: dict[tuple[str | None, str], list[Route]],
    refused: Sequence[Route],
) -> str:
    app = app_name(trace.meta)
    lines = [f"decorator layers, outermost first{f' ({app})' if app else ''}"]
    if request is not None:
        lines.append(request_title(request))
        if request.outcome == "method_not_allowed":
            lines += _not_allowed_lines(request, refused)
        elif request.endpoint is None:
            lines.append("the request reached no endpoint, so no layer ran")
        elif request.endpoint not in {endpoint for _, endpoint in endpoints}:
            lines.append(f"its endpoint {request.endpoint} is not drawn")
        else:
            lines.append("filled: entered by this request; dashed: never entered")
    return "\n".join(lines)


def _not_allowed_lines(request: Request, refused: Sequence[Route]) -> list[str]:
    """What a 405 means for the onion: the URL matched a route, the method did not, so the
    view and its layers never ran (a 405 has no endpoint, which is not "no route")."""
    rules = list(dict.fromkeys(route.rule for route in refused))
    if rules:
        matched = ("rule " if len(rules) == 1 else "rules ") + ", ".join(rules)
    else:
        matched = "a rule"
    allowed = ", ".join(request.allowed_methods) or "none recorded"
    return [
        f"the route exists: {request.path} matched {matched}, but {request.method} is not "
        f"allowed there (allowed: {allowed})",
        "so no view ran: every layer is dashed, never entered",
    ]
