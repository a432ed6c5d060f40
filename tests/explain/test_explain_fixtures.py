"""explain on every fixture: the sentences that must appear, by meaning, in English and Chinese.

Each assertion names what the trace recorded for that app (an endpoint, decorator names in
order, the handler chosen), so a narrative that ignored the steps could not pass.
"""

from __future__ import annotations

from explain_helpers import item_with, recorded, told

# -- registration: route(), decorator, add_url_rule, endpoint, methods -----------------------


def test_route_returns_decorator_and_endpoint_popped_en() -> None:
    text = told("seed_routes", "GET", "/", registration_only=True)
    route = item_with(text, "@app.route('/', methods=['GET', 'POST'], endpoint='n1')")
    assert "returns its inner function `decorator`" in route
    popped = item_with(text, "decorator(index)")
    assert 'options.pop("endpoint", None)' in popped and "took out 'n1'" in popped
    assert "`self.add_url_rule('/', 'n1', index, methods=['GET', 'POST'])`" in popped
    assert "`return f`" in popped


def test_route_returns_decorator_and_endpoint_popped_zh() -> None:
    text = told("seed_routes", "GET", "/", "zh", registration_only=True)
    route = item_with(text, "@app.route('/', methods=['GET', 'POST'], endpoint='n1')")
    assert "返回值是内部函数 `decorator`" in route
    popped = item_with(text, "decorator(index)")
    assert "从 options 里 pop 出了 'n1'" in popped
    assert "`self.add_url_rule('/', 'n1', index, methods=['GET', 'POST'])`" in popped


def test_add_url_rule_called_directly_with_endpoint() -> None:
    text = told("seed_routes", "GET", "/login", registration_only=True)
    direct = item_with(text, "`app.add_url_rule('/login', 'n2', login, methods=['GET', 'POST'])`")
    assert "called directly, without `@app.route`" in direct
    zh = told("seed_routes", "GET", "/login", "zh", registration_only=True)
    assert "直接调用了 `app.add_url_rule('/login', 'n2', login, methods=['GET', 'POST'])`" in zh


def test_endpoint_inferred_from_name_and_methods_defaulted() -> None:
    text = told("seed_routes", "GET", "/about")
    inferred = item_with(text, "_endpoint_from_view_func(about)")
    assert "`view_func.__name__`: the endpoint is 'about'" in inferred
    methods = item_with(text, 'default to `("GET",)`')
    assert "HEAD and OPTIONS were added automatically" in methods
    rule = item_with(text, "werkzeug `Rule('/about', endpoint='about'")
    assert "methods=['GET', 'HEAD', 'OPTIONS']" in rule
    assert "`app.view_functions['about'] = about`" in text
    zh = told("seed_routes", "GET", "/about", "zh")
    assert "`_endpoint_from_view_func(about)`，它返回的就是 `view_func.__name__`" in zh
    assert "endpoint 是 'about'" in zh
    assert "所以默认是 `(\"GET\",)`" in zh and "HEAD 和 OPTIONS 是自动加上的" in zh


def test_methods_argument_given() -> None:
    text = told("seed_login", "GET", "/login", registration_only=True)
    assert "`methods` was given: GET, POST." in text
    assert "传入了 `methods`：GET、POST。" in told("seed_login", "GET", "/login", "zh",
                                                  registration_only=True)


def test_request_narrative_for_a_function_view() -> None:
    text = told("seed_routes", "POST", "/")
    assert "for POST /" in item_with(text, "app.wsgi_app(environ, start_response)")
    assert "'/' matched the rule '/', endpoint 'n1'" in text
    assert item_with(text, "self.view_functions['n1'](**view_args)").endswith(
        "that is `index`, with `view_args = {}`.")
    assert "Your view `index` (fixtures/seed_routes.py:" in item_with(text, "returned 'Index'")
    assert "The response went out with status 200." in text


# -- class-based views -----------------------------------------------------------------------


