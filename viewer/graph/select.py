"""Choosing what a graph shows: which request overlays it, which routes it draws.

Kept apart from the graph builders so every kind narrows the same way and every wrong
choice ends in the same kind of one-line error.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from tracer.errors import FlaskscopeError
from tracer.model import Request, Route, Trace

_LISTED = 12


class GraphError(FlaskscopeError):
    """The graph asked for cannot be drawn from this trace (missing request, no match)."""


def pick_request(trace: Trace, request_id: int | None, *, required: bool = False
                 ) -> Request | None:
    """The request with `request_id`, or the trace's first one when no id is given.

    Args:
        trace: The recording.
        request_id: The id asked for with `--request`, or None.
        required: True when the graph cannot be drawn without a request (calls).

    Raises:
        GraphError: The id is not in the trace, or a request is required and there is none.
    """
    if request_id is None:
        if trace.requests:
            return trace.requests[0]
        if required:
            raise GraphError(
                "this trace holds no request, so there is no call graph to draw; record one "
                "first, e.g. flaskscope graph fixtures/seed_views.py GET /index --kind calls"
            )
        return None
    for request in trace.requests:
        if request.id == request_id:
            return request
    known = ", ".join(str(r.id) for r in trace.requests)
    there = f"the requests there are: {known}" if known else "the trace holds no request"
    raise GraphError(f"no request {request_id!r} in this trace; {there}")


def filter_routes(
    routes: Sequence[Route], endpoint: str | None = None, blueprint: str | None = None
) -> list[Route]:
    """The routes whose endpoint matches the glob `endpoint` and that belong to `blueprint`.

    A blueprint also covers the blueprints nested in it (`shop` covers `shop.admin`).

    Raises:
        GraphError: Nothing is left; the message lists what there is to choose from.
    """
    chosen = list(routes)
    if blueprint is not None:
        chosen = [r for r in chosen if r.blueprint is not None and
                  (r.blueprint == blueprint or r.blueprint.startswith(blueprint + "."))]
        if not chosen:
            names = sorted({r.blueprint for r in routes if r.blueprint})
            raise GraphError(
                f"no route belongs to blueprint {blueprint!r}; "
                + (f"blueprints: {_listing(names)}" if names else "the app has no blueprint")
            )
    if endpoint is not None:
        before = chosen
        chosen = [r for r in chosen if fnmatch.fnmatchcase(r.endpoint, endpoint)]
        if not chosen:
            names = sorted({r.endpoint for r in before})
            raise GraphError(
                f"no endpoint matches {endpoint!r} (a glob such as 'shop.*'); "
                f"endpoints: {_listing(names)}"
            )
    return chosen


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
