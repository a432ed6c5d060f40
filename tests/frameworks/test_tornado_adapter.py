"""Tornado, added as one package (`tracer/frameworks/tornado/`) and one registry line: the
handler list becomes the routes, a request's match, the method found by name and the
layers on it are steps, and every consumer (tree, explain, compare, curl) reads them.

The facts are checked against Tornado itself, sharing no code with the recorder: its own
HTTP client talking to its own server on the loopback (`tornado.testing`), its
`Application.find_handler` asked directly, `reverse_url`, and the routers' rules."""

from __future__ import annotations

import pytest
from flaskscope_testing import calls, forget_fixtures, notes, one, record_fixture, tornado_client

from tracer import Role
from tracer.frameworks import adapter, framework_of
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Request, Trace
from viewer.explain.render import plain

tornado = pytest.importorskip("tornado")

RIGHT = RequestSpec(method="POST", path="/login", data=(("user", "admin"), ("pwd", "password")))
WRONG = RequestSpec(method="POST", path="/login", data=(("user", "admin"), ("pwd", "nope")))
LOGGED_IN = RequestSpec(path="/secret", headers=(("Cookie", "user=admin"),))
REQUESTS: tuple[str | RequestSpec, ...] = (
    "GET /login", "HEAD /login", RIGHT, WRONG, "PUT /login", "TRACE /login",
    "GET /secret", LOGGED_IN, "GET /hello/bob", "HEAD /hello/bob", "GET /about/",
    "GET /nowhere", "GET /boom")


def _spec(item: str | RequestSpec) -> RequestSpec:
    if isinstance(item, RequestSpec):
        return item
    method, path = item.split(" ", 1)
    return RequestSpec(method=method, path=path)


@pytest.fixture(scope="module")
def login() -> Trace:
    recording = record_fixture("tornado_login", *REQUESTS)
    assert recording.app_error is None, recording.app_error
    return recording.trace


@pytest.fixture(scope="module")
def answers() -> dict:
    """What Tornado itself answers to the same requests, nothing recording: its own HTTP
    client against its own server on the loopback; and which requests `on_finish` saw."""
    from urllib.parse import urlencode

    forget_fixtures()
    import fixtures.tornado_login as module

    found = {}
    with tornado_client(module.app) as client:
        for index, item in enumerate(REQUESTS):
            spec = _spec(item)
            body = urlencode(spec.data) if spec.data else None
            found[index] = client.fetch(spec.path, method=spec.method, body=body,
                                        headers=dict(spec.headers), follow_redirects=False,
                                        allow_nonstandard_methods=True, raise_error=False)
    found["finished"] = list(module.FINISHED)
    found["module"] = module
    forget_fixtures()
    return found


def _request(trace: Trace, index: int) -> Request:
    return trace.requests[index]


def test_the_registry_knows_it_by_what_the_app_is() -> None:
    import tornado.web

    assert framework_of(tornado.web.Application([])) == "tornado"
    assert adapter("tornado").available()


def test_the_handler_list_becomes_the_routes(login: Trace, answers: dict) -> None:
    app = answers["module"].app
    assert login.meta["framework"] == "tornado" and login.meta["tornado"] == tornado.version
    rules = [rule.matcher.regex.pattern for rule in app.wildcard_router.rules]
    assert [route.rule for route in login.routes] == rules
    routes = {route.rule: route for route in login.routes}
    assert routes["/login$"].endpoint == "login" and routes["/secret$"].endpoint == "SecretHandler"
    assert app.reverse_url(routes["/hello/(?P<name>[^/]+)$"].endpoint, "bob") == "/hello/bob"
    assert routes["/login$"].methods == ("GET", "POST")
    assert routes["/hello/(?P<name>[^/]+)$"].methods == ("GET", "HEAD")
    assert [(link.kind, link.qualname) for link in routes["/secret$"].chain] == [
        ("view_class", "SecretHandler"), ("decorator", "authenticated.<locals>.wrapper"),
        ("decorator", "no_store.<locals>.wrapper"), ("method", "SecretHandler.get")]
    added = notes(login.registration.steps, Role.RULE_ADDED)
    assert [s.facts["rule"] for s in added] == rules
    assert added[2].facts["kwargs"] == {"greeting": "'Hello'"}


