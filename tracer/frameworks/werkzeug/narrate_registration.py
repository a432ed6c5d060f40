"""The registration of a Werkzeug app, told in Werkzeug's own terms.

What Werkzeug records: the `Rule`s the app put in its `Map` (each naming its endpoint, as
the app chose it) and the functions `@Request.application` made into WSGI apps. A plain
WSGI app that fills a `Map` by hand is told the same way. The walk over the steps is
WSGI's (`tracer.frameworks.wsgi.narrate_registration`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tracer.frameworks.narration.items import N_, Item, Message, q
from tracer.frameworks.narration.steps import code_list, def_lines
from tracer.frameworks.wsgi.narrate_registration import WsgiRegistration
from tracer.model import Role, Step, Trace


def narrate_registration(trace: Trace, endpoints: Iterable[str] | None = None) -> list[Item]:
    """Items for the registration; only what concerns `endpoints` when they are given."""
    return WerkzeugRegistration(trace, endpoints).build()


class WerkzeugRegistration(WsgiRegistration):
    """The rules added to a `Map` and the apps `@Request.application` made."""

    def __init__(self, trace: Trace, endpoints: Iterable[str] | None = None) -> None:
        super().__init__(trace, endpoints)
        self.handlers.update({
            Role.RULE_ADDED: self._map_add,
            Role.WSGI_APP: self._wsgi_app,
        })

    def _map_add(self, step: Step) -> None:
        if not self._wanted(step):
            return
        facts = step.facts
        rule = str(facts.get("rule") or "")
        params = {"rule": q(rule), "endpoint": q(facts.get("endpoint")),
                  "methods": q(facts.get("methods")),
                  "arguments": code_list(facts.get("arguments") or [])}
        if facts.get("methods"):
            messages = [Message(N_("`Map.add` put the werkzeug `Rule({rule}, "
                                   "endpoint={endpoint}, methods={methods})` into the app's "
                                   "URL map; the endpoint is the name the app gave it, nothing "
                                   "was inferred."), params)]
        else:
            messages = [Message(N_("`Map.add` put the werkzeug `Rule({rule}, "
                                   "endpoint={endpoint})` into the app's URL map; the endpoint "
                                   "is the name the app gave it, and with no `methods` the rule "
                                   "accepts every method."), params)]
        if facts.get("arguments"):
            messages.append(Message(N_("Its converters capture {arguments} from the URL; "
                                       "`match` returns them as the values dict."), params))
        if rule.endswith("/") and rule != "/" and facts.get("strict_slashes"):
            messages.append(Message(N_("The rule ends with a slash and `strict_slashes` is on, "
                                       "so a request for {bare} is redirected (308) to {rule}."),
                                    {"bare": q(rule.rstrip("/")), "rule": q(rule)}))
        self._add([step], *messages)

    def _wsgi_app(self, step: Step) -> None:
        facts = step.facts
        self._add([step], Message(
            N_("`@Request.application` turned `{view}(request)` into a WSGI app "
               "`application(environ, start_response)`: on every call it builds a "
               "`{request_class}` from the environ, calls `{view}` and calls the response it "
               "returns as a WSGI app."),
            {"view": facts.get("view") or "?",
             "request_class": facts.get("request_class") or "Request"}),
            sources=def_lines(self.sources, step.file, step.line))
