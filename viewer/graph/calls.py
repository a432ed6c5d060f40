"""The call graph of one request: who called whom, how often, and the way to the handler.

A node per function (qualified name and `file:line`), grouped in clusters by where the code
lives: the app, Flask, Werkzeug, everything else. Edges go from caller to callee and are
labelled with the number of calls. The chain of calls from the WSGI entry point down to the
handler (or, when a decorator answered early, to the innermost layer reached) is bold.
"""

from __future__ import annotations

import re
import sysconfig
from collections import Counter
from pathlib import PurePath

import graphviz

from tracer.model import Request, Step, Trace
from viewer.graph import style
from viewer.graph.labels import app_name, clip, plain_label, source_excerpt, where
from viewer.graph.steps import StepIndex, readable
from viewer.render import request_title

PACKAGES = ("app", "flask", "werkzeug", "other")
_LIBRARY_DIRS = ("site-packages", "dist-packages")
_STDLIB = tuple(
    str(PurePath(p)) for p in {sysconfig.get_paths().get("stdlib"),
                                sysconfig.get_paths().get("platstdlib")} if p
)
_STDLIB_SHAPE = re.compile(r"[\\/]lib[\\/]python\d+(\.\d+)?[\\/]|[\\/]Lib[\\/]")
_RESULT_LIMIT = 48
#: Left to right keeps the deep chain down to the handler on one line; `newrank` ranks nodes
#: across clusters so callers stay left of callees.
_LAYOUT = {"rankdir": "LR", "newrank": "true"}

Key = tuple[str, str | None, int | None]


def package_of(file: str | None) -> str:
    """Which cluster a file belongs to, by its path alone.

    Installed libraries live under `site-packages`: `flask` and `werkzeug` get their own
    cluster, the rest go to "other" with the standard library and generated code. Any
    other file is the app's.
    """
    if not file or file.startswith("<"):
        return "other"
    parts = re.split(r"[\\/]", file)
    for marker in _LIBRARY_DIRS:
        if marker in parts:
            index = len(parts) - 1 - parts[::-1].index(marker)
            top = parts[index + 1] if index + 1 < len(parts) else ""
            return top if top in ("flask", "werkzeug") else "other"
    if file.startswith(_STDLIB) or _STDLIB_SHAPE.search(file):
        return "other"
    return "app"


def _top_name(file: str | None) -> str:
    """The top-level module of a file in "other", for that cluster's label."""
    if not file or file.startswith("<"):
        return "generated code"
    parts = re.split(r"[\\/]", file)
    for marker in _LIBRARY_DIRS:
        if marker in parts:
            index = len(parts) - 1 - parts[::-1].index(marker)
            top = parts[index + 1] if index + 1 < len(parts) else "?"
            return top.removesuffix(".py")
    return "stdlib"


def calls_graph(trace: Trace, request: Request) -> graphviz.Digraph:
    """The call graph of `request` (one of `trace.requests`).

    Args:
        trace: The recording the request belongs to (for source lines and versions).
        request: The request to draw.

    Returns:
        A `graphviz.Digraph`; `.source` is its DOT text.
    """
    request = readable(request)
    index = StepIndex(request.steps)
    calls = index.calls()
    keys: dict[Key, str] = {}
    first: dict[Key, Step] = {}
    count: Counter[Key] = Counter()
    raised: dict[Key, str] = {}
    edges: Counter[tuple[Key, Key]] = Counter()
    for step in calls:
        key = (step.name, step.file, step.line)
        if key not in keys:
            keys[key] = f"f{len(keys)}"
            first[key] = step
        count[key] += 1
        error = index.raised(step)
        if error is not None:
            raised.setdefault(key, error)
        caller = index.caller(step)
        if caller is not None:
            edges[(caller.name, caller.file, caller.line), key] += 1

    target = index.target()
    path = index.path_to(target) if target is not None else []
    path_keys = [(s.name, s.file, s.line) for s in path]
    path_nodes = set(path_keys)
    path_edges = set(zip(path_keys, path_keys[1:], strict=False))
    target_key = path_keys[-1] if path_keys else None

    graph = graphviz.Digraph(name="calls", graph_attr={**style.GRAPH, **_LAYOUT},
                             node_attr=style.NODE, edge_attr=style.EDGE)
    caption = request_title(request)
    if target is not None:
        caption += f"\nbold: the way from {path[0].name if path else '?'} to {target.name}"
    graph.attr(label=plain_label(caption, align="left"))

    by_package: dict[str, list[Key]] = {name: [] for name in PACKAGES}
    for key in keys:
        by_package[package_of(key[1])].append(key)
    for number, package in enumerate(PACKAGES):
        members = by_package[package]
        if not members:
            continue
        with graph.subgraph(name=f"cluster_{number}_{package}") as cluster:
            cluster.attr(label=plain_label(_cluster_label(trace, package, members)),
                         **{"class": f"package-{package}"}, **style.PLAIN_CLUSTER)
            for key in members:
                step = first[key]
                lines = [key[0], where(key[1], key[2])]
                if step.role:
                    lines.append(f"[{step.role}]")
                if key == target_key:
                    result = index.result(target) if target is not None else None
                    if result is not None:
                        lines.append("→ " + clip(result, _RESULT_LIMIT))
                if key in raised:
                    lines.append("raised " + clip(raised[key], _RESULT_LIMIT))
                tooltip = source_excerpt(trace.sources, key[1], key[2]) or key[0]
                attrs = style.merge(
                    style.PATH_NODE if key in path_nodes else None,
                    style.RAISED if key in raised else None,
                )
                cluster.node(keys[key], label=plain_label("\n".join(lines)),
                             tooltip=plain_label(tooltip), **attrs)

    for (tail, head), number in edges.items():
        attrs = style.merge(style.PATH_EDGE if (tail, head) in path_edges else None)
        calls_text = "call" if number == 1 else "calls"
        graph.edge(keys[tail], keys[head], label=str(number),
                   tooltip=plain_label(f"{tail[0]} → {head[0]}: {number} {calls_text}"),
                   **attrs)
    return graph


def _cluster_label(trace: Trace, package: str, members: list[Key]) -> str:
    if package == "app":
        app = app_name(trace.meta)
        return f"app ({app})" if app else "app"
    if package in ("flask", "werkzeug"):
        version = trace.meta.get(package)
        return f"{package} {version}" if version else package
    tops = sorted({_top_name(key[1]) for key in members})
    return "other: " + ", ".join(tops)
