"""Graphviz's SVG made fit to sit inside the page: drawing elements only, no links, no
scripts, no event attributes, no inline styles.

Labels come from the trace, and Graphviz escapes them as XML text; this pass is the second
wall. The SVG is parsed and rebuilt from an allow-list, so whatever a label held can
only ever be text in a `<text>` or `<title>` element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

__all__ = ["clean_svg"]

_SVG = "http://www.w3.org/2000/svg"
_ELEMENTS = frozenset({"svg", "g", "title", "path", "polygon", "polyline", "ellipse",
                       "circle", "rect", "line", "text", "tspan"})
_ATTRIBUTES = frozenset({
    "id", "class", "width", "height", "viewBox", "transform", "points", "d", "cx", "cy",
    "rx", "ry", "r", "x", "y", "x1", "y1", "x2", "y2", "fill", "stroke", "stroke-width",
    "stroke-dasharray", "fill-opacity", "stroke-opacity", "text-anchor", "font-family",
    "font-size", "font-weight", "font-style", "text-decoration", "preserveAspectRatio",
})


def clean_svg(svg: str) -> str | None:
    """The SVG rebuilt from allowed elements and attributes; None if it does not parse."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:
        return None
    if _local(root.tag) != "svg":
        return None
    rebuilt = _copy(root)
    if rebuilt is None:
        return None
    rebuilt.set("xmlns", _SVG)
    return ET.tostring(rebuilt, encoding="unicode", short_empty_elements=True)


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _copy(element: ET.Element) -> ET.Element | None:
    tag = _local(element.tag)
    if tag not in _ELEMENTS:
        return None
    copy = ET.Element(tag)
    for name, value in element.attrib.items():
        if "}" not in name and name in _ATTRIBUTES and "url(" not in value.lower():
            copy.set(name, value)
    copy.text = element.text
    for child in element:
        kept = _copy(child)
        if kept is not None:
            copy.append(kept)
        if child.tail:  # text after a dropped child stays text
            if len(copy):
                copy[-1].tail = (copy[-1].tail or "") + child.tail
            else:
                copy.text = (copy.text or "") + child.tail
    return copy
