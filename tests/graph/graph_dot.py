"""Read DOT text back into plain structures, so graph tests assert on what was drawn.

`parse` uses pydot (no Graphviz binary needed). Labels are decoded the way Graphviz
decodes an escString, strictly: an escape other than `\\\\`, `\\"`, `\\n`, `\\l`, `\\r`
fails the test, because Graphviz would have replaced it with something else (`\\N` with
the node name, ...). `svg_texts` renders with the real `dot` and returns the text lines
it drew; `layout` returns where `dot` put each node.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import pydot
import pytest

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz's `dot` program is not installed (apt-get install graphviz); "
           "CI installs it",
)


def unquote(value: str | None) -> str | None:
    """An attribute value as DOT holds it, without the quotes (escapes kept)."""
    if value is None:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def decode_label(value: str | None) -> str | None:
    """The text Graphviz shows for a quoted escString attribute value."""
    assert value is None or not value.startswith("<"), f"an HTML label: {value!r}"
    raw = unquote(value)
    if raw is None:
        return None
    out = []
    index = 0
    ends_left_aligned = False
    while index < len(raw):
        char = raw[index]
        ends_left_aligned = False
        if char != "\\":
            out.append(char)
            index += 1
            continue
        assert index + 1 < len(raw), f"dangling backslash in {raw!r}"
        nxt = raw[index + 1]
        if nxt in ('"', "\\"):
            out.append(nxt)
        elif nxt in "nlr":
            out.append("\n")
            ends_left_aligned = nxt == "l"
        else:
            raise AssertionError(f"Graphviz would interpret \\{nxt} in {raw!r}")
        index += 2
    text = "".join(out)
    if ends_left_aligned:  # a left-aligned label ends its last line with \l
        text = text[:-1]
    return text


@dataclass
class Parsed:
    """A parsed digraph: attributes unquoted, labels decoded, cluster nesting known; the nodes
    of each subgraph that is not a cluster (`rank=same` groups) are in `ranks`, and edges
    drawn `style=invis` (layout constraints) in `invisible`, not in `edges`."""

    attrs: dict[str, str]
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    node_cluster: dict[str, str | None] = field(default_factory=dict)
    clusters: dict[str, dict[str, str]] = field(default_factory=dict)
    cluster_parent: dict[str, str | None] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)
    invisible: list[tuple[str, str]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.attrs.get("label", "")

    def node_label(self, name: str) -> str:
        return self.nodes[name].get("label", name)

    def classes(self, name: str) -> set[str]:
        return set(self.nodes[name].get("class", "").split())

    def nodes_where(self, first_line: str) -> list[str]:
        """Nodes whose label's first line is `first_line`."""
        return [n for n in self.nodes if self.node_label(n).split("\n")[0] == first_line]

    def node(self, first_line: str) -> str:
        found = self.nodes_where(first_line)
        assert len(found) == 1, (first_line, found, [self.node_label(n) for n in self.nodes])
        return found[0]

    def clusters_of(self, name: str) -> list[str]:
        """The clusters holding node `name`, innermost first."""
        chain = []
        cluster = self.node_cluster.get(name)
        while cluster is not None:
            chain.append(cluster)
            cluster = self.cluster_parent[cluster]
        return chain

    def edge(self, tail: str, head: str) -> dict[str, str]:
        found = [attrs for t, h, attrs in self.edges if (t, h) == (tail, head)]
        assert len(found) == 1, (tail, head, found)
        return found[0]

    def edge_pairs(self) -> set[tuple[str, str]]:
        return {(t, h) for t, h, _ in self.edges}


def _attributes(obj) -> dict[str, str]:
    attrs = {}
    for key, value in obj.get_attributes().items():
        if key in ("label", "tooltip", "xlabel"):
            attrs[key] = decode_label(value)
        else:
            attrs[key] = unquote(value)
    return attrs


def parse(source: str) -> Parsed:
    """Parse DOT text with pydot; fails the test when pydot cannot read it."""
    with warnings.catch_warnings():
        # pydot 4 still calls pyparsing's camelCase names, deprecated in pyparsing 3.3.
        warnings.filterwarnings("ignore", "'\\w+' deprecated - use", DeprecationWarning)
        graphs = pydot.graph_from_dot_data(source)
    assert graphs and len(graphs) == 1, "the DOT text did not parse"
    root = graphs[0]
    parsed = Parsed(attrs=_attributes(root))

    def walk(graph, cluster: str | None, inherited: dict[str, str] | None = None) -> None:
        edge_defaults = dict(inherited or {})
        for defaults in graph.get_edge_defaults():
            edge_defaults.update({key: unquote(value) for key, value in defaults.items()})
        for node in graph.get_nodes():
            name = unquote(node.get_name())
            if name in ("graph", "node", "edge"):
                continue
            parsed.nodes.setdefault(name, {}).update(_attributes(node))
            if name not in parsed.node_cluster or cluster is not None:
                parsed.node_cluster[name] = cluster
        for edge in graph.get_edges():
            tail, head = unquote(edge.get_source()), unquote(edge.get_destination())
            attrs = {**edge_defaults, **_attributes(edge)}
            if attrs.get("style") == "invis":  # layout only: not drawn, so not an edge here
                parsed.invisible.append((tail, head))
                continue
            parsed.edges.append((tail, head, attrs))
            for end in (tail, head):
                parsed.nodes.setdefault(end, {})
                parsed.node_cluster.setdefault(end, None)
        for sub in graph.get_subgraphs():
            name = unquote(sub.get_name())
            if not name.startswith("cluster"):  # e.g. a `rank=same` group: no box drawn
                members = [unquote(n.get_name()) for n in sub.get_nodes()]
                members = [m for m in members if m not in ("graph", "node", "edge")]
                if members:
                    parsed.ranks.append(members)
                walk(sub, cluster, edge_defaults)
                continue
            parsed.clusters[name] = _attributes(sub)
            parsed.cluster_parent[name] = cluster
            walk(sub, name, edge_defaults)

    walk(root, None)
    return parsed


def svg_texts(source: str) -> list[str]:
    """The text lines `dot -Tsvg` draws for `source` (labels and tooltips not included)."""
    svg = subprocess.run(["dot", "-Tsvg"], input=source.encode("utf-8"), capture_output=True,
                         check=True).stdout
    root = ET.fromstring(svg)
    texts = []
    for element in root.iter("{http://www.w3.org/2000/svg}text"):
        texts.append("".join(element.itertext()).replace("\xa0", " "))
    return texts


def layout(source: str) -> dict[str, tuple[float, float]]:
    """Each node's centre as `dot` lays it out (`-Tplain`: inches, y growing upwards)."""
    plain = subprocess.run(["dot", "-Tplain"], input=source.encode("utf-8"),
                           capture_output=True, check=True).stdout.decode("utf-8")
    centres = {}
    for line in plain.splitlines():
        if line.startswith("node "):
            _, name, x, y, _ = line.split(" ", 4)
            centres[unquote(name)] = (float(x), float(y))
    return centres