def test_statuses_and_locations_are_what_tornado_answers(login: Trace, answers: dict) -> None:
    for index, request in enumerate(login.requests):
        answer = answers[index]
        assert request.status == answer.code, (REQUESTS[index], request.status, answer.code)
        assert request.redirect_to == answer.headers.get("Location")
    assert [r.status for r in login.requests] == [
        200, 405, 302, 200, 405, 405, 302, 200, 200, 200, 301, 404, 500]


def test_the_match_is_what_find_handler_says(login: Trace, answers: dict) -> None:
    from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

    app = answers["module"].app
    for request in login.requests:
        asked = app.find_handler(HTTPServerRequest(
            start_line=RequestStartLine(request.method, request.path, "HTTP/1.1"),
            headers=HTTPHeaders({"Host": "localhost"})))
        match = one(calls(request.steps, Role.MATCH))
        assert match.facts["handler"] == asked.handler_class.__qualname__
        if match.facts["matched"]:
            args = [a.decode() for a in asked.path_args] + [
                v.decode() for v in asked.path_kwargs.values()]
            assert [v.strip("'") for v in request.view_args.values()] == args
    missing = login.requests[11]
    match = one(calls(missing.steps, Role.MATCH))
    assert missing.outcome == "not_found" and match.facts["matched"] is False
    assert match.facts["tried"] == [r.matcher.regex.pattern for r in app.wildcard_router.rules]
    assert "Tornado's `ErrorHandler` answers with 404" in plain(explain(login, request_id=11),
                                                                "en")


def test_the_rule_s_kwargs_reach_initialize_before_execute(login: Trace) -> None:
    hello = login.requests[8]
    init = one(calls(hello.steps, Role.VIEW_INIT))
    dispatch = one(calls(hello.steps, Role.DISPATCH))
    assert init.name == "HelloHandler.initialize" and init.id < dispatch.id
    assert init.detail["greeting"] == "'Hello'"
    assert one(calls(hello.steps, Role.MATCH)).facts["kwargs"] == {"greeting": "'Hello'"}
    assert "keyword arguments to `HelloHandler.initialize`" in plain(
        explain(login, request_id=8), "en")


def test_the_method_is_found_by_name_after_prepare(login: Trace) -> None:
    get = login.requests[0]
    dispatch = one(calls(get.steps, Role.DISPATCH))
    prepare = one(calls(get.steps, Role.BEFORE_REQUEST_FUNCTION))
    lookup = one(notes(get.steps, Role.HANDLER_LOOKUP))
    handler = one(calls(get.steps, Role.HANDLER))
    assert (dispatch.facts["method"], dispatch.facts["looked_up"]) == ("GET", "get")
    assert prepare.name == "BaseHandler.prepare" and prepare.parent == dispatch.id
    assert prepare.id < lookup.id < handler.id
    assert lookup.facts["found"] and lookup.facts["handler"] == "LoginHandler.get"
    assert handler.name == "LoginHandler.get"


def test_head_is_no_get_in_tornado(login: Trace, answers: dict) -> None:
    head = login.requests[1]
    lookup = one(notes(head.steps, Role.HANDLER_LOOKUP))
    assert (lookup.facts["tried"], lookup.facts["found"]) == ("head", False)
    assert one(calls(head.steps, Role.HANDLER)).name == "RequestHandler._unimplemented_method"
    assert head.status == 405 and "Allow" not in answers[1].headers
    text = plain(explain(login, request_id=1), "en")
    assert "Tornado has no HEAD served by GET" in text
    served = login.requests[9]
    assert one(notes(served.steps, Role.HANDLER_LOOKUP)).facts["found"]
    assert served.status == 200 and answers[9].body == b""


def test_the_405s_say_supported_methods_and_what_the_class_defines(login: Trace,
                                                                   answers: dict) -> None:
    put, trace_method = login.requests[4], login.requests[5]
    assert put.outcome == "method_not_allowed" and put.allowed_methods == ("GET", "POST")
    assert "Allow" not in answers[4].headers
    dispatch = one(calls(trace_method.steps, Role.DISPATCH))
    assert "TRACE" not in dispatch.facts["supported_methods"]
    assert calls(trace_method.steps, Role.BEFORE_REQUEST_FUNCTION) == []
    assert "is not in its `SUPPORTED_METHODS`" in plain(explain(login, request_id=5), "en")


