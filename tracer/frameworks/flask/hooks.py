"""Everything flaskscope knows about Flask's internals (Flask 3.1, Werkzeug 3.1).

Which functions are patched, what their arguments mean, and how a registered view
unwraps into decorator layers, view class and handler methods all live here. The
recorder and the model never learn Flask's names: this module translates what it sees
into steps with `Role`s and plain facts.

Patched (class attributes, restored identically by `uninstall`):
registration — `Scaffold.route/get/post/put/delete/patch/endpoint`, `App.add_url_rule`,
`Blueprint.add_url_rule`, `BlueprintSetupState.add_url_rule`, `_endpoint_from_view_func`
(in every namespace that calls it), `App/Blueprint.register_blueprint`,
`Blueprint.register`, `View.as_view`, `App.make_config`, `Config.from_*` and item sets;
request — `Flask.wsgi_app`, `RequestContext.match_request`,
`Flask.full_dispatch_request/preprocess_request/dispatch_request/
make_default_options_response/make_response/process_response/finalize_request/
handle_user_exception/handle_http_exception/handle_exception/do_teardown_request`,
`App._find_error_handler`, `Flask.ensure_sync`, and the `send` of Flask's signals (a step
only when the signal has receivers).

Not patchable, so caught by code object (`tracer.watch`): decorator layers, the function
`as_view` generates, and plain view functions. Every function Flask runs through
`ensure_sync` (before/after-request and teardown functions, error handlers, the view,
a view class's `dispatch_request`, a `MethodView` handler) is recorded by a thin proxy
around what `ensure_sync` returns, so no profiler runs for them.

Werkzeug's own functions (`Map.add`, `MapAdapter.match`) are patched once, by
`tracer.frameworks.werkzeug.hooks`, installed alongside; `add_url_rule` reads the rule `Map.add`
received from its `rule_added` context variable.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import linecache
import os
import re
import sys
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from types import CodeType, FrameType, FunctionType, GeneratorType, MethodType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import flask
import flask.ctx
import flask.signals
import flask.templating
import flask.views
import werkzeug
import werkzeug.routing
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from tracer.frameworks.flask import anatomy
from tracer.frameworks.flask.above_route import AboveRouteMemo, decorators_above_route
from tracer.frameworks.flask.decorator_expressions import (
    MadeWith,
    class_decorators,
    function_decorators,
)
from tracer.frameworks.flask.quotable import quotable_lines
from tracer.frameworks.hooking import AdapterHooks, argument, hide_own_frames, link, qualname
from tracer.frameworks.werkzeug.hooks import rule_added
from tracer.frameworks.werkzeug.matching_builds import build_reason
from tracer.frameworks.werkzeug.nomatch import near_misses, rule_reached
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint
from tracer.frameworks.wsgi.hooks import (
    begin_wsgi_request,
    body_detail,
    environ_detail,
    learn_set_cookie,
    settle_outcome,
    watched_body,
)
from tracer.model import ChainLink, DecoratorAboveRoute, Role, Route
from tracer.paths import OWN_DIRS
from tracer.recorder import Recorder, current_request
from tracer.unwrap import code_of, layers
from tracer.watch import HAS_MONITORING, LINES_IN_REQUESTS, CodeWatcher, argument_values

if TYPE_CHECKING:
    from werkzeug.local import LocalProxy

    from tracer.lines import LineEngine

#: ids of the code of the `view` function `View.as_view` generates (the code objects are
#: constants of `as_view`, alive as long as Flask is; ids: hashing code objects is slow).
_VIEW_CODE_IDS = frozenset(
    id(const)
    for const in cast(MethodType, flask.views.View.as_view).__func__.__code__.co_consts
    if hasattr(const, "co_qualname") and const.co_name == "view"
)


def _is_generated_view(obj: Any) -> bool:
    """Whether `obj` is a `view` function `View.as_view` made."""
    code = code_of(obj)
    return code is not None and id(code) in _VIEW_CODE_IDS


_HTTP_HANDLER_NAMES = ("get", "post", "put", "patch", "delete", "head", "options", "trace")
_SIGNALS = (
    "request_started",
    "request_finished",
    "request_tearing_down",
    "got_request_exception",
    "appcontext_pushed",
    "appcontext_popped",
    "appcontext_tearing_down",
    "template_rendered",
    "before_render_template",
    "message_flashed",
)
#: What a function passed through `ensure_sync` is, by the phase it is called in.
_ROLE_UNDER: dict[str | None, Role] = {
    Role.BEFORE_FIRST_REQUEST: Role.BEFORE_FIRST_REQUEST_FUNCTION,
    Role.BEFORE_REQUEST: Role.BEFORE_REQUEST_FUNCTION,
    Role.AFTER_REQUEST: Role.AFTER_REQUEST_FUNCTION,
    Role.TEARDOWN: Role.TEARDOWN_FUNCTION,
    Role.APPCONTEXT_TEARDOWN: Role.APPCONTEXT_TEARDOWN_FUNCTION,
    Role.ERROR_HANDLING: Role.ERROR_HANDLER,
    Role.DISPATCH: Role.VIEW,
}

Facts = dict[str, Any]


def scope_roots() -> tuple[str, ...]:
    """The directories of Flask and Werkzeug: traced line by line in line mode."""
    return (os.path.dirname(flask.__file__), os.path.dirname(werkzeug.__file__))


def transparent_codes() -> tuple[CodeType, ...]:
    """Flask's own thin wrappers, skipped by line tracing (`setupmethod`'s wrapper)."""
    return tuple(
        const for const in anatomy.setupmethod.__code__.co_consts
        if isinstance(const, CodeType)
    )


def versions() -> dict[str, str]:
    """The versions the trace's `meta` names."""
    return {
        "framework": "flask",
        "flask": _dist_version("flask"),
        "werkzeug": _dist_version("werkzeug"),
    }


def _dist_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


