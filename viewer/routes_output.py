"""What `flaskscope routes` prints when it is not drawing a table on a terminal.

Piped, the route table is plain text the way `flask routes` prints it: a header, a rule
of dashes, then one line per route with columns as wide as their longest value, nothing
wrapped or cut, no escape codes. Values come from the app, so control characters are
written as escapes (`viewer.textsafe.visible`): a rule cannot break a line or a column.

Routes come in the trace's order: the app that was asked for first, then any other app
the import made (a helper module's own `Flask(__name__)`), each in URL map order. With
more than one app, an `App` column comes first and says whose rule each line is.

`--format json` prints a JSON array, one object per route in that order::

    {"app": "app", "rule": "/stacked", "methods": ["GET", "HEAD", "OPTIONS"],
     "automatic_methods": ["HEAD", "OPTIONS"], "endpoint": "stacked", "blueprint": null,
     "chain": [{"kind": "decorator", "name": "wrapper", "qualname": "log_calls.<locals>.logged",
                "file": "/app/app.py", "line": 54, "wraps": true, "origin": null,
                "decorator": "log_calls"}, ...]}

`chain` lists what runs for the endpoint, outermost first; a link's `kind` is
`decorator`, `view`, `view_class` or `method`, and its keys are those of a chain link in
the trace file (`tracer/tracefile/trace.schema.json`). `app` is the app's label: its `name`,
numbered (`name #2`) when apps share one. Every key is always present (null when
unknown).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.cells import cell_len

from tracer.model import Route
from tracer.tracefile import link_document
from viewer.chain_text import chain_line
from viewer.textsafe import visible, visible_json

#: Column titles of the plain table, in order.
HEADERS = ("Rule", "Methods", "Endpoint", "View chain (outer → inner)")
#: The title of the column that comes first when the routes are of several apps.
APP_HEADER = "App"


def several_apps(routes: Iterable[Route]) -> bool:
    """Whether the routes belong to more than one app (so each needs its app named)."""
    return len({route.app for route in routes}) > 1


def app_label(route: Route) -> str:
    """The app a route belongs to, as a table cell."""
    return route.app if route.app is not None else "?"


def route_rows(routes: Iterable[Route]) -> list[tuple[str, str, str, str]]:
    """One row of text per route: methods with the automatic ones in brackets, and the
    chain outermost → innermost."""
    rows = []
    for route in routes:
        methods = ", ".join(
            f"({m})" if m in route.automatic_methods else m for m in route.methods
        )
        chain = chain_line(route.chain)
        rows.append((visible(route.rule), visible(methods), visible(route.endpoint),
                     visible(chain)))
    return rows


def plain_table(routes: Iterable[Route]) -> str:
    """The route table as aligned text columns, every value whole; an app column first
    when the routes are of several apps."""
    routes = list(routes)
    rows: list[Sequence[str]] = [HEADERS, *route_rows(routes)]
    if several_apps(routes):
        apps = [APP_HEADER, *(visible(app_label(route)) for route in routes)]
        rows = [(app, *row) for app, row in zip(apps, rows, strict=True)]
    widths = [max(cell_len(row[column]) for row in rows) for column in range(len(rows[0]))]
    rows.insert(1, ["-" * width for width in widths])
    return "".join(_line(row, widths) for row in rows)


def routes_json(routes: Iterable[Route]) -> str:
    """The routes as the JSON array the module docstring describes."""
    document = [_route_object(route) for route in routes]
    return visible_json(json.dumps(document, ensure_ascii=False, indent=2)) + "\n"


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = [cell + " " * (width - cell_len(cell)) for cell, width in zip(cells, widths,
                                                                          strict=True)]
    return "  ".join(padded).rstrip() + "\n"


def _route_object(route: Route) -> dict[str, Any]:
    return {
        "app": route.app,
        "rule": route.rule,
        "methods": list(route.methods),
        "automatic_methods": list(route.automatic_methods),
        "endpoint": route.endpoint,
        "blueprint": route.blueprint,
        "chain": [link_document(link) for link in route.chain],
    }
