"""The trace model every consumer reads: plain, frozen, framework-neutral data.

A `Trace` holds the routes an app ended up with, the steps of its registration, the
steps of each recorded request and the source lines those steps point at. Framework
adapters translate what they see into these records and the `Role` vocabulary below;
nothing here knows which framework produced it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

StepKind = Literal["call", "return", "exception", "note", "line"]
#: How a request ended, from what the client got: routed nowhere (`not_found`,
#: `method_not_allowed`), redirected (a 3xx with a Location, by the router or the app), an
#: HTTP error raised (`http_error`, as `abort(403)`), a 4xx/5xx returned (`error_status`),
#: an exception other than an HTTP error (`error`), else `ok`.
Outcome = Literal["ok", "not_found", "method_not_allowed", "redirect", "http_error",
                  "error_status", "error"]
ChainKind = Literal["decorator", "view", "view_class", "method"]


class Role(StrEnum):
    """What a step means in the life of a web app, whatever the framework calls it."""

    # Registration
    ROUTE_DECORATOR = "route_decorator"  # route(...) building the decorator it returns
    ROUTE_DECORATOR_CALL = "route_decorator_call"  # that decorator applied to the view
    ENDPOINT_DECORATOR = "endpoint_decorator"
    ADD_URL_RULE = "add_url_rule"
    ENDPOINT_INFERRED = "endpoint_inferred"  # the endpoint named after the view
    RULE_ADDED = "rule_added"  # the URL map receives the rule
    VIEW_REGISTERED = "view_registered"  # endpoint -> view function stored
    VIEW_COLLISION = "view_collision"  # a different view already owns the endpoint
    CLASS_VIEW = "class_view"  # a view class turned into a view function
    CLASS_DECORATOR = "class_decorator"  # one decorator of the class wrapping the view
    BLUEPRINT = "blueprint"  # a blueprint registered on the app
    BLUEPRINT_RULE = "blueprint_rule"  # a blueprint rule prefixed and named
    CONFIG = "config"  # configuration loaded or set
    CONFIG_ROOT = "config_root"  # where relative config files are looked up
    # Request
    REQUEST = "request"  # the WSGI call
    MATCH = "match"  # URL matched to a rule (or not)
    SIGNAL = "signal"
    BEFORE_FIRST_REQUEST = "before_first_request"  # Flask 2.0/2.1 running them, first request
    BEFORE_FIRST_REQUEST_FUNCTION = "before_first_request_function"  # Flask 2.0 to 2.2
    BEFORE_REQUEST = "before_request"  # the phase running before-request functions
    BEFORE_REQUEST_FUNCTION = "before_request_function"
    DISPATCH = "dispatch"  # the framework picks the view for the endpoint
    AUTOMATIC_OPTIONS = "automatic_options"
    LAYER = "layer"  # a decorator layer around the view
    VIEW = "view"  # the registered view function itself (innermost function)
    CLASS_DISPATCH = "class_dispatch"  # a view class's dispatch method
    VIEW_INSTANCE = "view_instance"  # the view class instantiated for this request
    HANDLER_LOOKUP = "handler_lookup"  # the method handler looked up by name
    HANDLER = "handler"  # the method handler of a view class
    ASYNC_BRIDGE = "async_bridge"  # an async view run from sync code
    MAKE_RESPONSE = "make_response"
    AFTER_REQUEST = "after_request"  # the phase running after-request functions
    AFTER_REQUEST_FUNCTION = "after_request_function"
    ERROR_HANDLING = "error_handling"  # the framework deciding what to do with an error
    ERROR_HANDLER = "error_handler"  # the user's handler chosen for an error
    FINALIZE = "finalize"
    TEARDOWN = "teardown"  # the phase running teardown functions
    TEARDOWN_FUNCTION = "teardown_function"
    URL_VALUE_PREPROCESSOR = "url_value_preprocessor"  # a function pulling values from a URL
    URL_BUILD = "url_build"  # a URL built for an endpoint (url_for)
    URL_DEFAULTS = "url_defaults"  # a function filling in values for a URL being built
    TEMPLATE_RENDER = "template_render"  # a template rendered (render_template)
    CONTEXT_PROCESSOR = "context_processor"  # a function adding names to a template's context
    APPCONTEXT_TEARDOWN = "appcontext_teardown"  # the phase tearing down the app context
    APPCONTEXT_TEARDOWN_FUNCTION = "appcontext_teardown_function"
    SIGNAL_RECEIVER = "signal_receiver"  # a function connected to a signal, receiving it
    SESSION = "session"  # a method of the app's own session interface
    CONVERTER = "converter"  # an app's URL converter turning a path part into a value
    VIEW_INIT = "view_init"  # a view class's __init__, making the instance for a request
    APP_METHOD = "app_method"  # a method the app's class (or the app itself) puts over Flask's
    STREAM_WITH_CONTEXT = "stream_with_context"  # a response body made to run in the request
    RESPONSE_ITERABLE = "response_iterable"  # the app's own iterable's __iter__, asked by Flask
    # Below and beside Flask (plain WSGI, Werkzeug, Bottle)
    WSGI_APP = "wsgi_app"  # a function made into a whole WSGI app (Request.application)
    WRAP_CALLBACK = "wrap_callback"  # a route's callback wrapped in the app's plugins
    PLUGIN = "plugin"  # one plugin or decorator applied to a route's callback
    START_RESPONSE = "start_response"  # the app handing status and headers to the server
    RESPONSE_BODY = "response_body"  # the server iterating the body, then closing it


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded event.

    `call` steps open a function (file/line = its first line); their `return` or
    `exception` step is their last child. `note` steps state a derived fact (`facts`),
    `line` steps an executed line. `detail` holds safe, redacted reprs; `facts` holds
    plain JSON values in the `Role` vocabulary.
    """

    id: int
    parent: int | None
    kind: StepKind
    name: str
    file: str | None
    line: int | None
    time_ns: int
    thread: int
    detail: Mapping[str, str] = field(default_factory=dict)
    role: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One layer of what runs for an endpoint, outermost first."""

    kind: ChainKind
    name: str
    qualname: str
    file: str | None
    line: int | None
    wraps: bool | None = None  # a decorator layer made with functools.wraps
    origin: str | None = None  # "class_decorators" when from a view class's list
    decorator: str | None = None  # the decorator that produced this layer, when known
    #: The source text of the expression that made this layer (`tag("first")`), read from
    #: the registering source when it can be tied to this layer; None otherwise.
    expression: str | None = None
    #: Which of the layers written with the same `expression` this is (1 = the first in
    #: the source), set only when the text repeats (`[tag("x"), tag("x")]`).
    occurrence: int | None = None


@dataclass(frozen=True, slots=True)
class DecoratorAboveRoute:
    """A decorator written above the route decorator: it wrapped the function the route
    had already registered, so no request to the endpoint runs it (a `login_required`
    that protects nothing). Found on the live app when the trace is taken."""

    decorator: str  # the function that made the wrapper: `login_required`
    qualname: str  # the wrapper it made: `login_required.<locals>.guarded`
    file: str | None  # where `@decorator` is written
    line: int | None


@dataclass(frozen=True, slots=True)
class Route:
    """A rule in the URL map and the chain of callables behind its endpoint."""

    rule: str
    endpoint: str
    methods: tuple[str, ...]
    blueprint: str | None
    chain: tuple[ChainLink, ...]
    automatic_methods: tuple[str, ...] = ()
    app: str | None = None
    strict_slashes: bool = True
    redirect_to: str | None = None
    #: Decorators written above the route decorator of the endpoint's function, top first.
    decorators_above_route: tuple[DecoratorAboveRoute, ...] = ()


@dataclass(frozen=True, slots=True)
class Registration:
    """Everything recorded while apps were set up (module import, factories).

    `steps` is a tuple, or a `tracer.steptable.StepTable` when a file is loaded lazily.
    """

    steps: Sequence[Step] = ()
    dropped_steps: int = 0


@dataclass(frozen=True, slots=True)
class Request:
    """One request from the WSGI call to teardown (`steps`: as in `Registration`)."""

    id: int
    method: str
    path: str
    status: int | None
    endpoint: str | None
    rule: str | None
    view_args: Mapping[str, str]
    outcome: Outcome
    steps: Sequence[Step]
    query: str = ""
    allowed_methods: tuple[str, ...] = ()
    redirect_to: str | None = None
    error: str | None = None
    start_ns: int = 0
    duration_ns: int = 0
    thread: int = 0
    dropped_steps: int = 0


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The lines of one file that the trace refers to, so it opens without the file."""

    sha256: str
    lines: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class Trace:
    """A whole recording."""

    meta: Mapping[str, Any]
    routes: tuple[Route, ...]
    registration: Registration
    requests: tuple[Request, ...]
    sources: Mapping[str, SourceFile]

    def request(self, request_id: int) -> Request:
        """The request with this id; `KeyError` names the ids there are."""
        for request in self.requests:
            if request.id == request_id:
                return request
        known = ", ".join(str(r.id) for r in self.requests) or "none"
        raise KeyError(f"no request {request_id} in this trace (requests: {known})")


def children(steps: Sequence[Step], parent_id: int | None) -> list[Step]:
    """The direct children of a step, in recorded order."""
    return [step for step in steps if step.parent == parent_id]