def test_as_view_decorators_and_attributes_en() -> None:
    text = told("seed_views", "GET", "/index")
    as_view = item_with(text, "`IndexView.as_view(name='index')`")
    assert "defined `view`" in as_view and "`dispatch_request(**kwargs)`" in as_view
    order = item_with(text, "`IndexView.decorators` lists `auth`")
    assert "the last one, `auth`, is the outermost layer" in order
    layer = item_with(text, "Decorator 1 of 1: `auth`")
    assert "returned `auth.<locals>.inner` (made with `functools.wraps`)" in layer
    attributes = item_with(text, "`view.view_class = IndexView`")
    assert "`view.__name__ = 'index'`" in attributes
    assert "`view.methods = ['GET']` from `IndexView.methods`" in attributes
    assert "`IndexView` also defines `post`" in attributes
    inferred = item_with(text, "The function passed is the wrapper `auth.<locals>.inner`")
    assert "its `__name__` is 'index'" in inferred
    assert "took `view_func.methods`: GET" in text


def test_as_view_decorators_and_attributes_zh() -> None:
    text = told("seed_views", "GET", "/index", "zh")
    assert "`IndexView.as_view(name='index')` 把类变成了一个函数" in text
    assert "所以最后一个 `auth` 在最外层" in text
    assert "第 1 个装饰器（共 1 个）：`auth`" in text
    assert "`view.__name__ = 'index'`（这就是将来的 endpoint）" in text
    assert "`IndexView` 还定义了 `post`" in text


def test_dispatch_through_layer_view_and_handler() -> None:
    text = told("seed_views", "GET", "/index")
    lines = text.splitlines()
    order = [
        next(i for i, line in enumerate(lines) if needle in line)
        for needle in (
            "matched the rule '/index', endpoint 'index'",
            "that is `auth.<locals>.inner`",
            "Decorator layer `auth.<locals>.inner` (made by `auth`",
            "created an instance of `IndexView`",
            "`getattr(self, 'get')` found `IndexView.get`",
            "`IndexView.get` (fixtures/seed_views.py:",
        )
    ]
    assert order == sorted(order)
    assert "getattr(self, request.method.lower(), None)" in lines[order[4]]
    zh = told("seed_views", "GET", "/index", "zh")
    assert "通过反射 `getattr(self, request.method.lower(), None)` 找处理方法" in zh
    assert "`getattr(self, 'get')` 找到了 `IndexView.get`" in zh


def test_head_falls_back_to_get() -> None:
    text = told("seed_views", "HEAD", "/index")
    fallback = item_with(text, "`getattr(self, 'head', None)` and found nothing")
    assert "because the method is HEAD" in fallback and "got `IndexView.get`" in fallback
    zh = told("seed_views", "HEAD", "/index", "zh")
    assert "因为请求方法是 HEAD" in zh and "拿到了 `IndexView.get`" in zh


def test_method_not_allowed_lists_allowed_methods() -> None:
    text = told("seed_views", "POST", "/index")
    match = item_with(text, "raised `MethodNotAllowed` with")
    assert "'/index' matches a rule, but not for POST" in match
    assert "GET, HEAD, OPTIONS" in match
    assert "found no handler for it, so the exception itself is the response" in text
    assert "The response went out with status 405." in text
    zh = told("seed_views", "POST", "/index", "zh")
    assert "这条规则不接受 POST" in zh and "GET、HEAD、OPTIONS" in zh


def test_automatic_options() -> None:
    text = told("seed_views", "OPTIONS", "/index")
    answered = item_with(text, "make_default_options_response")
    assert "did not call the view" in answered and "GET, HEAD, OPTIONS" in answered
    assert "Decorator layer" not in text


