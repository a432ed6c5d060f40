"""Put the registration and the requests of a trace together as titled sections."""

from __future__ import annotations

from tracer.frameworks import narrators
from tracer.frameworks.narration.items import N_, Message, Section, numbered
from tracer.frameworks.narration.steps import code_list
from tracer.model import Trace


def explain(
    trace: Trace, *, request_id: int | None = None, registration_only: bool = False
) -> tuple[Section, ...]:
    """The narrative of a trace.

    By default: the part of the registration that concerns the endpoints the requests
    reached (and any configuration), then every request. `registration_only` tells the
    whole registration; `request_id` picks one request. A trace without requests (an app
    that failed to import) is told by its whole registration.

    Raises:
        KeyError: `request_id` is not in the trace (the message names the ids there are).
    """
    app = str(trace.meta.get("app") or "?")
    narrate_registration, narrate_request = narrators(trace)
    if registration_only or not trace.requests:
        items = numbered(narrate_registration(trace))
        return (Section("registration", Message(N_("Registration of {app}"), {"app": app}),
                        items),)
    requests = [trace.request(request_id)] if request_id is not None else list(trace.requests)
    endpoints = sorted({r.endpoint for r in requests if r.endpoint})
    sections = []
    registration = narrate_registration(trace, endpoints)
    if registration:
        title = Message(N_("Registration of {app}, as far as it concerns {endpoints}"),
                        {"app": app, "endpoints": code_list(endpoints) or ["—"]})
        sections.append(Section("registration", title, numbered(registration)))
    for request in requests:
        title = Message(N_("Request {id}: {method} {path} → {status}"),
                        {"id": request.id, "method": request.method, "path": request.path,
                         "status": request.status if request.status is not None else "—"})
        sections.append(Section("request", title, numbered(narrate_request(trace, request)),
                                request=request.id))
    return tuple(sections)
