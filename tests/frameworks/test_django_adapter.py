"""Django, added as one package (`tracer/frameworks/django/`) and one registry line: its URL
tree becomes the routes, the middleware chain, the resolver, `View.setup` and
`View.dispatch` are steps, and every fact is held against what Django itself answers: its
own `resolve()` and `reverse()`, `view.view_class`, and the responses its test client gets
with nothing recording."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flaskscope_testing import calls, forget_fixtures, notes, one, record_fixture

from tracer import Role
from tracer.frameworks import adapter, framework_of
from tracer.frameworks.narration.narrative import explain
from tracer.model import Request, Step, Trace
from viewer.explain.render import plain

django = pytest.importorskip("django")

LOGIN_REQUESTS = ("GET /login", "HEAD /login", "PUT /login", "GET /nowhere", "GET /profile",
                  "GET /hello/bob")
VIEWS_REQUESTS = ("GET /", "GET /maintenance", "GET /blog/2024/hello/", "POST /only-get",
                  "GET /nowhere", "POST /comment")


def _right_login() -> Any:
    from tracer.frameworks.flask.loading import RequestSpec

    return RequestSpec(method="POST", path="/login",
                       data=(("user", "admin"), ("pwd", "password")))


@pytest.fixture(scope="module")
def django_login() -> Trace:
    recording = record_fixture("django_login", *LOGIN_REQUESTS, _right_login())
    assert recording.app_error is None, recording.app_error
    assert recording.trace.meta["recorder_errors"] == 0
    return recording.trace


@pytest.fixture(scope="module")
def django_views() -> Trace:
    recording = record_fixture("django_views", *VIEWS_REQUESTS)
    assert recording.app_error is None, recording.app_error
    assert recording.trace.meta["recorder_errors"] == 0
    return recording.trace


def _django_answers(module: str, requests: tuple[str, ...]) -> dict[str, Any]:
    """What Django answers with nothing recording: its test client's responses, its own
    `resolve()` of each path, `reverse()` of each name, and its settings."""
    from tracer.frameworks.django.state import DjangoState

    forget_fixtures()
    state = DjangoState()
    try:
        imported = __import__(f"fixtures.{module}", fromlist=["_"])
        django.setup()  # as `get_wsgi_application()` does for a server
        from django.conf import settings
        from django.test import Client
        from django.urls import Resolver404, get_resolver, resolve

        client = Client(enforce_csrf_checks=True)  # as a browser's request meets it
        answers: dict[str, Any] = {"module": imported, "middleware": list(settings.MIDDLEWARE)}
        for spec in requests:
            method, path = spec.split(" ", 1)
            response = client.generic(method, path)
            answers[spec] = {"status": response.status_code, "headers": dict(response.items())}
            try:
                match = resolve(path)
            except Resolver404 as error:
                answers[spec]["tried"] = [[str(p.pattern) for p in entry]
                                          for entry in error.args[0]["tried"]]
            else:
                answers[spec].update(route=match.route, view_name=match.view_name,
                                     view_class=getattr(match.func, "view_class", None),
                                     kwargs=dict(match.kwargs))
        answers["resolver_routes"] = [getattr(p, "name", None)
                                      for p in get_resolver().url_patterns]
        answers["POST /login"] = client.post(
            "/login", {"user": "admin", "pwd": "password"}).status_code
        return answers
    finally:
        state.restore()
        forget_fixtures()


@pytest.fixture(scope="module")
def untraced_login() -> dict[str, Any]:
    return _django_answers("django_login", LOGIN_REQUESTS)


@pytest.fixture(scope="module")
def untraced_views() -> dict[str, Any]:
    return _django_answers("django_views", VIEWS_REQUESTS)


def _request(trace: Trace, spec: str) -> Request:
    method, path = spec.split(" ", 1)
    return next(r for r in trace.requests if (r.method, r.path) == (method, path))


def _facts(request: Request, step: Step) -> dict[str, Any]:
    """A call step's facts with those its end added (`leave(..., facts=)`)."""
    ends = [s for s in request.steps if s.parent == step.id and s.kind in ("return",
                                                                           "exception")]
    return {**step.facts, **(ends[-1].facts if ends else {})}


# -- the registry and registration -------------------------------------------------------


def test_the_registry_knows_it_by_what_the_app_is(django_login: Trace) -> None:
    from django.core.handlers.wsgi import WSGIHandler

    assert framework_of(WSGIHandler.__new__(WSGIHandler)) == "django"
    assert adapter("django").available()
    assert django_login.meta["framework"] == "django"
    assert django_login.meta["django"] == django.get_version()