def test_class_decorator_returns_early() -> None:
    text = told("seed_views", "GET", "/index", headers=(("X-Deny", "1"),))
    early = item_with(text, "Decorator layer `auth.<locals>.inner`")
    assert "returned ('Forbidden', 403) early" in early
    assert "without calling `View.as_view.<locals>.view`" in early
    assert "getattr(self" not in text
    zh = told("seed_views", "GET", "/index", "zh", headers=(("X-Deny", "1"),))
    assert "提前返回了 ('Forbidden', 403)，没有调用 `View.as_view.<locals>.view`" in zh


def test_unimplemented_method_assertion() -> None:
    text = told("check_methodview", "POST", "/reports")
    failed = item_with(text, "`getattr(self, 'post', None)` and found nothing")
    assert "`AssertionError: Unimplemented method 'POST'`" in failed
    assert "`ReportView` has no `post` method" in failed
    assert "`handle_exception` got the unhandled `AssertionError`" in text
    assert "status 500" in text
    zh = told("check_methodview", "POST", "/reports", "zh")
    assert "`assert meth is not None` 失败：`AssertionError: Unimplemented method 'POST'`" in zh


# -- decorators, hooks, errors in a real app -------------------------------------------------


def test_stacked_layers_in_order() -> None:
    text = told("real_app", "GET", "/stacked")
    outer = item_with(text, "Decorator layer `log_calls.<locals>.logged`")
    assert "called the next layer, `add_header_no_wraps.<locals>.wrapper`" in outer
    inner = item_with(text, "Decorator layer `add_header_no_wraps.<locals>.wrapper`")
    assert "called the next layer, `stacked_view`" in inner
    assert text.index("log_calls.<locals>.logged` (made by") < text.index(
        "add_header_no_wraps.<locals>.wrapper` (made by")
    assert "Your view `stacked_view`" in text
    assert "`add_header_no_wraps.<locals>.wrapper` called `make_response` itself: it turned " \
           "`str` into a response (200, `text/html`)." in text
    registered = item_with(text, "`app.view_functions['stacked'] = log_calls.<locals>.logged`")
    assert "inside it: `add_header_no_wraps.<locals>.wrapper`, `stacked_view`" in registered


def test_layer_returns_early_without_the_view() -> None:
    text = told("real_app", "GET", "/dashboard")
    early = item_with(text, "Decorator layer `login_required.<locals>.guarded`")
    assert "early, without calling `dashboard`" in early and "302 FOUND" in early
    assert "Your view `dashboard`" not in text
    hooks = item_with(text, "`preprocess_request` ran the before-request functions")
    assert "`mark_request_started`; each returned `None`" in hooks
    assert "after-request functions `add_processed_header`" in text
    assert "teardown functions `record_teardown`" in text
    zh = told("real_app", "GET", "/dashboard", "zh")
    assert "before_request 函数 `mark_request_started`" in zh
    assert "after_request 函数 `add_processed_header`" in zh


def test_error_handler_chosen() -> None:
    text = told("real_app", "GET", "/boom")
    raised = item_with(text, "Your view `boom`")
    assert "raised ValueError('boom is not a number') at line" in raised
    handled = item_with(text, "`_find_error_handler` chose `handle_value_error`")
    assert "`handle_user_exception` got `ValueError`" in handled
    assert "returned ('Bad value: boom is not a number', 400)" in handled
    zh = told("real_app", "GET", "/boom", "zh")
    assert "`_find_error_handler` 选中了用 `errorhandler` 注册的 `handle_value_error`" in zh


def test_unhandled_error_becomes_500() -> None:
    text = told("real_app", "GET", "/crash")
    assert "`handle_user_exception` got `RuntimeError`" in text
    assert "so it was raised again" in text
    assert "`handle_exception` got the unhandled `RuntimeError`" in text
    assert "status 500" in text