class FlaskHooks(AdapterHooks):
    """Installs and removes every Flask patch for one recorder."""

    name = "flask"

    def __init__(
        self, recorder: Recorder, watcher: CodeWatcher, lines: LineEngine | None = None
    ) -> None:
        super().__init__(recorder, watcher, lines)
        self._last_rule: ContextVar[werkzeug.routing.Rule | None] = rule_added
        self._automatic: dict[int, tuple[str, ...]] = {}
        self._chains: weakref.WeakKeyDictionary[Any, list[tuple[Any, ChainLink]]] = (
            weakref.WeakKeyDictionary())
        self._app_labels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._app_names: dict[int, str] = {}  # id(app) -> name, while the app lives
        #: id(config) -> (its app, weakly; the app's label)
        self._config_apps: dict[int, tuple[weakref.ref, str]] = {}
        #: How many callbacks each app had when they were last looked for.
        self._callbacks_seen: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        #: Per app: what its extras were looked for in, and whether it has any.
        self._extras_seen: weakref.WeakKeyDictionary[Any, tuple[Any, bool]] = (
            weakref.WeakKeyDictionary())
        #: (id and start of the request record, id of the view instance) whose handler
        #: lookup was last noted: ids, not the record, which holds the request's values and
        #: would stay alive in the thread's context after the request.
        self._lookup_noted: ContextVar[tuple[int, int, int] | None] = ContextVar(
            "flaskscope_lookup_noted", default=None)
        #: The layer a view class's decorator made → the expression it was written as.
        self._made_with: weakref.WeakKeyDictionary[Any, MadeWith] = (
            weakref.WeakKeyDictionary())
        #: The decorators above routes, for the trace built next (while installed only: it
        #: holds the view modules' objects, the app among them).
        self._above_route = AboveRouteMemo()

    # -- install --------------------------------------------------------------------------

    def versions(self) -> dict[str, str]:
        return versions()

    def uninstall(self) -> None:
        super().uninstall()
        self._above_route = AboveRouteMemo()

    def _install(self) -> None:
        if self.lines is None:  # line tracing records every line already
            for code, lines in quotable_lines().items():
                self.watcher.watch_lines(code, lines)
            self.recorder.meta["ran_lines"] = "all" if LINES_IN_REQUESTS else "registration"
        self._install_registration()
        self._install_request()

    def _install_registration(self) -> None:
        scaffold = anatomy.Scaffold
        app = anatomy.App
        blueprint = anatomy.Blueprint
        setup_state = anatomy.BlueprintSetupState
        on_app = self._with_app
        self.patch(scaffold, "route", Role.ROUTE_DECORATOR, describe=on_app(_describe_route),
                   after=self._note_returned,
                   returns=lambda d: self._proxy_decorator(d, Role.ROUTE_DECORATOR_CALL))
        for shortcut in ("get", "post", "put", "delete", "patch"):
            self.patch(scaffold, shortcut, Role.ROUTE_DECORATOR,
                       describe=on_app(_describe_route))
        self.patch(scaffold, "endpoint", Role.ENDPOINT_DECORATOR, describe=on_app(None),
                   after=self._note_returned,
                   returns=lambda d: self._proxy_decorator(d, Role.ROUTE_DECORATOR_CALL))
        for module in anatomy.ENDPOINT_MODULES:
            self.patch(module, "_endpoint_from_view_func", Role.ENDPOINT_INFERRED,
                        after=self._after_endpoint_inferred)
        self.patch(app, "add_url_rule", Role.ADD_URL_RULE,
                   describe=on_app(_describe_add_url_rule),
                    after=self._after_add_url_rule, on_error=self._add_url_rule_failed)
        self.patch(blueprint, "add_url_rule", Role.ADD_URL_RULE,
                    describe=_describe_blueprint_deferred)
        self.patch(setup_state, "add_url_rule", Role.BLUEPRINT_RULE,
                   describe=on_app(_describe_setup_state_rule, lambda state: state.app))
        self.patch(app, "register_blueprint", Role.BLUEPRINT,
                   describe=on_app(_describe_blueprint))
        self.patch(blueprint, "register_blueprint", Role.BLUEPRINT, describe=_describe_blueprint)
        self.patch(blueprint, "register", Role.BLUEPRINT, describe=_describe_blueprint_register)
        self.patch(flask.views.View, "as_view", Role.CLASS_VIEW, describe=_describe_as_view,
                    after=self._after_as_view)
        self.patch(app, "make_config", Role.CONFIG_ROOT, describe=on_app(None),
                   after=self._after_make_config)
        for loader in anatomy.CONFIG_LOADERS:
            self._patch_config_loader(loader)
        self.patches.replace(flask.Config, "__setitem__", self._config_setitem)

    def _install_request(self) -> None:
        flask_cls = flask.Flask
        self.patches.replace(flask_cls, "wsgi_app", self._wsgi_app)
        self.patch(flask.ctx.RequestContext, "match_request", Role.MATCH,
                    after=self._after_match)
        self.patch(flask_cls, "full_dispatch_request", None,
                   describe=_describe_first_request if anatomy.FIRST_REQUEST_FUNCTIONS else None)
        if anatomy.FIRST_REQUEST_TRIGGER is not None:
            self.patch(flask_cls, anatomy.FIRST_REQUEST_TRIGGER, Role.BEFORE_FIRST_REQUEST,
                       when=_runs_first_request_functions)
        # `catch`: the functions these call directly (not through `ensure_sync`) are watched
        # code, caught inside them (url_value_preprocessor, url_defaults, context_processor).
        self.patch(flask_cls, "preprocess_request", Role.BEFORE_REQUEST, catch=True)
        for owner, name, endpoint_at in anatomy.URL_FOR:
            self.patch(owner, name, Role.URL_BUILD, catch=True,
                       describe=functools.partial(_describe_url_for, endpoint_at))
        self.patch(flask_cls, "update_template_context", None, catch=True)
        for module in (flask, flask.templating):  # as apps call them: `flask.render_template`
            self.patch(module, "render_template", Role.TEMPLATE_RENDER,
                       describe=_describe_template_name)
            self.patch(module, "render_template_string", Role.TEMPLATE_RENDER,
                       describe=lambda args, kwargs: {"template": "<string>"})
        self.patch(flask.templating, "_render", None, describe=_describe_render)
        for module in (flask, flask.helpers):
            self.patch(module, "stream_with_context", Role.STREAM_WITH_CONTEXT, catch=True,
                       describe=_describe_streamed, enter=self._watch_own_iterable)
        self.patch(flask_cls, "do_teardown_appcontext", Role.APPCONTEXT_TEARDOWN)
        self.patch(flask_cls, "dispatch_request", Role.DISPATCH, after=self._after_dispatch,
                    on_error=self._dispatch_failed)
        self.patch(flask_cls, "make_default_options_response", Role.AUTOMATIC_OPTIONS)
        self.patch(flask_cls, "make_response", Role.MAKE_RESPONSE, after=self._after_response,
                   describe=_describe_make_response)
        self.patch(flask_cls, "process_response", Role.AFTER_REQUEST)
        self.patch(flask_cls, "finalize_request", Role.FINALIZE, after=self._after_finalize)
        self.patch(flask_cls, "handle_user_exception", Role.ERROR_HANDLING,
                    describe=self._describe_error)
        self.patch(flask_cls, "handle_http_exception", Role.ERROR_HANDLING,
                    describe=self._describe_error)
        self.patch(flask_cls, "handle_exception", Role.ERROR_HANDLING,
                    describe=self._describe_error)
        self.patch(anatomy.App, "_find_error_handler", None,
                    after=self._after_find_error_handler)
        self.patch(flask_cls, "do_teardown_request", Role.TEARDOWN)
        self.patches.replace(flask_cls, "ensure_sync", self._ensure_sync)
        for name in _SIGNALS:
            signal = getattr(flask.signals, name)
            self.patches.replace(signal, "send", functools.partial(self._signal_send, name))

    # -- registration ---------------------------------------------------------------------

    def _note_returned(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        """`route` and `endpoint` hand back a decorator: name it on their step."""
        self.recorder.annotate(step, {"returns": qualname(result)})

    def _proxy_decorator(self, decorator: Callable, role: str) -> Callable:
        """The decorator `route` returned, recording its call (name and docs unchanged)."""
        hooks = self
        code = code_of(decorator)

        @functools.wraps(decorator)
        def applied(f: Any) -> Any:
            if not hooks.active:
                return decorator(f)
            step = None
            with hooks.recorder.guard():
                step = hooks.recorder.call(
                    code, hooks.recorder.named({"f": f}), role=role,
                    facts={"view": qualname(f), "called_from": called_from()},
                )
            with hooks.watcher.catching_lines():
                return hooks.run_then_leave(step, decorator, f)

        return applied

    def _after_endpoint_inferred(
        self, step: int | None, args: tuple, kwargs: dict, result: Any
    ) -> None:
        view = args[0] if args else kwargs.get("view_func")
        self.recorder.annotate(
            step, {"endpoint": result, "view": qualname(view), "from": "__name__"}
        )

    def _after_add_url_rule(
        self, step: int | None, args: tuple, kwargs: dict, result: Any
    ) -> None:
        app = args[0]
        self.recorder.add_subject(app, self.routes_of)
        given = argument(args, kwargs, 3, "view_func")
        rule = self._last_rule.get()
        if rule is None:
            return
        self._last_rule.set(None)
        methods_given = kwargs.get("methods")
        if methods_given is not None:
            source = "argument"
            given_set = {m.upper() for m in methods_given}
        elif getattr(given, "methods", None):
            source = "view_func.methods"
            given_set = {m.upper() for m in given.methods}
        else:
            source = "default"
            given_set = {"GET"}
        final = set(rule.methods or ())
        automatic = tuple(sorted(final - given_set))
        self._automatic[id(rule)] = automatic
        self.recorder.annotate(step, {
            "endpoint": rule.endpoint,
            "endpoint_given": argument(args, kwargs, 2, "endpoint") is not None,
            "methods_given": sorted(given_set) if methods_given is not None else None,
            "methods_source": source,
            "methods": sorted(final),
            "automatic_methods": list(automatic),
            "provide_automatic_options": bool(getattr(rule, "provide_automatic_options", False)),
            "rule": rule.rule,
        })
        if given is not None:
            self.recorder.note(
                Role.VIEW_REGISTERED,
                "view_functions",
                {"endpoint": rule.endpoint, "view": qualname(given)},
                {"view_functions[" + repr(rule.endpoint) + "]": self.recorder.repr(given)},
            )
            self._watch_chain(given)

    def _add_url_rule_failed(
        self, step: int | None, args: tuple, kwargs: dict, error: BaseException
    ) -> None:
        message = str(error)
        if not isinstance(error, AssertionError) or "overwriting" not in message:
            return
        app = args[0]
        endpoint = message.rsplit(": ", 1)[-1]
        existing = app.view_functions.get(endpoint)
        new = argument(args, kwargs, 3, "view_func")
        self.recorder.note(Role.VIEW_COLLISION, "view_functions", {
            "endpoint": endpoint,
            "existing": _where(existing),
            "new": _where(new),
            "message": message,
        })

    def _after_as_view(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        cls = args[0]
        decorators = list(getattr(cls, "decorators", ()) or ())
        chain = list(layers(result, stop=_is_generated_view))
        generated = chain[-1] if chain and _is_generated_view(chain[-1]) else None
        self.recorder.annotate(step, {
            "endpoint": argument(args, kwargs, 1, "name"),
            "view": qualname(generated) if generated is not None else None,
            "methods": sorted(getattr(result, "methods", None) or ()),
        })
        # The loop `for decorator in cls.decorators: view = decorator(view)` makes the
        # first decorator the innermost layer: layer i from the inside came from decorators[i].
        wrappers = chain[:-1] if generated is not None else []
        from_inside = list(reversed(wrappers))
        made_with = class_decorators(cls, decorators) if decorators else None
        for position, decorator in enumerate(decorators):
            produced = from_inside[position] if position < len(from_inside) else None
            expression = made_with[position] if made_with is not None else None
            if expression is not None and produced is not None:
                self._remember_made_with(produced, expression)
            self.recorder.note(Role.CLASS_DECORATOR, qualname(decorator), {
                "decorator": qualname(decorator),
                "position": position,
                "count": len(decorators),
                "outermost": position == len(decorators) - 1,
                "produced": qualname(produced) if produced is not None else None,
                "wraps": produced is not None and hasattr(produced, "__wrapped__"),
                "expression": expression.expression if expression is not None else None,
                "occurrence": expression.occurrence if expression is not None else None,
            })

    def _remember_made_with(self, layer: Any, made_with: MadeWith) -> None:
        """Keep what made a class decorator's layer until its chain is worked out."""
        try:
            self._made_with[layer] = made_with
        except TypeError:  # not weakly referenceable: its chain link goes without
            pass

    def _after_make_config(
        self, step: int | None, args: tuple, kwargs: dict, result: Any
    ) -> None:
        app = args[0]
        relative = bool(argument(args, kwargs, 1, "instance_relative"))
        self.recorder.annotate(step, {
            "instance_relative": relative,
            "root_path": app.root_path,
            "instance_path": app.instance_path,
            "config_root": result.root_path,
        })
        self._config_apps[id(result)] = (weakref.ref(app), self.app_label(app))

    # -- telling apps apart ----------------------------------------------------------------

    def app_label(self, app: Any) -> str:
        """A name for `app` that tells it from every other app: its `name`, numbered when an
        app made earlier has the same (`name #2`): two `Flask(__name__)` in one module."""
        try:
            label = self._app_labels.get(app)
        except TypeError:  # not weakly referenceable
            return str(getattr(app, "name", "?"))
        if label is None:
            name = str(getattr(app, "name", "?"))
            taken = sum(1 for known in list(self._app_names.values()) if known == name)
            label = name if not taken else f"{name} #{taken + 1}"
            self._app_labels[app] = label
            self._app_names[id(app)] = name
            weakref.finalize(app, self._app_names.pop, id(app), None)
        return label

    def _config_app(self, config: Any) -> str | None:
        """The label of the app a `Config` object belongs to."""
        known = self._config_apps.get(id(config))
        if known is None:
            return None
        app = known[0]()
        return None if app is None or app.config is not config else known[1]

    def _with_app(self, describe: Any, app_of: Callable[[Any], Any] = lambda app: app
                  ) -> Callable[[tuple, dict], Facts]:
        """`describe` plus an `app` fact: the label of the app the call is made on (through
        `app_of(first argument)`), when the first argument leads to an app."""
        app_type = anatomy.App

        def described(args: tuple, kwargs: dict) -> Facts:
            facts = dict(describe(args, kwargs)) if describe is not None else {}
            app = app_of(args[0]) if args else None
            if isinstance(app, app_type):
                facts["app"] = self.app_label(app)
            return facts

        return described

    def _patch_config_loader(self, loader: str) -> None:
        def describe(args: tuple, kwargs: dict) -> Facts:
            config = args[0]
            facts: Facts = {"style": loader, "config_root": config.root_path,
                            "called_from": called_from()}
            label = self._config_app(config)
            if label is not None:
                facts["app"] = label
            if loader == "from_pyfile":
                filename = argument(args, kwargs, 1, "filename")
                resolved = os.path.join(config.root_path, filename)
                facts.update(filename=filename, resolved=resolved,
                             exists=os.path.exists(resolved))
            elif loader == "from_envvar":
                variable = argument(args, kwargs, 1, "variable_name")
                facts.update(variable=variable, value=os.environ.get(variable))
            elif loader == "from_object":
                obj = argument(args, kwargs, 1, "obj")
                facts["object"] = obj if isinstance(obj, str) else qualname(obj)
            elif loader == "from_prefixed_env":
                facts["prefix"] = argument(args, kwargs, 1, "prefix") or "FLASK"
            return facts

        before: ContextVar[dict | None] = ContextVar(f"flaskscope_{loader}", default=None)

        def snapshot(args: tuple, kwargs: dict) -> Facts:
            before.set(dict(args[0]))
            return describe(args, kwargs)

        def after(step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
            old = before.get() or {}
            config = args[0]
            changed = {k: v for k, v in config.items() if k not in old or old[k] is not v}
            self.recorder.annotate(step, {
                "keys": sorted(changed),
                "values": self.recorder.config_values(changed),
                "returned": result if isinstance(result, bool) else None,
            })

        self.patch(flask.Config, loader, Role.CONFIG, describe=snapshot, after=after)

    def _config_setitem(self, original: Callable) -> Callable:
        hooks = self

        def __setitem__(config: Any, key: Any, value: Any) -> None:  # noqa: N807
            original(config, key, value)
            if not hooks.active or hooks.recorder.open_role() == Role.CONFIG:
                return
            with hooks.recorder.guard():
                label = hooks._config_app(config)
                hooks.recorder.note(
                    Role.CONFIG, "Config.__setitem__",
                    {"style": "item", "key": str(key), **({"app": label} if label else {})},
                    hooks.recorder.config_values({str(key): value}),
                )

        return __setitem__

    def _watch_callbacks(self, app: Any) -> None:
        """Watch the functions Flask calls directly during a request (not through
        `ensure_sync`): URL value preprocessors, URL defaults, context processors. Looked
        for again only when their number changed."""
        registries = ((app.url_value_preprocessors, Role.URL_VALUE_PREPROCESSOR),
                      (app.url_default_functions, Role.URL_DEFAULTS),
                      (app.template_context_processors, Role.CONTEXT_PROCESSOR))
        count = sum(len(functions) for registry, _ in registries
                    for functions in registry.values())
        if self._callbacks_seen.get(app) == count:
            return
        self._callbacks_seen[app] = count
        for registry, role in registries:
            for functions in list(registry.values()):
                for function in functions:
                    code = code_of(function)
                    if code is not None and not code.co_filename.startswith(_FLASK_DIR):
                        self.watcher.watch(code, role)

    def _request_exception(self, error: Any) -> None:
        """`got_request_exception` says the request had this exception (Flask sends it for
        an unhandled one, extensions for those their own handling caught)."""
        record = current_request()
        if record is not None and isinstance(error, BaseException) and not isinstance(
                error, HTTPException):
            with self.recorder.guard():
                record.info.setdefault("error", self.recorder.repr(error))

    def _watch_receivers(self, receivers: list[Any]) -> None:
        """Watch the functions a signal is about to call (`receivers_for` its sender)."""
        for function in receivers:
            code = code_of(function)
            if code is not None:
                self.watcher.watch(code, Role.SIGNAL_RECEIVER)

    def _watch_app_extras(self, app: Any) -> bool:
        """Watch the app's own code Flask calls by other ways than the patched ones: methods
        its class (or the instance itself, as Flask-RESTful's `error_router`) puts over
        Flask's, its session interface's, its URL converters'. Whether it has any (then 3.11
        catches for the whole request)."""
        marks = (type(app), type(app.session_interface), tuple(app.url_map.converters.values()),
                 tuple(name for name in _OVERRIDABLE if name in vars(app)))
        known = self._extras_seen.get(app)
        if known is not None and known[0] == marks:
            return known[1]
        found = 0
        for name in marks[3]:
            found += self._watch_code(inspect.unwrap(vars(app)[name]), Role.APP_METHOD,
                                      self._error_seen if name.startswith("handle_") else None)
        for klass in type(app).__mro__:
            if klass.__module__.split(".")[0] in ("flask", "builtins"):
                continue
            for attribute in vars(klass).values():
                found += self._watch_code(attribute, Role.APP_METHOD)
        for klass in type(app.session_interface).__mro__:
            if klass.__module__.split(".")[0] not in ("flask", "builtins"):
                for attribute in vars(klass).values():
                    found += self._watch_code(attribute, Role.SESSION)
        for converter in marks[2]:
            if converter.__module__.split(".")[0] != "werkzeug":
                found += self._watch_code(vars(converter).get("to_python"), Role.CONVERTER)
                found += self._watch_code(vars(converter).get("to_url"), Role.CONVERTER,
                                          facts=_matching_build_facts)
        self._extras_seen[app] = (marks, bool(found))
        return bool(found)

    def _watch_code(self, obj: Any, role: str,
                    before: Callable[[FrameType], None] | None = None,
                    facts: Callable[[FrameType], Facts | None] | None = None) -> bool:
        """Watch a function defined outside Flask and Werkzeug (or a `functools.partial` of
        one, as Flask-RESTful sets `app.handle_exception`); whether it was one."""
        while isinstance(obj, functools.partial):
            obj = obj.func
        code = code_of(obj) if callable(obj) else None
        if code is None or code.co_filename.startswith(_FRAMEWORK_DIRS):
            return False
        self.watcher.watch(code, role, before, facts=facts)
        return True

    def _watch_own_iterable(self, step: int | None, args: tuple, kwargs: dict) -> None:
        """`stream_with_context` calls `iter()` on what it is given: an iterable of the app's
        own class runs its `__iter__` there, a call to catch as a step."""
        given = argument(args, kwargs, 0, "generator_or_function")
        if _iterated(given):
            self._watch_code(getattr(type(given), "__iter__", None), Role.RESPONSE_ITERABLE)

    def _error_seen(self, frame: FrameType) -> None:
        """An extension's own error handling (in place of Flask's) receives an exception:
        an HTTP error makes the outcome `http_error`, as Flask's would. Any other exception
        counts as the request's error when Flask's handling sees it, or when the extension
        sends `got_request_exception` (as Flask-RESTful does): see `_signal_send`."""
        error = next((value for value in argument_values(frame).values()
                      if isinstance(value, HTTPException)), None)
        record = current_request()
        if error is not None and record is not None and not _routed(error):
            record.info.setdefault("http_exception", type(error).__qualname__)

    def _watch_chain(self, view: Any) -> None:
        """Catch the calls of every layer of a registered view during requests."""
        view_class = None
        for obj, chain_link in self._chain_objects(view):
            if chain_link.kind == "view_class":
                view_class = obj
                for layer_code in _method_decorator_codes(obj):
                    self.watcher.watch(layer_code, Role.LAYER)
                for klass in obj.__mro__:  # the __init__ the class runs, if not object's
                    if "__init__" in vars(klass):
                        self._watch_code(vars(klass)["__init__"], Role.VIEW_INIT)
                        break
            code = code_of(obj)
            if code is None:
                continue
            if chain_link.kind == "decorator":
                self.watcher.watch(code, Role.LAYER, facts=self._layer_facts)
            elif chain_link.kind == "view":
                self.watcher.watch(code, Role.VIEW)
            elif chain_link.kind == "method" and chain_link.name in _HTTP_HANDLER_NAMES:
                # Caught however the class's dispatch calls it (MethodView through
                # `ensure_sync`, Flask-RESTful's Resource directly).
                self.watcher.watch(code, Role.HANDLER, before=self._note_handler_reached)
                self._note_lookup_in_line_mode(view_class)
            else:
                self.recorder.remember_code(code)

    # -- routes ---------------------------------------------------------------------------

    def routes_of(self, app: Any) -> list[Route]:
        """The final URL map of `app` with the unwrapped chain behind each endpoint."""
        routes = []
        above_route = self._decorators_above_route(app)
        for rule in rules_by_endpoint(app.url_map):
            view = app.view_functions.get(rule.endpoint)
            chain = tuple(link for _, link in self._chain_objects(view)) if view else ()
            methods = tuple(sorted(rule.methods or ()))
            automatic = self._automatic.get(id(rule))
            if automatic is None:
                automatic = tuple(
                    m for m in methods
                    if (m == "OPTIONS" and getattr(rule, "provide_automatic_options", False))
                    or (m == "HEAD" and "GET" in methods)
                )
            blueprint, _, _ = rule.endpoint.rpartition(".")
            redirect = rule.redirect_to if isinstance(rule.redirect_to, str) else None
            routes.append(Route(
                rule=rule.rule,
                endpoint=rule.endpoint,
                methods=methods,
                blueprint=blueprint or None,
                chain=chain,
                automatic_methods=automatic,
                app=self.app_label(app),
                strict_slashes=bool(rule.strict_slashes),
                redirect_to=redirect,
                decorators_above_route=above_route.get(rule.endpoint, ()),
            ))
        return routes

    def _decorators_above_route(self, app: Any) -> dict[str, tuple[DecoratorAboveRoute, ...]]:
        """What `flaskscope check` finds written above a route, for the trace: the request
        narrative reads only the trace, and must say that no request ran it."""
        try:  # remembered while recording; the memo holds the view modules' objects
            return self._above_route(app) if self.active else decorators_above_route(app)
        except Exception as exc:  # a module too strange to read: the routes say less
            self.recorder.failed(exc)
            return {}

    def _chain_objects(self, view: Any) -> list[tuple[Any, ChainLink]]:
        """(callable, link) pairs outermost first: decorators, view, class, methods.

        Worked out once per view: finding a class's source line reads its file.
        """
        try:
            return self._chains[view]
        except (KeyError, TypeError):
            pass
        pairs = self._unwrap_chain(view)
        try:
            self._chains[view] = pairs
        except TypeError:  # not weakly referenceable: work it out each time
            pass
        return pairs

    def _unwrap_chain(self, view: Any) -> list[tuple[Any, ChainLink]]:
        objects = list(layers(view, stop=_is_generated_view))
        view_class = getattr(view, "view_class", None)
        in_class_decorators = False
        pairs: list[tuple[Any, ChainLink]] = []
        made_with = self._layers_made_with(objects)
        for index, obj in enumerate(objects):
            if getattr(obj, "view_class", None) is not None:
                in_class_decorators = True
            innermost = index == len(objects) - 1
            kind = "view" if innermost else "decorator"
            chain_link = link(
                obj, kind,
                origin="class_decorators" if in_class_decorators and not innermost else None,
            )
            made = made_with[index]
            if made is not None:
                chain_link = dataclasses.replace(chain_link, expression=made.expression,
                                                 occurrence=made.occurrence)
            pairs.append((obj, chain_link))
        if view_class is not None:
            pairs.append((view_class, _class_link(view_class)))
            for name in ("dispatch_request", *_HTTP_HANDLER_NAMES):
                method = inspect.getattr_static(view_class, name, None)
                if name != "dispatch_request" and method is None:
                    continue
                if callable(method):
                    pairs.append((method, link(method, "method")))
        return pairs

    def _layers_made_with(self, objects: list[Any]) -> list[MadeWith | None]:
        """What made each of a view's unwrapped `objects` (outermost first), where the source
        says: a view class's decorators as `as_view` applied them, or the `@...` lines above
        the function at the centre. The centre itself was made by nothing."""
        if not objects:
            return []
        *wrappers, centre = objects
        made: list[MadeWith | None] = [
            self._made_with.get(obj) if _weakly_referenceable(obj) else None for obj in wrappers]
        if not any(made) and not _is_generated_view(centre):
            made = list(function_decorators(centre, [qualname(obj) for obj in wrappers])
                        or made)
        return [*made, None]

    def _layer_facts(self, frame: FrameType) -> Facts | None:
        """Which link of the dispatched view's chain a decorator layer's call is: layers made
        by one factory share their code, so the call is told by its closure (`None` when the
        chain has no such layer, or several that only their place could tell apart)."""
        view = _dispatched_view()
        if view is None:
            return None
        pairs = self._chain_objects(view)
        found = [position for position, (obj, chain_link) in enumerate(pairs)
                 if chain_link.kind == "decorator" and code_of(obj) is frame.f_code
                 and _same_closure(obj, frame)]
        return {"layer": found[0]} if len(found) == 1 else None

    def _layer_facts_of(self, func: Any) -> Facts | None:
        """`_layer_facts` for a layer called through a proxy, which holds the function."""
        view = _dispatched_view()
        if view is None:
            return None
        found = [position for position, (obj, chain_link) in enumerate(self._chain_objects(view))
                 if chain_link.kind == "decorator" and obj is func]
        return {"layer": found[0]} if len(found) == 1 else None

    # -- requests -------------------------------------------------------------------------

    def _wsgi_app(self, original: Callable) -> Callable:
        hooks = self
        recorder = self.recorder
        code = code_of(original)

        @functools.wraps(original)
        def wsgi_app(app: Any, environ: dict, start_response: Callable) -> Any:
            if not hooks.active:
                return original(app, environ, start_response)
            handle = step = None
            extras = False
            with recorder.guard():
                handle, info = begin_wsgi_request(recorder, environ)
                recorder.add_subject(app, hooks.routes_of)
                hooks._watch_callbacks(app)
                extras = hooks._watch_app_extras(app)
                step = recorder.call(code, {**environ_detail(environ, recorder),
                                            **body_detail(handle[0].info)}, role=Role.REQUEST,
                                     facts={**info, "app": hooks.app_label(app)})
            try:
                if hooks.lines is not None:
                    with hooks.lines.tracing():
                        result = original(app, environ, start_response)
                elif extras:  # the app's own methods run anywhere in the request (3.11)
                    with hooks.watcher.catching():
                        result = original(app, environ, start_response)
                else:
                    result = original(app, environ, start_response)
            except BaseException as error:
                with recorder.guard():
                    recorder.leave(step, error=error)
                    if handle is not None:
                        _left_the_app(handle[0].info, recorder.repr(error))
                    hide_own_frames(error)  # what the server prints
                raise
            else:
                with recorder.guard():
                    record = handle[0] if handle is not None else None
                    recorder.leave(step, result=result, facts=None if record is None else {
                        "status": record.info.get("status")
                    })
                    if record is not None and step is not None:
                        return watched_body(result, environ, recorder, record, step)
                return result
            finally:
                if handle is not None:
                    with recorder.guard():
                        settle_outcome(handle[0].info)
                        recorder.end_request(handle)

        return wsgi_app

    def _after_match(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        record = current_request()
        request = args[0].request
        facts: Facts = {"path": request.path, "method": request.method}
        error = request.routing_exception
        if error is None and request.url_rule is not None:
            facts.update(matched=True, rule=request.url_rule.rule,
                         endpoint=request.url_rule.endpoint,
                         view_args=self.recorder.view_args(request.view_args or {}))
            info = {"rule": request.url_rule.rule, "endpoint": request.url_rule.endpoint,
                    "view_args": facts["view_args"]}
        else:
            facts["matched"] = False
            info = {"outcome": "error"}
            if isinstance(error, HTTPException):  # e.g. SecurityError: a host not trusted
                info = {"http_exception": type(error).__qualname__}
            if isinstance(error, RequestRedirect):
                reason = "strict_slashes" if error.new_url.split("?")[0].endswith(
                    request.path.rstrip("/") + "/") else "redirect"
                facts.update(outcome="redirect", redirect_to=error.new_url, reason=reason,
                             status=error.code, target_rule=_target_rule(args[0], error.new_url,
                                                                         request.method))
                info = {"outcome": "redirect", "redirect_to": error.new_url}
            elif isinstance(error, MethodNotAllowed):
                allowed = sorted(error.valid_methods or ())
                matched = [miss for miss in _near_misses(args[0], request)
                           if miss["reason"] == "method_not_allowed"]
                facts.update(outcome="method_not_allowed", allowed_methods=allowed, status=405,
                             matched_rules=[miss["rule"] for miss in matched])
                info = {"outcome": "method_not_allowed", "allowed_methods": allowed}
            elif isinstance(error, NotFound):
                facts.update(outcome="not_found", status=404,
                             near_misses=_near_misses(args[0], request))
                info = {"outcome": "not_found"}
            if error is not None:
                facts["exception"] = self.recorder.repr(error)
        self.recorder.annotate(step, facts)
        if record is not None:
            record.info.update(info)

    def _after_dispatch(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        """Name the view, and which of its layers ran and which never did."""
        request = _flask_request()
        rule = request.url_rule
        record = current_request()
        if rule is None or record is None:
            return
        view = args[0].view_functions.get(rule.endpoint)
        ran = record.calls_since(step or 0)
        layers = [link for _, link in self._chain_objects(view)
                  if link.kind in ("decorator", "view") or link.kind == "method"
                  and link.name in ("dispatch_request", request.method.lower(), "get")]
        self.recorder.annotate(step, {
            "endpoint": rule.endpoint,
            "view": qualname(view),
            "entered": [link.qualname for link in layers if (link.file, link.line) in ran],
            "not_entered": [link.qualname for link in layers
                            if (link.file, link.line) not in ran],
        })

    def _dispatch_failed(self, step: int | None, args: tuple, kwargs: dict,
                         error: BaseException) -> None:
        self._after_dispatch(step, args, kwargs, None)

    def _after_response(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        value = argument(args, kwargs, 1, "rv")
        facts: Facts = {
            "from_type": type(value).__name__,
            "status": getattr(result, "status_code", None),
            "mimetype": getattr(result, "mimetype", None),
        }
        body = value[0] if isinstance(value, tuple) and value else value
        if isinstance(body, dict | list) and facts["mimetype"] == "application/json":
            facts["json"] = _json_serializer(args[0] if args else None)
        self.recorder.annotate(step, facts)

    def _after_finalize(self, step: int | None, args: tuple, kwargs: dict, result: Any) -> None:
        record = current_request()
        status = getattr(result, "status_code", None)
        self.recorder.annotate(step, {"status": status})
        if record is not None:
            record.info["status"] = status
            headers = getattr(result, "headers", None)
            if headers is not None:
                learn_set_cookie(self.recorder, headers.items())
            location = _location_sent(result, getattr(_flask_request(), "environ", None))
            if location and 300 <= (status or 0) < 400:
                record.info.setdefault("redirect_to", location)
            request = _flask_request()
            read: dict[str, Any] = {}
            if "form" in vars(request):
                read["form"] = self.recorder.named(request.form.to_dict())
            if getattr(request, "_cached_json", (Ellipsis, Ellipsis))[0] is not Ellipsis:
                read["json"] = self.recorder.repr(request._cached_json[0])
            if read:
                self.recorder.annotate(step, {"request_data": read})

    def _describe_error(self, args: tuple, kwargs: dict) -> Facts:
        error = argument(args, kwargs, 1, "e")
        if isinstance(error, BaseException):
            hide_own_frames(error)  # Flask logs this traceback (`log_exception`)
        record = current_request()
        if record is not None and not isinstance(error, HTTPException):
            record.info.setdefault("error", self.recorder.repr(error))
        elif record is not None and not _routed(error):
            record.info.setdefault("http_exception", type(error).__qualname__)  # an abort()
        return {
            "exception": type(error).__qualname__,
            "http": isinstance(error, HTTPException),
            "code": getattr(error, "code", None),
        }

    def _after_find_error_handler(
        self, step: int | None, args: tuple, kwargs: dict, result: Any
    ) -> None:
        error = argument(args, kwargs, 1, "e")
        self.recorder.annotate(step, {
            "exception": type(error).__qualname__,
            "handler": qualname(result) if result is not None else None,
        })
        if current_request() is not None:
            self.recorder.note(Role.ERROR_HANDLER, "error handler", {
                "exception": type(error).__qualname__,
                "code": getattr(error, "code", None),
                "handler": qualname(result) if result is not None else None,
                "where": _where(result) if result is not None else None,
                **_found_under(args[0], error, argument(args, kwargs, 2, "blueprints"), result),
            })

    def _ensure_sync(self, original: Callable) -> Callable:
        hooks = self

        @functools.wraps(original)
        def ensure_sync(app: Any, func: Callable) -> Callable:
            if not hooks.active or current_request() is None:
                return original(app, func)
            is_async = None
            with hooks.recorder.guard():  # a failure is counted, and Flask's answer stands
                role = _role_of_synced(func, hooks.recorder.open_role(), app)
                is_async = _is_coroutine_function(func)
            if is_async is None:
                return original(app, func)
            if not is_async:
                synced = proxy = original(app, func)
                with hooks.recorder.guard():
                    proxy = hooks._proxy_call(synced, func, role)
                return proxy
            step = None
            with hooks.recorder.guard():
                step = hooks.recorder.call(
                    code_of(original), hooks.recorder.named({"func": func}),
                    role=Role.ASYNC_BRIDGE, facts={"function": qualname(func), "coroutine": True},
                )
            return hooks.run_then_leave(step, original, app,
                                        hooks._recorded_coroutine(func, role))

        return ensure_sync

    def _recorded_coroutine(self, func: Callable, role: str | None) -> Callable:
        """An async function Flask runs, recorded where its coroutine runs: in the event
        loop's thread, with watched-code catching on. The step is the coroutine's own, inside
        whatever ran the loop (with `--lines` on 3.12+ those calls are steps too), never
        around `async_to_sync`'s machinery."""
        hooks = self
        code, watched_role, _ = self._proxied(func, role)

        @functools.wraps(func)
        async def run(*args: Any, **kwargs: Any) -> Any:
            if not hooks.active:
                return await func(*args, **kwargs)
            with hooks.watcher.catching():
                step = hooks._open_proxy_step(func, code, role, watched_role, True, args,
                                              kwargs)
                return await hooks._leaving(step, func, role, func(*args, **kwargs))

        return run

    async def _leaving(self, step: int | None, func: Callable, role: str | None,
                       awaitable: Any) -> Any:
        try:
            result = await awaitable
        except BaseException as error:
            self._left_with(step, func, role, error)
            raise
        with self.recorder.guard():
            self.recorder.leave(step, result=result)
        return result

    def _proxied(self, func: Callable, role: str | None
                 ) -> tuple[CodeType | None, str | None, bool]:
        """The code of a function Flask runs, the role the watcher knows it by, and whether
        watched code lies inside it: layers, or the handlers (and their method decorators)
        of a class whose own dispatch calls them without `ensure_sync`."""
        code = code_of(func)
        watched_role = self.watcher.role_of(code) if code is not None else None
        outer_layer = watched_role == Role.LAYER or (
            role == Role.CLASS_DISPATCH and code is not None
            and not code.co_filename.startswith(_FLASK_DIR)) or _has_own_init(func)
        return code, watched_role, outer_layer

    def _left_with(self, step: int | None, func: Callable, role: str | None,
                   error: BaseException) -> None:
        with self.recorder.guard():
            if role == Role.CLASS_DISPATCH and isinstance(error, AssertionError):
                self._note_unimplemented(func, error)
            self.recorder.leave(step, error=error)

    def _proxy_call(self, callable_: Callable, func: Callable, role: str | None) -> Callable:
        """Record one call of a function Flask runs (before/after functions, views, handlers).

        A function whose code is watched is recorded by the watcher instead, so it is never
        recorded twice; the proxy then only switches catching on. When catching is not
        possible (another trace function is set on 3.11) the proxy records it itself.
        """
        hooks = self
        recorder = self.recorder
        code, watched_role, outer_layer = self._proxied(func, role)
        if HAS_MONITORING and watched_role is not None and role != Role.CLASS_DISPATCH:
            # 3.12+ catches watched code wherever it runs, with no window to open: the proxy
            # would open no step and leave none (a class's dispatch, which notes an
            # unimplemented method, is never watched code). Flask gets its own callable.
            return callable_

        def call(*args: Any, **kwargs: Any) -> Any:
            if not hooks.active:
                return callable_(*args, **kwargs)
            with hooks.watcher.catching(start=outer_layer) as catching:
                step = hooks._open_proxy_step(func, code, role, watched_role, catching, args,
                                              kwargs)
                try:
                    result = callable_(*args, **kwargs)
                except BaseException as error:
                    hooks._left_with(step, func, role, error)
                    raise
            with recorder.guard():
                recorder.leave(step, result=result)
            return result

        return call

    def _open_proxy_step(self, func: Callable, code: CodeType | None, role: str | None,
                         watched_role: str | None, catching: bool, args: tuple,
                         kwargs: dict) -> int | None:
        """The call step of a proxied function (None when the watcher records it)."""
        recorder = self.recorder
        step = None
        with recorder.guard():
            if watched_role is not None and catching:
                return None  # the watcher records it (and, for a handler, its lookup)
            if role == Role.HANDLER:
                self._note_handler_lookup(getattr(func, "__self__", None),
                                          getattr(func, "__name__", None), qualname(func),
                                          recorder.repr(func))
            values: dict[Any, Any] = _bound(code, func, args) if code else dict(enumerate(args))
            values.update(kwargs)
            step = recorder.call(code, recorder.named({str(k): v for k, v in values.items()}),
                                 name=None if code else qualname(func),
                                 role=watched_role or role,
                                 facts=self._layer_facts_of(func)
                                 if watched_role == Role.LAYER else None)
            if role == Role.CLASS_DISPATCH:
                instance = getattr(func, "__self__", None)
                recorder.note(Role.VIEW_INSTANCE, qualname(type(instance)), {
                    "view_class": qualname(type(instance)),
                    "instance": recorder.repr(instance),
                })
        return step

    def _note_lookup_in_line_mode(self, view_class: type | None) -> None:
        """In line mode the lookup is noted when the dispatch's `getattr` line has run, from
        the value it gave (the handler's start would place it after `ensure_sync`)."""
        if self.lines is None or view_class is None:
            return
        dispatch = code_of(getattr(view_class, "dispatch_request", None))
        _, line, target = _lookup_line(view_class)
        if dispatch is not None and line is not None and target is not None:
            self.lines.after_line(dispatch, line,
                                  functools.partial(self._note_looked_up, target))

    def _note_looked_up(self, target: str, frame: FrameType) -> None:
        """The dispatch's `getattr` line has run: note what it gave (`target` holds it)."""
        code = frame.f_code
        instance = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None
        if not isinstance(instance, flask.views.View) or current_request() is None:
            return
        found = frame.f_locals.get(target)
        if found is None and _flask_request().method == "HEAD":
            found = getattr(instance, "get", None)
        handler = getattr(found, "__func__", None)
        if handler is None:
            return  # nothing to call: `_note_unimplemented` tells the failure
        self._note_handler_lookup(instance, handler.__name__, qualname(handler),
                                  self.recorder.repr(found))

    def _note_handler_reached(self, frame: FrameType) -> None:
        """A view class's handler method is about to run: note how its dispatch found it."""
        code = frame.f_code
        instance = frame.f_locals.get(code.co_varnames[0]) if code.co_argcount else None
        if not isinstance(instance, flask.views.View):
            return
        self._note_handler_lookup(instance, code.co_name, code.co_qualname,
                                  f"<bound method {code.co_qualname}>")

    def _note_handler_lookup(self, instance: Any, name: str | None, handler: str,
                             shown: str) -> None:
        """The note of `getattr(self, request.method.lower())` in the class's dispatch,
        at the line of that `getattr`: once per view instance, whoever sees it first (the
        dispatch's line in line mode, the `ensure_sync` proxy, the handler's start)."""
        record = current_request()
        noted = (id(record), getattr(record, "start_ns", 0), id(instance))
        if self._lookup_noted.get() == noted:
            return
        self._lookup_noted.set(noted)
        method = _flask_request().method
        tried = method.lower()
        found = _defined_on(type(instance), tried)
        file, line, _ = _lookup_line(type(instance))
        self.recorder.note(Role.HANDLER_LOOKUP, "getattr", {
            "method": method,
            "tried": tried,
            "found": found,
            "fallback": name if not found and method == "HEAD" else None,
            "handler": handler,
        }, {"meth": shown}, file=file, line=line)

    def _note_unimplemented(self, dispatch: Callable, error: BaseException) -> None:
        if "Unimplemented method" not in str(error):
            return
        method = _flask_request().method
        self.recorder.note(Role.HANDLER_LOOKUP, "getattr", {
            "method": method,
            "tried": method.lower(),
            "found": False,
            "fallback": None,
            "handler": None,
            "error": str(error),
        })

    def _signal_send(self, name: str, original: Callable) -> Callable:
        hooks = self
        recorder = self.recorder
        signal = getattr(flask.signals, name)

        @functools.wraps(original)
        def send(*args: Any, **kwargs: Any) -> Any:
            if name == "got_request_exception" and hooks.active:
                hooks._request_exception(kwargs.get("exception"))
            # Flask before 2.3 without blinker has stand-ins with no receivers at all.
            if (not hooks.active or not getattr(signal, "receivers", None)
                    or getattr(signal, "is_muted", False)):
                return original(*args, **kwargs)  # a signal nobody listens to: no step
            step = None
            with recorder.guard():
                receivers = list(signal.receivers_for(args[0] if args else None))
            if not receivers:  # listeners, but for other senders (another app)
                return original(*args, **kwargs)
            with recorder.guard():
                hooks._watch_receivers(receivers)
                step = recorder.call(code_of(original), None, name=f"signals.{name}.send",
                                     role=Role.SIGNAL,
                                     facts={"signal": name, "receivers": len(receivers)})
            with hooks.watcher.catching():
                return hooks.run_then_leave(step, original, *args, **kwargs)

        return send


def _found_under(app: Any, error: BaseException, blueprints: Any, handler: Any) -> Facts:
    """Where `_find_error_handler` found `handler`: the code or class key, the blueprint, and
    the class of the exception's MRO it was registered for. The same walk as Flask's, over
    `error_handler_spec` only (dict look-ups; no code of the app runs)."""
    if handler is None or not isinstance(error, Exception):
        return {}
    try:
        # Flask's own (an app's override is not run again; then nothing is found).
        exc_class, code = anatomy.App._get_exc_class_and_code(type(error))
        for by_code in (code, None) if code is not None else (None,):
            for name in (*(blueprints or ()), None):
                handlers = app.error_handler_spec.get(name, {}).get(by_code) or {}
                for position, cls in enumerate(exc_class.__mro__):
                    if handlers.get(cls) is handler:
                        return {"registered_for": qualname(cls), "by_code": by_code,
                                "blueprint": name, "mro_position": position}
    except Exception:  # an app too strange to ask: the note says less, nothing false
        return {}
    return {}


def _describe_url_for(endpoint_at: int, args: tuple, kwargs: dict) -> Facts:
    facts: Facts = {"endpoint": str(argument(args, kwargs, endpoint_at, "endpoint"))}
    caller = app_caller("url_for")
    if caller is not None:
        facts["caller"] = caller
    return facts


def _json_serializer(app: Any) -> Facts:
    """What turned a returned dict or list into JSON: the app's JSON provider (Flask 2.2+,
    `app.json`) or, before, `jsonify` with the app's `json_encoder` class."""
    if anatomy.JSON_PROVIDERS:
        return {"provider": qualname(type(getattr(app, "json", None)))}
    return {"encoder": qualname(getattr(app, "json_encoder", None))}


def _describe_make_response(args: tuple, kwargs: dict) -> Facts:
    caller = app_caller("make_response")  # None when Flask made the response itself
    return {} if caller is None else {"caller": caller}


def app_caller(name: str) -> dict[str, Any] | None:
    """The function of the app or an extension that called Flask's method `name` (maybe
    through Flask's helper of that name, `flask.url_for`): the narrative names who called,
    which need not be the step above it. None when Flask or Werkzeug made the call, also
    through an app's override of `name` handing it on with `super()`."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and (frame.f_code.co_filename.startswith(OWN_DIRS)
                                 or frame.f_code.co_filename == _FLASK_HELPERS
                                 or frame.f_code.co_name == name):
        frame = frame.f_back
    if frame is None or frame.f_code.co_filename.startswith(_LIBRARY_DIRS):
        return None
    return {"function": frame.f_code.co_qualname, "file": frame.f_code.co_filename,
            "line": current_line(frame)}


def _describe_template_name(args: tuple, kwargs: dict) -> Facts:
    name = argument(args, kwargs, 0, "template_name_or_list")
    return {"template": name if isinstance(name, str) else repr(name)}


def _describe_streamed(args: tuple, kwargs: dict) -> Facts:
    given = argument(args, kwargs, 0, "generator_or_function")
    if isinstance(given, GeneratorType):  # named after the function that made it
        return {"wraps": str(given.__qualname__), "given": "iterable"}
    if _iterated(given):
        return {"wraps": qualname(type(given)), "given": "iterable"}
    return {"wraps": qualname(given), "given": "function"}


def _iterated(given: Any) -> bool:
    """Whether `stream_with_context` iterates `given` (`iter()` succeeds) rather than
    decorating it: asked of its class, so none of the app's code runs."""
    cls = type(given)
    return (getattr(cls, "__iter__", None) is not None
            or getattr(cls, "__getitem__", None) is not None)


def _describe_render(args: tuple, kwargs: dict) -> Facts:
    template = argument(args, kwargs, 1, "template")
    return {"template": str(getattr(template, "name", None) or "<string>")}


def _left_the_app(info: dict[str, Any], error: str) -> None:
    """An exception left `wsgi_app` (in a teardown function, say): whatever status the
    response had, the app gave none (a server answers 500 on its own, the test client
    raises)."""
    info.setdefault("error", error)
    info["outcome"] = "error"
    info["status"] = None


def _flask_request() -> Any:
    """The request being handled, read from Flask's context variable. The `flask.request`
    proxy runs a dozen lines of Werkzeug per use, and in line mode each is an event the
    engine has to look at and drop."""
    context = getattr(flask.globals, "_cv_request", None)
    if context is None:  # a Flask without it: the proxy
        return cast("LocalProxy[Any]", flask.request)._get_current_object()
    return context.get().request


def _location_sent(response: Any, environ: Any) -> str | None:
    """The Location header as the response will send it. With `autocorrect_location_header`
    (on by default before Werkzeug 2.1) `get_wsgi_headers` makes a relative one absolute
    when the server calls the response; asked here, it answers the same (it reads the
    response and the environ, and changes neither)."""
    location = getattr(response, "location", None)
    if not (isinstance(location, str) and getattr(response, "autocorrect_location_header", False)
            and isinstance(environ, dict)):
        return location
    try:
        sent = response.get_wsgi_headers(environ).get("Location")
    except Exception:  # a response class of the app's own making: keep what it holds
        return location
    return sent if isinstance(sent, str) else location


def _matching_build_facts(frame: FrameType) -> Facts | None:
    """A converter's `to_url` run while werkzeug matches: which part of matching built."""
    reason = build_reason(frame)
    return {"built_for": reason} if reason else None


def _dispatched_view() -> Any:
    """The registered view of the endpoint the current request matched (None outside a
    request, or before it matched)."""
    context = getattr(flask.globals, "_cv_request", None)
    if context is not None:
        request_context = context.get(None)
        if request_context is None:
            return None
        request, app = request_context.request, request_context.app
    elif flask.has_request_context():  # a Flask without it: the proxies
        request, app = _flask_request(), cast(Any, flask.current_app)._get_current_object()
    else:
        return None
    rule = request.url_rule
    return None if rule is None else app.view_functions.get(rule.endpoint)


_MISSING = object()


def _same_closure(func: Any, frame: FrameType) -> bool:
    """Whether `frame` runs `func`: each of the frame's free variables holds what `func`'s
    closure does (two functions made by one factory share their code, not their cells)."""
    closure = getattr(getattr(func, "__func__", func), "__closure__", None) or ()
    values = frame.f_locals
    for name, cell in zip(frame.f_code.co_freevars, closure, strict=False):
        try:
            held = cell.cell_contents
        except ValueError:  # an empty cell: the frame has no value for it either
            if name in values:
                return False
            continue
        if values.get(name, _MISSING) is not held:
            return False
    return True


def _weakly_referenceable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


_FLASK_DIR = os.path.join(os.path.dirname(flask.__file__), "")
_FRAMEWORK_DIRS = (_FLASK_DIR, os.path.join(os.path.dirname(werkzeug.__file__), ""))
#: Methods Flask calls on the app that an extension may replace on the instance.
_OVERRIDABLE = ("handle_user_exception", "handle_exception", "handle_http_exception",
                "dispatch_request", "full_dispatch_request", "make_response",
                "log_exception", "finalize_request", "preprocess_request", "process_response")


def _routed(error: BaseException) -> bool:
    """Whether `error` is how the URL failed to route (404, 405, a redirect: the outcome
    says so); any other HTTP error, even one raised while the URL was being bound (an
    untrusted host), counts as an HTTP error."""
    return (error is _flask_request().routing_exception
            and isinstance(error, NotFound | MethodNotAllowed | RequestRedirect))


def _has_own_init(view: Any) -> bool:
    """Whether `view` is made by `as_view` from a class with an `__init__` of its own (run
    by the generated `view` at each request, and watched)."""
    view_class = getattr(view, "view_class", None)
    if not isinstance(view_class, type):
        return False
    init = next((vars(klass)["__init__"] for klass in view_class.__mro__
                 if "__init__" in vars(klass)), None)
    code = code_of(init)
    return code is not None and not code.co_filename.startswith(_FRAMEWORK_DIRS)


def _lookup_line(view_class: type) -> tuple[str | None, int | None, str | None]:
    """Where the `dispatch_request` a view class runs looks its handler up by name: the
    first line of it calling `getattr`, and the name that line assigns the result to, if
    it is a plain `name = getattr(...)` (Nones when it has no such line)."""
    dispatch = getattr(view_class, "dispatch_request", None)
    code = code_of(dispatch)
    if code is None:
        return None, None, None
    known = _lookup_lines.get(code)
    if known is None:
        numbers = sorted({n for _, _, n in code.co_lines() if n is not None})
        lines = linecache.getlines(code.co_filename)
        found = next((n for n in numbers if 0 < n <= len(lines) and "getattr(" in lines[n - 1]),
                     None)
        assigned = _ASSIGNED_GETATTR.match(lines[found - 1]) if found else None
        known = _lookup_lines[code] = ((code.co_filename, found,
                                        assigned.group(1) if assigned else None)
                                       if found else (None, None, None))
    return known


_lookup_lines: weakref.WeakKeyDictionary[CodeType, tuple[str | None, int | None, str | None]] = (
    weakref.WeakKeyDictionary())
_ASSIGNED_GETATTR = re.compile(r"\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*getattr\(")


def _method_decorator_codes(view_class: Any) -> list[CodeType]:
    """The code of the wrappers a view class's `method_decorators` (Flask-RESTful,
    flask-restx) put around its handler at each request: functions defined inside each
    decorator (one level deep, as `functools.wraps`-style decorators define them)."""
    decorators = getattr(view_class, "method_decorators", None)
    if isinstance(decorators, dict):  # Flask-RESTful: per method
        decorators = [d for group in decorators.values() for d in group]
    if not isinstance(decorators, list | tuple):
        return []
    codes: list[CodeType] = []
    for decorator in decorators:
        code = code_of(decorator)
        if code is None:
            continue
        codes.extend(const for const in code.co_consts if isinstance(const, CodeType))
    return codes


def _defined_on(cls: type, name: str) -> bool:
    """Whether `cls` or a base class defines `name` as something other than None (read from
    the class dictionaries, as `inspect.getattr_static` would, at a tenth of its cost)."""
    for klass in cls.__mro__:
        namespace = vars(klass)
        if name in namespace:
            return namespace[name] is not None
    return False


def _coroutine_mark() -> object | None:
    """What `inspect.markcoroutinefunction` (3.12+) sets a function's `_is_coroutine_marker`
    to, learned by marking one (3.11 marks nothing: a mark no function has); None if it
    marks some other way, and then every answer is inspect's."""
    mark = getattr(inspect, "markcoroutinefunction", None)
    if mark is None:
        return object()

    def probe() -> None:
        pass

    mark(probe)
    return probe.__dict__.get("_is_coroutine_marker")


_COROUTINE_MARK = _coroutine_mark()


def _is_coroutine_function(func: Any) -> bool:
    """`inspect.iscoroutinefunction(func)`: for a plain function or a method bound to one
    (what Flask's `ensure_sync` is given) read straight from its code's flags and its mark,
    skipping inspect's unwrapping of partials and partial methods (a tenth of what the
    stand-in cost, three times a request); anything else is asked of inspect."""
    target = func.__func__ if type(func) is MethodType else func
    if (type(target) is not FunctionType or _COROUTINE_MARK is None
            or "__partialmethod__" in target.__dict__):
        return inspect.iscoroutinefunction(func)
    return bool(target.__code__.co_flags & inspect.CO_COROUTINE) or (
        target.__dict__.get("_is_coroutine_marker") is _COROUTINE_MARK)


def _role_of_synced(func: Callable, phase: str | None, app: Any) -> str | None:
    """What a function passed to `ensure_sync` is: a view class's dispatch or handler by
    what it is bound to, a `before_first_request` function Flask 2.2 runs inline in
    `full_dispatch_request` (no phase of its own) by the app's list, anything else by the
    phase it runs in."""
    instance = getattr(func, "__self__", None)
    if isinstance(instance, flask.views.View):
        if getattr(func, "__name__", None) == "dispatch_request":
            return Role.CLASS_DISPATCH
        return Role.HANDLER
    if phase is None and any(f is func for f in getattr(app, "before_first_request_funcs", ())):
        return Role.BEFORE_FIRST_REQUEST_FUNCTION
    return _ROLE_UNDER.get(phase)


def _runs_first_request_functions(args: tuple, kwargs: dict) -> bool:
    """Whether Flask 2.0/2.1's trigger will run `before_first_request` functions now."""
    app = args[0] if args else None
    return bool(getattr(app, "before_first_request_funcs", None)) and not getattr(
        app, "_got_first_request", True)


def _describe_first_request(args: tuple, kwargs: dict) -> Facts | None:
    """`full_dispatch_request` of an app with `before_first_request` functions: their names,
    and whether this request is the one to run them (it is until one request ran them all)."""
    app = args[0] if args else None
    functions = getattr(app, "before_first_request_funcs", None)
    if not functions:
        return None
    return {"before_first_request": [qualname(f) for f in functions],
            "first_request": not getattr(app, "_got_first_request", True)}


# -- describing arguments ---------------------------------------------------------------


def _bound(code: Any, func: Callable, args: tuple) -> dict[Any, Any]:
    names = code.co_varnames[: code.co_argcount]
    if hasattr(func, "__self__"):
        names = names[1:]
    return {names[i] if i < len(names) else f"arg{i}": value for i, value in enumerate(args)}


def _describe_route(args: tuple, kwargs: dict) -> Facts:
    options = {k: v for k, v in kwargs.items() if k != "rule"}
    owner = args[0]
    is_blueprint = isinstance(owner, anatomy.Blueprint)
    return {
        "rule": argument(args, kwargs, 1, "rule"),
        "endpoint": options.get("endpoint"),
        "methods": list(options["methods"]) if options.get("methods") else None,
        "options": sorted(options),
        "owner": "blueprint" if is_blueprint else "app",
        "blueprint": owner.name if is_blueprint else None,
        "called_from": called_from(),
    }


def _describe_add_url_rule(args: tuple, kwargs: dict) -> Facts:
    view = argument(args, kwargs, 3, "view_func")
    return {
        "rule": argument(args, kwargs, 1, "rule"),
        "endpoint_argument": argument(args, kwargs, 2, "endpoint"),
        "view": qualname(view) if view is not None else None,
        "called_from": called_from(),
    }


def _describe_blueprint_deferred(args: tuple, kwargs: dict) -> Facts:
    facts = _describe_add_url_rule(args, kwargs)
    facts.update(blueprint=args[0].name, deferred=True)
    return facts


def _describe_setup_state_rule(args: tuple, kwargs: dict) -> Facts:
    state = args[0]
    facts = _describe_add_url_rule(args, kwargs)
    facts.update(
        blueprint=state.name,
        url_prefix=state.url_prefix,
        name_prefix=state.name_prefix,
        subdomain=state.subdomain,
    )
    return facts


def _describe_blueprint(args: tuple, kwargs: dict) -> Facts:
    blueprint = argument(args, kwargs, 1, "blueprint")
    return {
        "blueprint": kwargs.get("name", getattr(blueprint, "name", None)),
        "url_prefix": kwargs.get("url_prefix", getattr(blueprint, "url_prefix", None)),
        "called_from": called_from(),
    }


def _describe_blueprint_register(args: tuple, kwargs: dict) -> Facts:
    blueprint = args[0]
    options = argument(args, kwargs, 2, "options") or {}
    return {
        "blueprint": options.get("name", blueprint.name),
        "url_prefix": options.get("url_prefix", blueprint.url_prefix),
    }


def _describe_as_view(args: tuple, kwargs: dict) -> Facts:
    cls = args[0]
    return {
        "view_class": qualname(cls),
        "name": argument(args, kwargs, 1, "name"),
        "decorators": [qualname(d) for d in (getattr(cls, "decorators", ()) or ())],
        "class_methods": sorted(getattr(cls, "methods", None) or ()),
        "handlers": [name for name in _HTTP_HANDLER_NAMES
                     if callable(inspect.getattr_static(cls, name, None))],
        "called_from": called_from(),
    }


_FLASK_HELPERS = flask.helpers.__file__
_LIBRARY_DIRS = (
    os.path.dirname(flask.__file__) + os.sep,
    os.path.dirname(werkzeug.__file__) + os.sep,
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,  # tracer/
    os.path.dirname(functools.__file__) + os.sep,  # the standard library (contextlib, ...)
)


def called_from() -> dict[str, Any] | None:
    """Where the user's code made the current registration call: the first frame outside
    Flask, Werkzeug, flaskscope and the standard library."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_LIBRARY_DIRS) and not filename.startswith("<frozen"):
            return {"file": filename, "line": current_line(frame)}
        frame = frame.f_back
    return None


#: Code objects this large get their lines looked up in a table built once.
_LONG_CODE = 4096
#: id(code) -> (the code, weakly; its line per instruction). Keyed by id: hashing a code
#: object hashes its constants, nested code objects included, which is as slow as the
#: lookup this saves.
_instruction_lines: dict[int, tuple[weakref.ref[CodeType], list[int | None]]] = {}


def current_line(frame: FrameType) -> int | None:
    """`frame.f_lineno`, without its cost in long code objects.

    `f_lineno` decodes the code's line table from the start on every read, so a module
    registering 2,000 routes at import paid time proportional to its length for each
    one. A long code object's line per instruction is listed once instead.
    """
    code = frame.f_code
    if len(code.co_code) < _LONG_CODE:
        return frame.f_lineno
    known = _instruction_lines.get(id(code))
    if known is None or known[0]() is not code:
        if len(_instruction_lines) > 64:
            _instruction_lines.clear()
        known = _instruction_lines[id(code)] = (
            weakref.ref(code), [start for start, *_ in code.co_positions()])
    line = known[1][frame.f_lasti // 2]
    return frame.f_lineno if line is None else line


def _target_rule(context: Any, url: str, method: str) -> str | None:
    """The rule a redirect's target reaches, asked of the app's own URL map."""
    adapter = context.url_adapter
    if adapter is None:
        return None
    return rule_reached(adapter, urlsplit(url).path, method)


def _near_misses(context: Any, request: Any) -> list[dict[str, Any]]:
    """Why the path matched no rule, asked of werkzeug with the app's own URL map."""
    adapter = context.url_adapter
    if adapter is None:
        return []
    return near_misses(adapter.map, request.path, request.method, host=request.host,
                       subdomain=adapter.subdomain or None)


def _where(func: Any) -> dict[str, Any] | None:
    if func is None:
        return None
    code = code_of(func)
    return {
        "qualname": qualname(func),
        "file": code.co_filename if code else None,
        "line": code.co_firstlineno if code else None,
    }


def _class_link(cls: type) -> ChainLink:
    try:
        file = inspect.getsourcefile(cls)
        line = inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        file, line = None, None
    return ChainLink(kind="view_class", name=cls.__name__, qualname=cls.__qualname__,
                     file=file, line=line)
