"""The statements of Flask's source that the narrative quotes with ``--source``.

An entry may hold one statement as each supported Flask version writes it (Flask 3.1's
`ctx._session`, 2.x's `ctx.session`): a version has one of them, the others are not found.

Each entry is text that appears in a Flask 3.1 function whose body the trace embeds.
They are looked up in the trace's own sources, never in the installed files, so a quote is
always the code that was there; a statement that a later Flask rewrote is simply not quoted.
A statement is quoted only where the recorded steps show it ran: a branch is split into
its own entry, quoted when the facts say it was taken. `process_response` calls its
after-request functions from two identical lines (`after_this_request` ones, then the
registered ones) and the steps do not say which: neither is quoted.
"""

from __future__ import annotations

#: `Scaffold.route` (and `endpoint`) hand back their inner function.
ROUTE_RETURNS_DECORATOR = ("return decorator",)
#: `decorator` inside `Scaffold.route`.
ROUTE_DECORATOR = ('options.pop("endpoint", None)', "self.add_url_rule(rule, endpoint, f")
ROUTE_DECORATOR_RETURN = ("return f",)
#: `App.add_url_rule`, by the point a sentence makes.
ENDPOINT_INFERRED = ("if endpoint is None:", "endpoint = _endpoint_from_view_func(view_func)",
                     'options["endpoint"] = endpoint')
#: `_endpoint_from_view_func`; Flask 2.0 and 2.1 assert first that there is a function.
ENDPOINT_FUNCTION = ("assert view_func is not None", "return view_func.__name__")
METHODS_POPPED = ('methods = options.pop("methods", None)',)
METHODS_DEFAULT = ('methods = getattr(view_func, "methods", None) or ("GET",)',)
METHODS_OPTIONS = ('required_methods.add("OPTIONS")',)
METHODS_REQUIRED = ("methods |= required_methods",)
RULE_ADDED = ("rule_obj = self.url_rule_class(", "self.url_map.add(rule_obj)",
              "rule = self.url_rule_class(rule, methods=methods, **options)",
              "self.url_map.add(rule)")
VIEW_REGISTERED = ("self.view_functions[endpoint] = view_func",)
VIEW_COLLISION = ("old_func is not None and old_func != view_func", "raise AssertionError(")
#: `BlueprintSetupState.add_url_rule`: with a URL prefix, the join runs for a rule; an
#: empty rule is replaced by the prefix.
BLUEPRINT_RULE_JOIN = ('rule = "/".join((self.url_prefix',)
BLUEPRINT_RULE_PREFIX = ("rule = self.url_prefix",)
BLUEPRINT_RULE_NAME = ('f"{self.name_prefix}.{self.name}.{endpoint}"',)
#: `View.as_view`. The `view` it defines is written twice (by `init_every_request`): it is
#: quoted from a request that ran it, never from the registration.
AS_VIEW_VIEW = ("def view(", "self = view.view_class(", "ensure_sync(self.dispatch_request)")
#: Flask 2.0 and 2.1 name and place `view` before decorating it (`if cls.decorators:`).
AS_VIEW_DECORATORS = ("if cls.decorators:", "view.__name__ = name",
                      "view.__module__ = cls.__module__", "for decorator in cls.decorators:",
                      "view = decorator(view)")
#: `view.__name__ = name` is written twice; the second one, after `view.view_class = cls`,
#: always runs.
AS_VIEW_CLASS = ("view.view_class = cls",)
AS_VIEW_ATTRIBUTES = ("view.__name__ = name", "view.__doc__ = cls.__doc__",
                      "view.__module__ = cls.__module__", "view.methods = cls.methods",
                      "return view")
