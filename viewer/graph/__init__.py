"""Graphviz exports of a trace: the call graph, the decorator onion and the route map.

Each builder is a pure function from model objects to a `graphviz.Digraph` (its `.source`
is the DOT text); only `flaskscope.graph_command` writes files or runs Graphviz's `dot`.
"""

from __future__ import annotations

from viewer.graph.calls import calls_graph, package_of
from viewer.graph.decorators import decorators_graph, entered_links
from viewer.graph.kinds import KINDS, build
from viewer.graph.labels import plain_label
from viewer.graph.routes import routes_graph
from viewer.graph.select import GraphError, filter_routes, pick_request

__all__ = [
    "KINDS",
    "GraphError",
    "build",
    "calls_graph",
    "decorators_graph",
    "entered_links",
    "filter_routes",
    "package_of",
    "pick_request",
    "plain_label",
    "routes_graph",
]
