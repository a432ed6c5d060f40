"""The look shared by every graph kind, so a highlight means the same thing everywhere.

Every styled element also carries a Graphviz `class` (kept as the CSS class in SVG output),
which names what the style means: `path`, `entered`, `not-entered`, `matched`, `handler`,
`no-match`, `near-miss`, `not-allowed`, `redirect`, `automatic`, `no-wraps`, `raised`.
"""

from __future__ import annotations

#: Latin text in Helvetica or its look-alikes; Chinese, Japanese and Korean characters in a
#: Simplified Chinese face when one is installed (fontconfig otherwise falls back to any CJK
#: font, often a Japanese one, or to none: see `fonts`). SVG passes the list on as CSS.
FONT = ("Helvetica,Arial,Noto Sans CJK SC,Source Han Sans SC,PingFang SC,Microsoft YaHei,"
        "sans-serif")

GRAPH = {"fontname": FONT, "fontsize": "12", "labelloc": "t", "labeljust": "l"}
NODE = {"fontname": FONT, "fontsize": "10", "shape": "box", "style": "rounded"}
EDGE = {"fontname": FONT, "fontsize": "9", "color": "#555555"}

#: The path a request took (calls graph): drawn bold.
PATH_NODE = {"class": "path", "style": "rounded,bold", "penwidth": "2.5"}
PATH_EDGE = {"class": "path", "style": "bold", "penwidth": "2.5", "color": "#000000"}
#: A function that ended with an exception.
RAISED = {"class": "raised", "color": "#c62828", "fontcolor": "#c62828"}

#: Decorator layers a request went through, and those it never reached.
ENTERED_NODE = {"class": "entered", "style": "rounded,filled,bold", "fillcolor": "#d7efd7"}
NOT_ENTERED_NODE = {"class": "not-entered", "style": "rounded,dashed", "fontcolor": "#8a8a8a",
                    "color": "#9e9e9e"}
ENTERED_CLUSTER = {"class": "entered", "style": "rounded,filled", "fillcolor": "#f1f9f1",
                   "color": "#2e7d32"}
NOT_ENTERED_CLUSTER = {"class": "not-entered", "style": "rounded,dashed", "color": "#9e9e9e",
                       "fontcolor": "#8a8a8a"}
PLAIN_CLUSTER = {"style": "rounded", "color": "#9e9e9e"}
NO_WRAPS = {"color": "#e65100"}

#: The request's resolution overlaid on the route map.
MATCHED_NODE = {"class": "matched", "style": "rounded,filled,bold", "fillcolor": "#dbe9f6",
                "color": "#1565c0", "penwidth": "2"}
MATCHED_EDGE = {"class": "matched", "style": "bold", "color": "#1565c0", "penwidth": "2.5",
                "fontcolor": "#1565c0"}
HANDLER_NODE = {"class": "handler", "style": "rounded,filled,bold", "fillcolor": "#d7efd7",
                "color": "#2e7d32", "penwidth": "2"}
REQUEST_NODE = {"shape": "cds", "style": "filled", "fillcolor": "#fff8e1", "color": "#8d6e00"}
NO_MATCH_NODE = {"class": "no-match", "shape": "box", "style": "filled,dashed",
                 "fillcolor": "#fde0dc", "color": "#c62828"}
NEAR_MISS_EDGE = {"class": "near-miss", "style": "dotted", "color": "#c62828",
                  "fontcolor": "#c62828", "penwidth": "1.5"}
NOT_ALLOWED_NODE = {"class": "not-allowed", "style": "rounded,filled,bold",
                    "fillcolor": "#ffe9d6", "color": "#e65100", "penwidth": "2"}
NOT_ALLOWED_EDGE = {"class": "not-allowed", "style": "bold", "color": "#e65100",
                    "fontcolor": "#e65100", "penwidth": "2"}
REDIRECT_NODE = {"class": "redirect", "shape": "note", "style": "filled",
                 "fillcolor": "#fff3e0", "color": "#ef6c00"}
REDIRECT_EDGE = {"class": "redirect", "style": "bold,dashed", "color": "#ef6c00",
                 "fontcolor": "#ef6c00", "penwidth": "2"}


def merge(*styles: dict[str, str] | None) -> dict[str, str]:
    """Attributes of several styles, later ones winning, their classes all kept."""
    merged: dict[str, str] = {}
    classes: list[str] = []
    for style in styles:
        if not style:
            continue
        for key, value in style.items():
            if key == "class":
                classes.extend(c for c in value.split() if c not in classes)
            else:
                merged[key] = value
    if classes:
        merged["class"] = " ".join(classes)
    return merged