def test_decorator_layers_nest_outermost_first_and_may_skip_the_method(login: Trace) -> None:
    refused, allowed = login.requests[6], login.requests[7]
    outer = one(calls(refused.steps, Role.LAYER))
    assert outer.name == "authenticated.<locals>.wrapper"
    assert calls(refused.steps, Role.HANDLER) == [], "authenticated redirected instead"
    assert "what is inside it was skipped" in plain(explain(login, request_id=6), "en")
    layers = calls(allowed.steps, Role.LAYER)
    handler = one(calls(allowed.steps, Role.HANDLER))
    assert [s.name for s in layers] == ["authenticated.<locals>.wrapper",
                                        "no_store.<locals>.wrapper"]
    assert layers[1].parent == layers[0].id and handler.parent == layers[1].id


def test_an_exception_is_an_error_the_app_s_write_error_answers(login: Trace) -> None:
    boom = login.requests[12]
    assert (boom.status, boom.outcome) == (500, "error") and "boom" in boom.error
    handling = calls(boom.steps, Role.ERROR_HANDLING)
    assert [s.name for s in handling] == ["RequestHandler._handle_request_exception",
                                          "RequestHandler.send_error"]
    assert one(calls(boom.steps, Role.ERROR_HANDLER)).name == "BaseHandler.write_error"
    put = login.requests[4]
    send_error = one(calls(put.steps, Role.ERROR_HANDLING, "RequestHandler.send_error"))
    assert one(calls(put.steps, Role.ERROR_HANDLER)).parent == send_error.id
    text = plain(explain(login, request_id=12), "en")
    assert "`_execute` caught RuntimeError; `_handle_request_exception` turned it into a 500" \
        in text and "The class's own `BaseHandler.write_error`" in text


def test_on_finish_runs_where_tornado_runs_it(login: Trace, answers: dict) -> None:
    finished = [r.path for r in login.requests if calls(r.steps, Role.TEARDOWN_FUNCTION)]
    assert finished == answers["finished"]
    error = login.requests[11]
    assert one(calls(error.steps, Role.BEFORE_REQUEST_FUNCTION)).name == "ErrorHandler.prepare"
    assert notes(error.steps, Role.HANDLER_LOOKUP) == []
    assert "its `prepare()`, and no method was looked up after it." in plain(
        explain(login, request_id=11), "en")


@pytest.mark.parametrize(("lang", "request_id", "told"), [
    ("en", 0, "`_execute` looked the method up by name: `getattr(self, 'get')`, that is "
              "`LoginHandler.get`."),
    ("en", 8, "'/hello/bob' matched '/hello/(?P<name>[^/]+)$', so the handler class is "
              "`HelloHandler` (the route `hello`)"),
    ("zh", 1, "Tornado 不会用 GET 来处理 HEAD"),
    ("zh", 0, "按名字查找处理方法"),
])
def test_explain_tells_it_in_tornado_words(login: Trace, lang: str, request_id: int,
                                           told: str) -> None:
    text = plain(explain(login, request_id=request_id), lang)
    assert told in text
    assert "WSGI server called" not in text and "view_functions" not in text


def test_registration_is_told(login: Trace) -> None:
    text = plain(explain(login), "en")
    assert "`Application.__init__` turned the handler list into rules" in text
    assert "'/login$' → `LoginHandler` (name 'login')" in text


def test_the_curl_export_of_a_post_sends_its_body(login: Trace) -> None:
    from viewer.export.curl import curl_commands

    text = curl_commands(login, request_id=2).text
    assert "--data-binary 'user=admin&pwd=***'" in text and "/login" in text


def test_the_pytest_export_of_a_post_replays_it_through_tornado_s_test_case() -> None:
    """The generated module runs: Tornado's own test case serves the app, sends the POST with
    its body and sees the same status and Location."""
    import io
    import unittest

    from flaskscope_testing import fixture_path

    from viewer.export.pytest_export import pytest_file

    trace = record_fixture("tornado_login", RIGHT, "GET /nowhere", redact=False).trace
    text = pytest_file(trace, fixture_path("tornado_login"), redact=False).text
    assert "body=b'user=admin&pwd=password'" in text
    assert "assert response.headers.get('Location') == 'http://www.xx.com'" in text
    namespace: dict = {}
    forget_fixtures()
    try:
        exec(compile(text, "test_replay.py", "exec"), namespace)
        suite = unittest.defaultTestLoader.loadTestsFromTestCase(namespace["TestReplay"])
        result = unittest.TextTestRunner(stream=io.StringIO()).run(suite)
    finally:
        forget_fixtures()
    assert result.testsRun == 2 and result.wasSuccessful(), result.failures + result.errors
    redacted = pytest_file(record_fixture("tornado_login", RIGHT).trace, "app.py").text
    assert "pwd=***" in redacted and "the body holds '***' where the recording hid" in redacted