#: Configuration.
MAKE_CONFIG = ("root_path = self.root_path",)
MAKE_CONFIG_INSTANCE = ("root_path = self.instance_path",)
FROM_PYFILE = ("filename = os.path.join(self.root_path, filename)",)
#: Requests.
MATCH = ("self.url_adapter.match(return_rule=True)",)
MATCH_FAILED = ("self.request.routing_exception = e",)
ROUTING_EXCEPTION = ("self.raise_routing_exception(req)",)
AUTOMATIC_OPTIONS = ("return self.make_default_options_response()",)
DISPATCH = ("self.view_functions[rule.endpoint]",)
#: `Flask.preprocess_request`: URL value preprocessors first, then before-request functions;
#: `return rv` runs only when one of those returned something.
URL_VALUE_PREPROCESSOR = ("url_func(request.endpoint, request.view_args)",)
BEFORE_REQUEST = ("rv = self.ensure_sync(before_func)()",)
BEFORE_REQUEST_STOPPED = ("return rv",)
TEARDOWN = ("self.ensure_sync(func)(exc)",)
#: `make_response` with a dict (or, from 2.2, a list): the JSON provider, or `jsonify` before.
JSON_RESPONSE = ("rv = self.json.response(rv)", "rv = jsonify(rv)")
#: `before_first_request` functions: Flask 2.0/2.1's trigger method, 2.2's
#: `full_dispatch_request`.
FIRST_REQUEST = ("for func in self.before_first_request_funcs:", "self.ensure_sync(func)()",
                 "self._got_first_request = True")
HANDLER_LOOKUP = ("meth = getattr(self, request.method.lower(), None)",)
HANDLER_HEAD = ('if meth is None and request.method == "HEAD":',
                'meth = getattr(self, "get", None)')
HANDLER_ASSERT = ("assert meth is not None",)
HANDLER_CALL = ("ensure_sync(meth)(",)
#: In the error handling method that looked the handler up (`handle_http_exception` when
#: `handle_user_exception` passed an HTTP error on); the call runs only for a handler found.
ERROR_HANDLER = ("handler = self._find_error_handler(",)
ERROR_HANDLER_CALL = ("self.ensure_sync(handler)(",)
HTTP_ROUTING = ("if isinstance(e, RoutingException):",)
#: `handle_user_exception` hands an HTTP exception on (unless `trap_http_exception`).
HTTP_DELEGATE = ("return self.handle_http_exception(e)",)
#: `Flask.url_for`: the URL defaults functions (through `inject_url_defaults`), then the build.
URL_DEFAULTS = ("self.inject_url_defaults(endpoint, values)",
                "appctx.app.inject_url_defaults(endpoint, values)")
URL_BUILT = ("rv = url_adapter.build(",)
#: `flask.templating._render` and the `update_template_context` it calls.
TEMPLATE_RENDER = ("app.update_template_context(context)",)
TEMPLATE_RENDERED = ("rv = template.render(context)",)
CONTEXT_PROCESSOR = ("context.update(self.ensure_sync(func)())", "context.update(func())")
#: `Flask.do_teardown_appcontext`.
APPCONTEXT_TEARDOWN = ("self.ensure_sync(func)(exc)",)
#: The `send` of a signal, in the function that sent it (`{signal}` is its name).
SIGNAL_SEND = "{signal}.send("
#: The session: opened as the request context is pushed (`ctx.push()` in `wsgi_app`, the
#: call in `RequestContext.push` when a `--lines` trace has that step), a null session when
#: `open_session` returned None, saved by `process_response` when it is not a null one.
REQUEST_CONTEXT_PUSH = ("ctx.push()",)
SESSION_OPEN = ("self._session = session_interface.open_session(",
                "self.session = session_interface.open_session(")
SESSION_NULL = ("self._session = session_interface.make_null_session(",
                "self.session = session_interface.make_null_session(")
SESSION_SAVE = ("self.session_interface.save_session(self, ctx._session, response)",
                "self.session_interface.save_session(self, ctx.session, response)")
#: The `view` `as_view` made, creating the instance of the view class.
VIEW_INSTANCE = ("self = view.view_class(",)
#: `stream_with_context`: `iter()` decides between an iterable and a generator function.
STREAM_ITER = ("gen = iter(generator_or_function)",)
STREAM_DECORATOR = ("return update_wrapper(decorator, generator_or_function)",)
STREAM_GENERATOR = ("wrapped_g = generator()", "next(wrapped_g)")