def test_the_url_tree_becomes_the_routes_django_resolves(django_login: Trace,
                                                         untraced_login) -> None:
    routes = {route.endpoint: route for route in django_login.routes}
    assert list(routes) == untraced_login["resolver_routes"] == ["login", "profile", "hello"]
    for spec in ("GET /login", "GET /profile", "GET /hello/bob"):
        told = untraced_login[spec]
        route = routes[told["view_name"]]
        assert route.rule == told["route"]
        if told["view_class"] is not None:  # the class Django's own match names
            classes = [link for link in route.chain if link.kind == "view_class"]
            assert one_link(classes).qualname == told["view_class"].__qualname__
    allow = untraced_login["PUT /login"]["headers"]["Allow"]
    assert set(routes["login"].methods) == {m.strip() for m in allow.split(",")}
    added = notes(django_login.registration.steps, Role.RULE_ADDED)
    assert [(n.facts["rule"], n.facts["stored_in"]) for n in added] == [
        ("login", "urlpatterns[0]"), ("profile", "urlpatterns[1]"),
        ("hello/<str:name>", "urlpatterns[2]")]


@pytest.mark.parametrize("redact", [True, False])
def test_the_secret_key_is_hidden_wherever_a_value_shows_it(
        redact: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's settings are the app's config: `SECRET_KEY` is hidden in every value
    stored (here a response header carrying it), unless redaction is turned off."""
    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec
    from tracer.tracefile import dumps

    name = f"leaky_django_app_{redact}".lower()
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""\
        from django.conf import settings
        settings.configure(ROOT_URLCONF=__name__, SECRET_KEY="k3y-" + "x" * 20,
                           ALLOWED_HOSTS=["*"], INSTALLED_APPS=[], MIDDLEWARE=[])
        from django.http import HttpResponse
        from django.urls import path

        def leak(request):
            response = HttpResponse("ok")
            response["X-Key"] = settings.SECRET_KEY
            return response

        urlpatterns = [path("leak", leak)]
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        trace = record_app(str(tmp_path / f"{name}.py"), [RequestSpec(path="/leak")],
                           redact=redact).trace
    finally:
        sys.modules.pop(name, None)
    assert trace.requests[0].status == 200
    assert (("k3y-" + "x" * 20).encode() in dumps(trace)) is not redact


def one_link(links: list) -> Any:
    assert len(links) == 1, links
    return links[0]


def test_decorators_are_the_route_s_layers(django_login: Trace) -> None:
    routes = {route.endpoint: route for route in django_login.routes}
    assert [(link.kind, link.qualname) for link in routes["login"].chain] == [
        ("decorator", "no_store.<locals>.wrapper"), ("view", "View.as_view.<locals>.view"),
        ("view_class", "Login"), ("method", "Login.get"), ("method", "Login.post")]
    assert routes["login"].chain[0].decorator == "no_store"
    profile = [(link.kind, link.decorator) for link in routes["profile"].chain]
    assert ("decorator", "method_decorator(login_required)") in profile
    paths = [s for s in calls(django_login.registration.steps, Role.ADD_URL_RULE)]
    assert [(s.facts["rule"], s.facts["endpoint"], s.facts["view"]) for s in paths] == [
        ("login", "login", "Login.as_view()"), ("profile", "profile", "Profile.as_view()"),
        ("hello/<str:name>", "hello", "hello")]
    made = calls(django_login.registration.steps, Role.CLASS_VIEW)
    assert [s.facts["view_class"] for s in made] == ["Login", "Profile"]


def test_an_include_and_a_re_path_are_joined_as_django_joins_them(django_views: Trace,
                                                                 untraced_views) -> None:
    spec = "GET /blog/2024/hello/"
    request = _request(django_views, spec)
    match = one(calls(request.steps, Role.MATCH))
    told = untraced_views[spec]
    assert (request.rule, request.endpoint) == (told["route"], told["view_name"]) == (
        r"blog/(?P<year>[0-9]{4})/(?P<slug>[-\w]+)/$", "blog:post")
    assert _facts(request, match)["view_args"] == {"year": "'2024'", "slug": "'hello'"}
    route = next(r for r in django_views.routes if r.endpoint == "blog:post")
    assert route.blueprint == "blog"
    unnamed = _request(django_views, "GET /")
    assert unnamed.endpoint == untraced_views["GET /"]["view_name"] == \
        "fixtures.django_views.home"


# -- requests ---------------------------------------------------------------------------


def test_statuses_are_what_django_answers(django_login: Trace, django_views: Trace,
                                          untraced_login, untraced_views) -> None:
    for trace, untraced, specs in ((django_login, untraced_login, LOGIN_REQUESTS),
                                   (django_views, untraced_views, VIEWS_REQUESTS)):
        for spec in specs:
            assert _request(trace, spec).status == untraced[spec]["status"], spec
    assert _request(django_login, "POST /login").status == untraced_login["POST /login"] == 302


def test_the_middleware_chain_is_entered_in_settings_order(django_login: Trace,
                                                           untraced_login) -> None:
    request = _request(django_login, "GET /login")
    layers = [s for s in calls(request.steps, Role.LAYER) if "middleware" in s.facts]
    assert [s.facts["middleware"] for s in layers] == untraced_login["middleware"]
    for outer, inner in zip(layers, layers[1:], strict=False):
        assert inner.parent == outer.id, "each middleware runs inside the one before it"
    dispatch = one(calls(request.steps, Role.DISPATCH))
    assert dispatch.parent == layers[-1].id


def test_a_middleware_answering_by_itself_skips_the_rest(django_views: Trace,
                                                         untraced_views) -> None:
    request = _request(django_views, "GET /maintenance")
    assert request.status == untraced_views["GET /maintenance"]["status"] == 503
    entered = [s for s in calls(request.steps, Role.LAYER) if "middleware" in s.facts]
    assert [s.facts["middleware"] for s in entered] == untraced_views["middleware"][:2]
    answering = _facts(request, entered[-1])
    assert answering["short_circuit"] and answering["answered_in"] == "process_request"
    assert calls(request.steps, Role.MATCH) == [] and calls(request.steps, Role.VIEW) == []
    handler = next(s for s in request.steps if s.name == "BaseHandler.get_response")
    told = _facts(request, handler)
    assert told["skipped"] == untraced_views["middleware"][2:]
    assert told["answered_by"] == "fixtures.django_views.Maintenance"
    text = plain(explain(django_views, request_id=request.id), "en")
    assert ("`fixtures.django_views.Maintenance` answered without passing the request on, so "
            "`django.middleware.common.CommonMiddleware`, "
            "`django.middleware.csrf.CsrfViewMiddleware` never ran") in text
    assert "中间件 `fixtures.django_views.Maintenance`（第 2 个，共 4 个）在 `process_request` 里" \
        in plain(explain(django_views, request_id=request.id), "zh")


def test_the_resolver_s_match_is_django_s_own(django_login: Trace, untraced_login) -> None:
    for spec in ("GET /login", "GET /hello/bob"):
        request = _request(django_login, spec)
        facts = _facts(request, one(calls(request.steps, Role.MATCH)))
        told = untraced_login[spec]
        assert facts["matched"] is True
        assert (facts["rule"], facts["endpoint"]) == (told["route"], told["view_name"])
        assert facts["view_args"] == {k: repr(v) for k, v in told["kwargs"].items()}


def test_a_404_lists_what_the_resolver_tried(django_login: Trace, django_views: Trace,
                                             untraced_login, untraced_views) -> None:
    for trace, untraced in ((django_login, untraced_login), (django_views, untraced_views)):
        request = _request(trace, "GET /nowhere")
        assert request.outcome == "not_found" and request.status == 404
        facts = _facts(request, one(calls(request.steps, Role.MATCH)))
        assert facts["matched"] is False
        tried = untraced["GET /nowhere"]["tried"]
        assert len(facts["tried"]) == len(tried)
        for told, patterns in zip(facts["tried"], tried, strict=True):
            assert told.split(" [name=")[0] == (" ".join(patterns) or "''")
    text = plain(explain(django_login, request_id=_request(django_login, "GET /nowhere").id),
                 "en")
    assert "no pattern matched, so it raised `Resolver404` and Django answered 404. It tried, " \
        "in this order: `login [name='login']`, `profile [name='profile']`" in text


def test_a_class_view_is_set_up_then_dispatched_by_reflection(django_login: Trace,
                                                              untraced_login) -> None:
    request = _request(django_login, "GET /login")
    layer = next(s for s in calls(request.steps, Role.LAYER) if "middleware" not in s.facts)
    view = one(calls(request.steps, Role.VIEW))
    assert layer.name == "no_store.<locals>.wrapper" and view.parent == layer.id
    setup = one(calls(request.steps, Role.VIEW_INIT))
    dispatch = one(calls(request.steps, Role.CLASS_DISPATCH))
    handler = one(calls(request.steps, Role.HANDLER))
    assert setup.parent == dispatch.parent == view.id
    assert handler.parent == dispatch.id and handler.name == "Login.get"
    assert untraced_login["GET /login"]["view_class"].__qualname__ == \
        setup.facts["view_class"] == "Login"
    lookup = one(notes(request.steps, Role.HANDLER_LOOKUP))
    assert (lookup.facts["tried"], lookup.facts["found"], lookup.facts["handler"]) == (
        "get", True, "Login.get")


def test_head_is_answered_by_get_as_setup_arranged(django_login: Trace,
                                                   untraced_login) -> None:
    request = _request(django_login, "HEAD /login")
    assert request.status == untraced_login["HEAD /login"]["status"] == 200
    login_class = untraced_login["GET /login"]["view_class"]
    assert hasattr(login_class, "get") and not hasattr(login_class, "head")
    assert one(calls(request.steps, Role.VIEW_INIT)).facts["head_is_get"] is True
    lookup = one(notes(request.steps, Role.HANDLER_LOOKUP))
    assert (lookup.facts["tried"], lookup.facts["fallback"]) == ("head", "get")
    assert one(calls(request.steps, Role.HANDLER)).name == "Login.get"
    text = plain(explain(django_login, request_id=request.id), "en")
    assert "so it also set `self.head = self.get`: a HEAD request is answered by `get`." in text
    assert "that is `get` (`Login.get`), which `setup()` put under the name `head`." in text


def test_the_405_names_what_the_allow_header_says(django_login: Trace, untraced_login) -> None:
    request = _request(django_login, "PUT /login")
    assert request.outcome == "method_not_allowed"
    dispatch = one(calls(request.steps, Role.CLASS_DISPATCH))
    allow = untraced_login["PUT /login"]["headers"]["Allow"]
    assert dispatch.facts["allowed_methods"] == [m.strip() for m in allow.split(",")]
    assert calls(request.steps, Role.HANDLER) == []
    assert "a 405 whose `Allow` header names the methods the instance has: `GET`, `POST`, " \
        "`HEAD`, `OPTIONS`." in plain(explain(django_login, request_id=request.id), "en")


def test_login_required_answers_before_dispatch(django_login: Trace, untraced_login) -> None:
    request = _request(django_login, "GET /profile")
    told = untraced_login["GET /profile"]
    assert request.status == told["status"] == 302
    guard = one([s for s in calls(request.steps, Role.LAYER) if "middleware" not in s.facts])
    assert guard.name == "_multi_decorate.<locals>._wrapper"
    assert calls(request.steps, Role.CLASS_DISPATCH) == [], "login_required sent it away first"
    response = next(s for s in request.steps if s.role == Role.START_RESPONSE)
    assert f"Location: {told['headers']['Location']}" in response.facts["headers"]
    assert "(from `method_decorator(login_required)`" in plain(
        explain(django_login, request_id=request.id), "en")


def test_a_decorator_refusing_the_method_is_a_layer_that_answered(django_views: Trace,
                                                                  untraced_views) -> None:
    request = _request(django_views, "POST /only-get")
    assert request.status == untraced_views["POST /only-get"]["status"] == 405
    layers = [s for s in calls(request.steps, Role.LAYER) if "middleware" not in s.facts]
    assert [layer.name.split(".")[0] for layer in layers] == ["csrf_exempt",
                                                              "require_http_methods"]
    assert layers[1].parent == layers[0].id
    assert calls(request.steps, Role.VIEW) == []


def test_csrf_s_process_view_answers_before_the_view(django_views: Trace,
                                                     untraced_views) -> None:
    request = _request(django_views, "POST /comment")
    assert request.status == untraced_views["POST /comment"]["status"] == 403
    hook = one([s for s in calls(request.steps, Role.LAYER) if s.facts.get("hook")])
    assert hook.facts["middleware"] == untraced_views["middleware"][-1] == \
        "django.middleware.csrf.CsrfViewMiddleware"
    assert hook.parent == one(calls(request.steps, Role.DISPATCH)).id
    assert calls(request.steps, Role.VIEW) == []
    text = plain(explain(django_views, request_id=request.id), "en")
    assert "`django.middleware.csrf.CsrfViewMiddleware.process_view` answered before the " \
        "view with <HttpResponseForbidden" in text
    assert "`_get_response` ran the view the match gave" not in text


@pytest.mark.parametrize(("lang", "spec", "told"), [
    ("en", "GET /login", "`dispatch()` looked up the handler by reflection, "
                         "`getattr(self, 'get', self.http_method_not_allowed)`: that is "
                         "`Login.get`."),
    ("en", "GET /login", "`get_response` sent the request into the middleware chain, 3 "
                         "middleware outermost first"),
    ("zh", "HEAD /login", "这个类有 `get` 却没有 `head`，所以它还设置了 `self.head = self.get`"),
    ("zh", "GET /nowhere", "没有任何模式匹配，于是它抛出 `Resolver404`，Django 返回 404"),
    ("zh", "PUT /login", "于是改用 `self.http_method_not_allowed`：返回 405"),
])
def test_explain_tells_it_in_django_s_words(django_login: Trace, lang: str, spec: str,
                                            told: str) -> None:
    text = plain(explain(django_login, request_id=_request(django_login, spec).id), lang)
    assert told in text
    assert "MapAdapter" not in text and "view_functions" not in text


def test_registration_is_told_in_django_s_words(django_login: Trace) -> None:
    text = plain(explain(django_login), "en")
    assert ("`path()` made a `URLPattern`: the route 'login' leads to `Login.as_view()`, and "
            "its `name` 'login' is the endpoint") in text
    assert "Django's URL tree, tried in this order for every request" in text
    assert "Django 的 URL 树" in plain(explain(django_login), "zh")


def test_an_include_is_told_as_the_prefix_and_the_urlconf_it_hands_over(
        django_views: Trace) -> None:
    """The whole registration, as explain tells it when no endpoint narrows it."""
    from tracer.frameworks.django.narrate_registration import narrate_registration
    from tracer.frameworks.narration.items import Message, Section, numbered

    items = numbered(narrate_registration(django_views))
    whole = [Section("registration", Message("Registration"), items)]
    text = plain(whole, "en")
    assert "`include()` imported the URLconf 'fixtures.django_blog.urls'" in text
    assert "their names take the namespace: `blog:NAME`." in text
    assert "`path()` made a `URLResolver` for the prefix 'blog/'" in text
    assert "为前缀 'blog/' 创建了一个 `URLResolver`" in plain(whole, "zh")


def test_compare_reads_django_s_facts(django_login: Trace) -> None:
    from viewer.compare import compare, to_text

    head = _request(django_login, "HEAD /login").id
    text = to_text(compare([django_login, django_login], request_ids=[head, head]))
    assert "stored rule 'login' (GET, POST, HEAD, OPTIONS) in `urlpatterns[0]`" in text
    assert "Login.get" in text


# -- loading -----------------------------------------------------------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            request: pytest.FixtureRequest) -> Iterator[Path]:
    """A Django project as `startproject` lays it out: settings, urls, wsgi."""
    name = f"proj_{request.node.name.split('[')[0][-12:]}".replace("-", "_")
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(textwrap.dedent(f"""\
        SECRET_KEY = "project-fixture-not-a-secret"
        ROOT_URLCONF = "{name}.urls"
        ALLOWED_HOSTS = ["*"]
        INSTALLED_APPS = []
        MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
        DATABASES = {{}}
        USE_TZ = True
        """))
    (package / "urls.py").write_text(textwrap.dedent("""\
        from django.http import HttpResponse
        from django.urls import path

        def ping(request):
            return HttpResponse("pong")

        urlpatterns = [path("ping/", ping, name="ping")]
        """))
    (package / "wsgi.py").write_text(textwrap.dedent(f"""\
        import os
        from django.core.wsgi import get_wsgi_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{name}.settings")
        application = get_wsgi_application()
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


@pytest.mark.parametrize("module", ["settings", "wsgi"])
def test_a_project_loads_from_its_settings_or_its_wsgi_module(project: Path,
                                                              module: str) -> None:
    from django.conf import settings

    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    before = settings.configured
    recording = record_app(str(project / f"{module}.py"), [RequestSpec(path="/ping/")])
    assert recording.app_error is None, recording.app_error
    request = recording.trace.requests[0]
    assert (request.status, request.rule, request.endpoint) == (200, "ping/", "ping")
    assert [r.endpoint for r in recording.trace.routes] == ["ping"]
    assert settings.configured is before, "Django's settings are put back after recording"


def test_a_failing_view_is_a_500_whose_traceback_shows_no_frame_of_ours() -> None:
    """Django logs, signals and shows the exception's traceback: flaskscope's wrapper
    frames are taken out of it first, as they are for Flask."""
    from django.core.signals import got_request_exception

    from tracer.paths import OWN_DIRS

    seen: list[list[str]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        error = sys.exc_info()[1]
        frames, entry = [], error.__traceback__ if error is not None else None
        while entry is not None:
            frames.append(entry.tb_frame.f_code.co_filename)
            entry = entry.tb_next
        seen.append(frames)

    got_request_exception.connect(receiver)
    try:
        recording = record_fixture("django_views", "GET /boom")
    finally:
        got_request_exception.disconnect(receiver)
    request = recording.trace.requests[0]
    assert request.status == 500
    view = one(calls(request.steps, Role.VIEW))
    assert view.name == "boom"
    assert seen and seen[0][-1].endswith("fixtures/django_views.py")
    assert not [f for f in seen[0] if f.startswith(OWN_DIRS)], seen[0]
    text = plain(explain(recording.trace, request_id=0), "en")
    assert "The view `boom` (fixtures/django_views.py:" in text
    assert ("`_get_response` raised ValueError('the view failed'). "
            "`convert_exception_to_response`") in text
    assert "the middleware outside see a 500 response, not the exception." in text


def test_several_django_apps_load_one_after_another_in_one_process() -> None:
    """Each recording puts Django's settings, apps registry and URL caches back, so the
    next app brings its own `ROOT_URLCONF`, middleware and installed apps."""
    from django.conf import settings

    before = settings.configured
    seen = []
    for name in ("django_views", "django_login", "django_views"):
        recording = record_fixture(name, "GET /nowhere")
        assert recording.app_error is None, recording.app_error
        seen.append(sorted(route.endpoint for route in recording.trace.routes)[:2])
        assert settings.configured is before
    assert seen[0] == seen[2] != seen[1]


def test_an_unsupported_django_is_one_line_and_a_non_zero_exit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flaskscope.cli import cli
    from tracer.frameworks.django import support

    monkeypatch.setattr(support, "installed_version", lambda: "3.2.25")
    forget_fixtures()
    try:
        result = CliRunner().invoke(cli, ["trace", "fixtures/django_views.py", "GET", "/"])
    finally:
        forget_fixtures()
    assert result.exit_code != 0
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Django 3.2.25 cannot be traced" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_a_broken_urlconf_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tracer import record_app

    app = tmp_path / "broken_django_app.py"
    app.write_text(textwrap.dedent("""\
        from django.conf import settings
        settings.configure(ROOT_URLCONF="no_such_urls_module", SECRET_KEY="x",
                           ALLOWED_HOSTS=["*"], INSTALLED_APPS=[], MIDDLEWARE=[])
        import django
        django.setup()
        from django.core.wsgi import get_wsgi_application
        application = get_wsgi_application()
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        recording = record_app(str(app), [])
    finally:
        sys.modules.pop("broken_django_app", None)
    assert recording.app_error is not None
    assert "no_such_urls_module" in recording.app_error and "\n" not in recording.app_error


def test_middleware_under_django_s_test_client_is_recorded_process_wide() -> None:
    """`tracer.record()` around Django's own test client: its `ClientHandler` never goes
    through a WSGI server, so `get_response` begins each request; answers are unchanged."""
    import tracer
    from tracer.frameworks.django.state import DjangoState

    forget_fixtures()
    state = DjangoState()
    try:
        with tracer.record() as recorder:
            from django.test import Client

            import fixtures.django_views  # noqa: F401

            client = Client()
            answers = [client.get(path).status_code for path in ("/", "/maintenance", "/x")]
            trace = recorder.trace()
    finally:
        state.restore()
        forget_fixtures()
    assert answers == [200, 503, 404]
    assert [(r.method, r.path, r.status) for r in trace.requests] == [
        ("GET", "/", 200), ("GET", "/maintenance", 503), ("GET", "/x", 404)]
    first = trace.requests[0]
    assert first.steps[0].role == Role.REQUEST and first.steps[0].name == \
        "BaseHandler.get_response"
    assert len([s for s in calls(first.steps, Role.LAYER) if "middleware" in s.facts
                and not s.facts.get("hook")]) == 4
    assert "Django's test client built the request itself" in plain(
        explain(trace, request_id=0), "en")
