"""The statements of Flask's source that the narrative quotes with ``--source``.

Each entry is text that appears in a Flask 3.1 function whose body the trace embeds.
They are looked up in the trace's own sources, never in the installed files, so a quote is
always what ran; a statement that a later Flask rewrote is simply not quoted.
"""

from __future__ import annotations

#: `decorator` inside `Scaffold.route`.
ROUTE_DECORATOR = ('options.pop("endpoint", None)', "self.add_url_rule(rule, endpoint, f",
                   "return f")
#: `App.add_url_rule`, by the point a sentence makes.
ENDPOINT_INFERRED = ("endpoint = _endpoint_from_view_func(view_func)",)
ENDPOINT_FUNCTION = ("return view_func.__name__",)
METHODS_DEFAULT = ('methods = getattr(view_func, "methods", None) or ("GET",)',)
METHODS_AUTOMATIC = ('required_methods.add("OPTIONS")', "methods |= required_methods")
RULE_ADDED = ("rule_obj = self.url_rule_class(", "self.url_map.add(rule_obj)")
VIEW_REGISTERED = ("self.view_functions[endpoint] = view_func",)
VIEW_COLLISION = ("old_func is not None and old_func != view_func", "raise AssertionError(")
#: `BlueprintSetupState.add_url_rule`.
BLUEPRINT_RULE = ('rule = "/".join((self.url_prefix',
                  'f"{self.name_prefix}.{self.name}.{endpoint}"')
#: `View.as_view`.
AS_VIEW_VIEW = ("def view(", "self = view.view_class(", "ensure_sync(self.dispatch_request)")
AS_VIEW_DECORATORS = ("for decorator in cls.decorators:", "view = decorator(view)")
AS_VIEW_ATTRIBUTES = ("view.view_class = cls", "view.__name__ = name", "view.methods = cls.methods")
#: Configuration.
MAKE_CONFIG = ("root_path = self.instance_path", "root_path = self.root_path")
FROM_PYFILE = ("filename = os.path.join(self.root_path, filename)",)
#: Requests.
MATCH = ("self.url_adapter.match(return_rule=True)", "self.request.routing_exception = e")
ROUTING_EXCEPTION = ("self.raise_routing_exception(req)",)
AUTOMATIC_OPTIONS = ("return self.make_default_options_response()",)
DISPATCH = ("self.view_functions[rule.endpoint]",)
BEFORE_REQUEST = ("rv = self.ensure_sync(before_func)()", "return rv")
AFTER_REQUEST = ("response = self.ensure_sync(func)(response)",)
TEARDOWN = ("self.ensure_sync(func)(exc)",)
HANDLER_LOOKUP = ("meth = getattr(self, request.method.lower(), None)",)
HANDLER_HEAD = ('if meth is None and request.method == "HEAD":',
                'meth = getattr(self, "get", None)')
HANDLER_ASSERT = ("assert meth is not None",)
ERROR_HANDLER = ("handler = self._find_error_handler(", "self.ensure_sync(handler)(")
HTTP_ROUTING = ("if isinstance(e, RoutingException):",)