def test_compare_reads_tornado_facts(login: Trace) -> None:
    from viewer.compare import compare, to_text

    text = to_text(compare([login, login], request_ids=[0, 1]))
    assert "stored rule '/login$'" in text and "LoginHandler.get" in text
    assert "the 405 response was made by `BaseHandler.write_error`" in text
    assert "got no `Allow` header" in text


def test_a_factory_is_called_when_flask_is_not_used(tmp_path, monkeypatch) -> None:
    from tracer import record_app

    path = tmp_path / "tornado_factory_app.py"
    path.write_text("import tornado.web\nclass Main(tornado.web.RequestHandler):\n"
                    "    def get(self):\n        self.write('hi')\n"
                    "def make_app():\n    return tornado.web.Application([('/', Main)])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        for ref in (str(path), f"{path}:make_app()"):
            trace = record_app(ref, [RequestSpec(path="/")]).trace
            assert [(r.status, r.endpoint) for r in trace.requests] == [(200, "Main")]
    finally:
        import sys

        sys.modules.pop("tornado_factory_app", None)


def test_an_older_tornado_refuses_its_app_in_one_line_and_leaves_flask_apps_alone(
        monkeypatch) -> None:
    from click.testing import CliRunner
    from flaskscope_testing import fixture_path

    from flaskscope.cli import cli
    from tracer.errors import UnsupportedVersionError
    from tracer.frameworks.tornado import support

    monkeypatch.setattr(support, "version", lambda name: "5.1.1")
    with pytest.raises(UnsupportedVersionError, match="Tornado 5.1.1 is older"):
        support.check_version()
    forget_fixtures()
    try:
        refused = CliRunner().invoke(cli, ["trace", fixture_path("tornado_login"), "GET",
                                           "/login"])
        flask = CliRunner().invoke(cli, ["trace", fixture_path("seed_login"), "GET",
                                         "/login"])
    finally:
        forget_fixtures()
    assert refused.exit_code == 2 and refused.output.strip().count("\n") == 0
    assert refused.output.startswith("flaskscope: error: Tornado 5.1.1 is older than")
    assert "Traceback" not in refused.output
    assert flask.exit_code == 0 and "200" in flask.output


@pytest.mark.parametrize(("installed", "said"), [
    ("6.0.4", None), ("6.6.1", None), ("7.0\x1b[2J", "Tornado 7.0??2J is newer")])
def test_a_newer_tornado_is_a_one_line_notice(monkeypatch, installed: str,
                                              said: str | None) -> None:
    from tracer.frameworks.tornado import support

    monkeypatch.setattr(support, "version", lambda name: installed)
    notice = support.check_version()
    assert (notice is None) == (said is None)
    if said is not None:
        assert notice.startswith(said) and "\n" not in notice and "\x1b" not in notice


def test_recording_process_wide_records_tornado_s_own_test_requests() -> None:
    """Installed process-wide, recording sees the requests of Tornado's own test client,
    and the app answers them as it does unrecorded."""
    import tracer

    forget_fixtures()
    with tracer.record() as recorder:
        import fixtures.tornado_login as module

        with tornado_client(module.app) as client:
            codes = [client.fetch(path, method=method, follow_redirects=False).code
                     for method, path in (("GET", "/login"), ("HEAD", "/login"),
                                          ("GET", "/nowhere"))]
        trace = recorder.trace()
    forget_fixtures()
    assert codes == [200, 405, 404]
    assert [(r.method, r.status, r.endpoint) for r in trace.requests] == [
        ("GET", 200, "login"), ("HEAD", 405, "login"), ("GET", 404, None)]


def test_serve_says_in_one_line_that_a_tornado_app_is_no_wsgi_app() -> None:
    from click.testing import CliRunner

    from flaskscope.cli import cli

    result = CliRunner().invoke(cli, ["serve", "fixtures/tornado_login.py", "--port", "0"])
    assert result.exit_code == 2, result.output
    assert "is a tornado app, which is no WSGI app" in result.output
    assert "Traceback" not in result.output


class _Lines:
    """The oracle's own `sys.settrace`: which lines of Tornado and of the fixture ran, per
    phase, while the same requests are replayed with nothing of flaskscope installed (a
    function's decorator and `def` lines count as run when it is called)."""

    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = roots
        self.label = "registration"
        self.ran: dict[str, set[tuple[str, int]]] = {}

    def __enter__(self) -> _Lines:
        import sys

        sys.settrace(self._call)
        return self

    def __exit__(self, *_: object) -> None:
        import sys

        sys.settrace(None)

    def _call(self, frame, event, arg):
        file = frame.f_code.co_filename
        if event != "call" or not file.startswith(self.roots):
            return None
        first = [frame.f_code.co_firstlineno]

        def local(frame, event, arg):
            if event == "line":
                ran = self.ran.setdefault(self.label, set())
                if first:
                    ran.update((file, n) for n in range(first.pop(), frame.f_lineno))
                ran.add((file, frame.f_lineno))
            return local

        return local


def test_explain_quotes_only_lines_that_ran(tmp_path) -> None:
    """Every line `explain --source` quotes, in both languages, ran in that request when
    Tornado's own test case sends the same requests with nothing recording."""
    import json
    import os
    from urllib.parse import urlencode

    from click.testing import CliRunner
    from flaskscope_testing import REPO_ROOT

    from flaskscope.cli import cli
    from tracer.tracefile import save

    trace = record_fixture("tornado_login", *REQUESTS).trace
    site = os.path.dirname(os.path.dirname(tornado.__file__))
    roots = (os.path.dirname(tornado.__file__) + os.sep, str(REPO_ROOT / "fixtures") + os.sep)
    forget_fixtures()
    with _Lines(roots) as lines:
        import fixtures.tornado_login as module

        with tornado_client(module.app) as client:
            for index, item in enumerate(REQUESTS):
                spec = _spec(item)
                lines.label = f"request {index}"
                client.fetch(spec.path, method=spec.method, headers=dict(spec.headers),
                             body=urlencode(spec.data) if spec.data else None,
                             follow_redirects=False, allow_nonstandard_methods=True)
    forget_fixtures()
    path = save(trace, tmp_path / "trace.jsonl")
    quoted = 0
    for lang in ("en", "zh"):
        result = CliRunner().invoke(cli, ["explain", str(path), "--source", "--format", "json",
                                          "--lang", lang])
        assert result.exit_code == 0, result.output
        for section in json.loads(result.output)["sections"]:
            if section["kind"] != "request":
                continue
            ran = lines.ran.get(f"request {section['request']}", set())
            for item in section["items"]:
                for source in item.get("sources") or []:
                    file, _, line = source["at"].rpartition(":")
                    full = (os.path.join(site, file) if file.startswith("tornado/")
                            else str(REPO_ROOT / file))
                    quoted += 1
                    assert (full, int(line)) in ran, (section["request"], source)
    assert quoted > 100


def test_requests_served_at_once_are_recorded_apart() -> None:
    """Each request has a context of its own: three handlers awaiting at the same time,
    finishing in another order than they began, each keep their own steps."""
    import asyncio

    import tornado.web
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port

    import tracer

    class Slow(tornado.web.RequestHandler):
        async def get(self, n: str) -> None:
            await asyncio.sleep(0.02 * int(n))
            self.write(f"slow {n}")

    async def fetch_all(app: tornado.web.Application) -> list[bytes]:
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_sockets([sock])
        try:
            client = AsyncHTTPClient()
            answers = await asyncio.gather(*[
                client.fetch(f"http://127.0.0.1:{port}/slow/{n}") for n in (3, 1, 2)])
        finally:
            server.stop()
            await server.close_all_connections()
        return [answer.body for answer in answers]

    with tracer.record() as recorder:
        app = tornado.web.Application([(r"/slow/(\d)", Slow)])
        loop = asyncio.new_event_loop()
        try:
            bodies = loop.run_until_complete(fetch_all(app))
        finally:
            loop.close()
        trace = recorder.trace()
    assert bodies == [b"slow 3", b"slow 1", b"slow 2"]
    assert [(r.path, r.view_args) for r in trace.requests] == [
        ("/slow/1", {"1": "'1'"}), ("/slow/2", {"1": "'2'"}), ("/slow/3", {"1": "'3'"})]
    for request in trace.requests:
        assert [s.name.rpartition(".<locals>.")[2] for s in calls(request.steps, Role.HANDLER)
                ] == ["Slow.get"]
        assert one(calls(request.steps, Role.MATCH)).facts["view_args"] == request.view_args
    assert recorder.errors == 0


def test_a_factory_flaskscope_called_is_not_called_again(tmp_path, monkeypatch) -> None:
    """A module importing Flask only inside its factory: flaskscope calls the factory (the
    module shows no Flask), and keeps the Flask app it made rather than make a second."""
    import sys

    from tracer import record_app

    path = tmp_path / "inner_flask_factory.py"
    path.write_text("MADE = []\ndef create_app():\n    from flask import Flask\n"
                    "    app = Flask(__name__)\n    MADE.append(app)\n"
                    "    app.add_url_rule('/', 'home', lambda: 'hi')\n    return app\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        trace = record_app(str(path), [RequestSpec(path="/")]).trace
        made = sys.modules["inner_flask_factory"].MADE
    finally:
        sys.modules.pop("inner_flask_factory", None)
    assert len(made) == 1 and trace.meta["framework"] == "flask"
    assert [(r.status, r.endpoint) for r in trace.requests] == [(200, "home")]


HOSTS_APP = '''\
import tornado.web


class Main(tornado.web.RequestHandler):
    def get(self):
        self.write("main")


class Www(tornado.web.RequestHandler):
    def get(self):
        self.write("www")


class Missing(tornado.web.RequestHandler):
    def prepare(self):
        self.set_status(404)
        self.finish("missing")


app = tornado.web.Application([(r"/", Main)], default_handler_class=Missing)
app.add_handlers(r"www\\.example\\.com", [tornado.web.url(r"/", Www, name="www-home")])
'''


def test_a_host_s_rules_come_first_and_the_default_handler_answers_the_rest(
        tmp_path, monkeypatch) -> None:
    import sys

    from tracer import record_app

    path = tmp_path / "tornado_hosts_app.py"
    path.write_text(HOSTS_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        trace = record_app(str(path), [
            RequestSpec(path="/", headers=(("Host", "www.example.com"),)),
            RequestSpec(path="/"), RequestSpec(path="/nowhere")]).trace
        app = sys.modules["tornado_hosts_app"].app
    finally:
        sys.modules.pop("tornado_hosts_app", None)
    assert [(r.rule, r.endpoint) for r in trace.routes] == [("/$", "www-home"), ("/$", "Main")]
    assert [(r.status, r.endpoint) for r in trace.requests] == [
        (200, "www-home"), (200, "Main"), (404, None)]
    hosts = one(calls(trace.registration.steps, Role.ADD_URL_RULE, "Application.add_handlers"))
    assert hosts.facts["host_pattern"] == r"www\.example\.com"
    assert "added the rules of host" in plain(explain(trace), "en")
    missing = one(calls(trace.requests[2].steps, Role.MATCH))
    assert missing.facts["default_handler"] == "Missing" and app.settings[
        "default_handler_class"].__name__ == "Missing"
    text = plain(explain(trace, request_id=2), "en")
    assert "so the app's `default_handler_class`, `Missing`, answers." in text
    assert "`Missing.prepare`" in text and "finished the response itself" in text


def test_an_application_mounted_under_a_rule_router_records_and_a_bare_404_ends() -> None:
    """Tornado's routing lets a `RuleRouter` hand a request on to an application: it is
    recorded there as anywhere; a path no rule takes gets the router's bare 404, filed too."""
    import asyncio

    import tornado.web
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.routing import PathMatches, RuleRouter
    from tornado.testing import bind_unused_port

    import tracer
    from tracer.frameworks import active_hooks

    class Hi(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write("hi")

    async def fetch_all(router: RuleRouter) -> list[int]:
        sock, port = bind_unused_port()
        server = HTTPServer(router)
        server.add_sockets([sock])
        try:
            client = AsyncHTTPClient()
            return [(await client.fetch(f"http://127.0.0.1:{port}{path}", raise_error=False)).code
                    for path in ("/app/hi", "/elsewhere")]
        finally:
            server.stop()
            await server.close_all_connections()

    with tracer.record() as recorder:
        app = tornado.web.Application([(r"/app/hi", Hi, {}, "hi")])
        router = RuleRouter([(PathMatches(r"/app/.*"), app)])
        loop = asyncio.new_event_loop()
        try:
            codes = loop.run_until_complete(fetch_all(router))
        finally:
            loop.close()
        trace = recorder.trace()
        left_open = active_hooks("tornado").open_requests()
    assert codes == [200, 404] and left_open == 0
    mounted, bare = trace.requests
    assert (mounted.status, mounted.endpoint, mounted.rule) == (200, "hi", "/app/hi$")
    assert [s.name.rpartition(".")[2] for s in calls(mounted.steps, Role.HANDLER)] == ["get"]
    assert (bare.status, calls(bare.steps, Role.MATCH)) == (404, [])
