"""Add what only the live app can tell to a trace recorded from it: why a 404 missed.

A trace file keeps no URL map, so the rules closest to an unmatched path must be asked for
while the app is loaded. When the recorder already stored them (`near_misses` on the MATCH
step), the trace is returned unchanged.
"""

from __future__ import annotations

from dataclasses import replace

from werkzeug.routing import Map

from ..frameworks.werkzeug_nomatch import near_misses
from ..model import Request, Role, Trace


def with_near_misses(trace: Trace, url_map: Map) -> Trace:
    """The trace with `facts["near_misses"]` on the MATCH step of every 404 request."""
    requests = tuple(_enrich(request, url_map) for request in trace.requests)
    return replace(trace, requests=requests)


def _enrich(request: Request, url_map: Map) -> Request:
    if request.outcome != "not_found":
        return request
    steps = list(request.steps)
    for index, step in enumerate(steps):
        if step.role != Role.MATCH or step.kind != "call" or "near_misses" in step.facts:
            continue
        if step.facts.get("outcome") != "not_found":
            continue
        path = step.facts.get("path", request.path)
        method = step.facts.get("method", request.method)
        misses = near_misses(url_map, path, method)
        steps[index] = replace(step, facts={**step.facts, "near_misses": misses})
    return replace(request, steps=tuple(steps))