def test_strict_slash_redirect_explained() -> None:
    text = told("real_app", "GET", "/docs")
    redirect = item_with(text, "raised `RequestRedirect` (308)")
    assert "'/docs' has no rule of its own, but '/docs/'" in redirect
    assert "`strict_slashes` is on" in redirect and "(308) to 'http://localhost/docs/'" in redirect
    assert "routing exception is returned as the response itself" in text
    zh = told("real_app", "GET", "/docs", "zh")
    assert "'/docs' 没有自己的规则，但 '/docs/' 就是它末尾加个斜杠" in zh


def test_blueprint_registration() -> None:
    text = told("real_app", "GET", "/shop/products/7")
    assert "`@shop.route('/products/<int:product_id>')` ran first" in text
    assert "On a blueprint, `add_url_rule` only records what to do" in text
    assert "`app.register_blueprint(shop)` (url_prefix '/shop')" in text
    prefixed = item_with(text, "`BlueprintSetupState.add_url_rule` joined '/shop'")
    assert "prefixed the endpoint with `shop.`" in prefixed
    assert "'/shop/products/<int:product_id>', 'shop.product_detail'" in prefixed
    assert "took 'product_detail' from the function's `__name__`" in prefixed
    assert "capture `product_id`" in text
    assert "view_args = {'product_id': 7}" in text


def test_async_view() -> None:
    text = told("real_app", "GET", "/async")
    assert "`async_view` is a coroutine function" in text
    assert "`async_to_sync`" in text


def test_config_styles_and_files() -> None:
    text = told("seed_config", "GET", "/config")
    root = item_with(text, "`instance_relative_config=True`", "make_config")
    assert "instance folder `fixtures/instance`" in root and "`root_path` `fixtures`" in root
    assert "`app.config['DEBUG'] = True` set one key directly." in text
    pyfile = item_with(text, "`app.config.from_pyfile('settings.py')`")
    assert "read `fixtures/instance/settings.py`" in pyfile
    assert "`DATABASE_PASSWORD` = ***" in pyfile
    assert "`SETTINGS_FROM` = 'instance_path'" in pyfile
    assert "`app.config.from_object(BaseConfig)`" in text
    assert "returned 'instance_path'" in text
    zh = told("seed_config", "GET", "/config", "zh")
    assert "会到 instance 目录 `fixtures/instance` 里找" in zh
    assert "这里是 instance 目录（因为 `instance_relative_config=True`）" in zh


def test_config_root_path_when_not_instance_relative() -> None:
    text = told("seed_collision", "GET", "/index")
    root = item_with(text, "make_config")
    assert "`instance_relative_config` is False" in root and "`root_path` `fixtures`" in root


def test_endpoint_collision_and_its_cause() -> None:
    trace, error = recorded("seed_collision", "GET", "/index")
    assert error and "overwriting an existing endpoint function: index" in error
    text = told("seed_collision", "GET", "/index")
    collision = item_with(text, "already held `index`")
    assert "a different function from `auth.<locals>.inner`" in collision
    assert "`AssertionError: View function mapping is overwriting" in collision
    assert "what must be unique is the endpoint, not the URL" in collision
    assert "`index` got the endpoint first, from its `__name__`" in collision
    zh = told("seed_collision", "GET", "/index", "zh")
    assert "必须唯一的是 endpoint，而不是 URL" in zh


def test_collision_of_wrappers_without_wraps() -> None:
    text = told("check_no_wraps", "GET", "/report")
    both = [line for line in text.splitlines()
            if "made by `timed` without `functools.wraps`" in line]
    assert len(both) == 2  # /report, then /export
    assert all("the endpoint is the wrapper's own name, 'wrapper'" in line for line in both)
    collision = item_with(text, "already held `timed.<locals>.wrapper`")
    assert "Both are the wrapper `timed.<locals>.wrapper`" in collision
    assert "Put `@functools.wraps(...)` on the inner function of `timed`" in collision


def test_login_post_redirect() -> None:
    text = told("seed_login", "POST", "/login", data=(("user", "admin"), ("pwd", "password")))
    assert "Your view `index`" in item_with(text, "302 FOUND")
    assert "The response went out with status 302." in text
