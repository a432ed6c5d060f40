"""`flaskscope compare`: Flask, Werkzeug, Bottle, web.py, Django and Tornado side by side,
from each trace's facts; the whole comparison pinned, in English and Chinese, by snapshots."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner
from flaskscope_testing import forget_fixtures, record_fixture, tornado_client

from flaskscope.cli import cli
from tracer.model import Trace
from tracer.tracefile import save
from viewer.compare import CONCEPTS, LANGUAGES, compare, to_json, to_text

pytest.importorskip("bottle")
pytest.importorskip("web")
pytest.importorskip("django")
pytest.importorskip("tornado")

APPS = ("seed_login", "werkzeug_login", "bottle_login", "webpy_login", "django_login",
        "tornado_login")
#: What `flaskscope compare -r 'GET /login'` sends each app: the request, a HEAD, a PUT.
REQUESTS = ("GET /login", "HEAD /login", "PUT /login")


@pytest.fixture(scope="module")
def login_traces() -> list[Trace]:
    return [record_fixture(name, *REQUESTS).trace for name in APPS]


def _cells(traces: list[Trace], lang: str = "en", request: int = 0) -> dict[str, tuple]:
    comparison = compare(traces, lang=lang, request_ids=[request] * len(traces))
    assert [c.key for c in comparison.concepts] == list(CONCEPTS)
    assert comparison.labels == ("flask (seed_login.py)", "werkzeug (werkzeug_login.py)",
                                 "bottle (bottle_login.py)", "webpy (webpy_login.py)",
                                 "django (django_login.py)", "tornado (tornado_login.py)")
    return {c.key: c.cells for c in comparison.concepts}


def test_where_the_route_is_stored(login_traces) -> None:
    flask, werkzeug, bottle, *_ = _cells(login_traces)["stored"]
    assert "`Map.add` put rule '/login' (GET, HEAD, OPTIONS, POST)" in flask[0]
    assert flask[1].startswith("`view_functions['index'] = index`")
    assert "(GET, HEAD, POST) with endpoint 'index'" in werkzeug[0]
    assert werkzeug[1].startswith("nothing recorded a view table")
    assert bottle[:2] == (
        "`Router.add` stored rule '/login' (GET) in `router.static['GET']` (static: a table "
        "keyed by the exact path), its target the `Route` object",
        "`Router.add` stored rule '/login' (POST) in `router.static['POST']` (static: a table "
        "keyed by the exact path), its target the `Route` object")
    assert bottle[2:] == ("the route object went into `app.routes[0]`",
                          "the route object went into `app.routes[1]`")


def test_how_the_endpoint_is_chosen(login_traces) -> None:
    flask, werkzeug, bottle, *_ = _cells(login_traces)["endpoint"]
    assert flask == ("no endpoint given: `_endpoint_from_view_func` named it 'index' after "
                     "`index.__name__`",)
    assert werkzeug == ("given in the rule itself: endpoint 'index'",)
    assert bottle[0].startswith("no name given: the route has none")


def test_how_the_handler_is_found_and_wrapped(login_traces) -> None:
    cells = _cells(login_traces)
    flask, werkzeug, bottle, *_ = cells["found"]
    assert flask[:2] == ("`RequestContext.match_request` matched '/login' to rule '/login', "
                         "endpoint 'index'",
                         "`Flask.dispatch_request` called the endpoint's function `index`")
    assert werkzeug[0].startswith("`MapAdapter.match` matched '/login'")
    assert werkzeug[1] == "`MapAdapter.dispatch` called the endpoint's function `index`"
    assert bottle[0].startswith("`Router.match` matched '/login'")
    assert bottle[-1].startswith("the handler that ran: `index` (fixtures/bottle_login.py:")
    flask_wrap, werkzeug_wrap, bottle_wrap, webpy_wrap, *_ = cells["wrapped"]
    assert flask_wrap == werkzeug_wrap == ("no layers: the handler is called directly",)
    assert bottle_wrap == (
        "layers, outermost first: JSONPlugin.apply.<locals>.wrapper → "
        "view.<locals>.decorator.<locals>.wrapper → no_store.<locals>.wrapper → index",
        "applied by `Route._make_callback` on the route's first request, first plugin "
        "innermost: no_store (0), template (1), json (2)")
    assert webpy_wrap == ("layers, outermost first: class Login → no_store.<locals>.wrapper",)


def test_a_405_on_each_framework(login_traces) -> None:
    cells = _cells(login_traces, request=2)
    allowed = [line[0].rsplit("allowed ", 1)[1] for line in cells["found"][:3]]
    assert allowed == ["GET, HEAD, OPTIONS, POST", "GET, HEAD, POST", "GET, POST"]
    assert cells["found"][3][0].startswith("`application._match` matched '/login'")
    assert [line[0] for line in cells["answered"]] == ["405 method_not_allowed"] * len(APPS)
    assert "Allow: GET,POST" in cells["answered"][2][1]


def test_what_head_does_against_what_each_app_answers(login_traces) -> None:
    """HEAD, told from the recorded facts, held to the apps themselves: the rule's methods
    as each router keeps them, and the body web.py hands back, by web.py's own client."""
    import werkzeug.test

    from fixtures import bottle_login, webpy_login, werkzeug_login

    flask, werkzeug_cell, bottle, webpy, *_ = _cells(login_traces)["head"]
    assert flask[0] == werkzeug_cell[0] == bottle[0] == webpy[0] == "HEAD '/login': 200 ok"
    try:
        adapter = werkzeug_login.url_map.bind("localhost")
        rule, _ = adapter.match("/login", method="HEAD", return_rule=True)
        assert werkzeug_cell[1] == (f"rule '/login' lists HEAD among its methods "
                                    f"({', '.join(sorted(rule.methods))})")
        bottle_methods = sorted(r.method for r in bottle_login.app.routes if r.rule == "/login")
        assert bottle_methods == ["GET", "POST"] and "HEAD" not in bottle_methods
        assert bottle[1] == ("`Router.match` matched HEAD to rule '/login', though its "
                             "route lists only GET")
        head = webpy_login.app.request("/login", method="HEAD")
        assert head.status == "200 OK" and len(head.data) > 0
        assert webpy[2] == "`getattr` found no `HEAD` for HEAD, so it looked up `GET`: Login.GET"
        assert webpy[-1] == (f"the app handed the server {len(head.data)} bytes of body for "
                             "HEAD, which the server must not send")
        body, status, _ = werkzeug.test.run_wsgi_app(
            werkzeug_login.app, werkzeug.test.EnvironBuilder(
                "/login", method="HEAD").get_environ())
        assert status.startswith("200") and b"".join(body) == b""
        assert werkzeug_cell[-1] == "the app handed the server no body for HEAD"
    finally:
        forget_fixtures()


def test_who_answers_405(login_traces) -> None:
    flask, werkzeug, bottle, webpy, *_ = _cells(login_traces)["refused"]
    assert flask == (
        "`RequestContext.match_request` refused PUT '/login' while matching the URL: the "
        "rule allows GET, HEAD, OPTIONS, POST",
        "no error handler of the app's for it: the framework's own 405 response answered")
    assert werkzeug[0].startswith("`MapAdapter.match` refused PUT '/login' while matching")
    assert werkzeug[1].startswith("`start_response` got `Allow: ")
    assert sorted(werkzeug[1].split("Allow: ")[1].rstrip("`").split(", ")) == [
        "GET", "HEAD", "POST"]
    assert bottle[1:] == ("the 405 response was made by `Bottle.default_error_handler`",
                          "`start_response` got `Allow: GET,POST`")
    assert webpy == ("`application._match` matched the URL; then `application._delegate` "
                     "refused PUT on looking for a handler: GET, POST have one",
                     "`start_response` got `Allow: GET, POST`")


def test_django_s_head_and_405_against_django_itself(login_traces) -> None:
    """Django's column, held to Django's test client with nothing recording: the `head`
    alias `View.setup` makes for a class without one, the body GET makes, the `Allow`
    header of the 405 `View.dispatch` answers."""
    import django

    from tracer.frameworks.django.state import DjangoState

    cells = _cells(login_traces)
    head, refused = cells["head"][4], cells["refused"][4]
    forget_fixtures()
    state = DjangoState()
    try:
        login = __import__("fixtures.django_login", fromlist=["_"]).Login
        django.setup()
        from django.test import Client

        client = Client()
        got, put = client.get("/login"), client.put("/login")
    finally:
        state.restore()
        forget_fixtures()
    assert not hasattr(login, "head") and hasattr(login, "get")
    assert head[2] == ("`getattr` looked up `head` for HEAD and found `get`: the class has no "
                       "`head`, so `View.setup` had set `head = get` on the instance: Login.get")
    assert head[-1] == (f"the app handed the server {len(got.content)} bytes of body for HEAD, "
                        "which the server must not send")
    assert put.status_code == 405
    assert refused[0].startswith("`BaseHandler.resolve_request` matched the URL; then "
                                 "`View.dispatch` refused PUT")
    assert refused[-1] == f"`start_response` got `Allow: {put['Allow']}`"


def test_tornado_s_head_and_405_against_tornado_itself(login_traces) -> None:
    """Tornado's column, held to Tornado's own client against its own server with nothing
    recording: no HEAD falls back to GET (the class has no `head`: 405), and its 405 has no
    `Allow` header."""
    cells = _cells(login_traces)
    head, refused = cells["head"][5], cells["refused"][5]
    forget_fixtures()
    try:
        module = __import__("fixtures.tornado_login", fromlist=["_"])
        with tornado_client(module.app) as client:
            answers = {method: client.fetch("/login", method=method, raise_error=False,
                                            allow_nonstandard_methods=True,
                                            body=b"" if method == "PUT" else None)
                       for method in ("HEAD", "PUT")}
    finally:
        forget_fixtures()
    handler = module.LoginHandler
    assert handler.head is module.tornado.web.RequestHandler.head, "no head of its own"
    assert answers["HEAD"].code == 405 and head[0] == "HEAD '/login': 405 method_not_allowed"
    assert head[2].startswith("`getattr` looked up `head` for HEAD: ")
    assert answers["PUT"].code == 405 and "Allow" not in answers["PUT"].headers
    assert refused == (
        "`Application.find_handler` matched the URL; then `RequestHandler._execute` refused "
        "PUT on looking for a handler: GET, POST have one",
        "the 405 response was made by `BaseHandler.write_error`",
        "`HTTP1Connection.write_headers` got no `Allow` header, which HTTP requires on a 405")


def test_cells_follow_the_facts_not_the_framework(login_traces) -> None:
    """Rename the framework in meta: the sentences stay, only the label changes."""
    renamed = [replace(t, meta={**t.meta, "framework": "mystery"}) for t in login_traces]
    before = {c.key: c.cells for c in compare(login_traces).concepts}
    after = compare(renamed)
    assert {c.key: c.cells for c in after.concepts} == before
    assert after.labels[0] == "mystery (seed_login.py)"


def test_chinese(login_traces) -> None:
    cells = _cells(login_traces, lang="zh")
    assert cells["endpoint"][1] == ("写在规则里：endpoint 'index'",)
    assert "存进 `router.static['GET']`" in cells["stored"][2][0]
    text = to_text(compare(login_traces, lang="zh"))
    assert "如何找到处理函数" in text


def test_cli_compares_apps_and_trace_files(login_traces, tmp_path) -> None:
    saved = tmp_path / "bottle.json"
    save(login_traces[2], saved)
    forget_fixtures()
    try:
        result = CliRunner().invoke(cli, [
            "compare", "fixtures/seed_login.py", "fixtures/werkzeug_login.py", str(saved),
            "-r", "GET /login", "--format", "json"], catch_exceptions=False)
    finally:
        forget_fixtures()
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == to_json(compare(
        [*(record_fixture(n, *REQUESTS).trace for n in APPS[:2]), login_traces[2]]))
    text = CliRunner().invoke(cli, ["compare", "fixtures/seed_login.py"])
    assert text.exit_code == 2 and "two or more SOURCEs" in text.output


SNAPSHOTS = Path(__file__).parent / "snapshots"
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The Flask minor version the snapshots show (its step names).
SNAPSHOT_FLASK = "3.1"


@pytest.mark.skipif(not version("flask").startswith(SNAPSHOT_FLASK + "."),
                    reason=f"the snapshots show Flask {SNAPSHOT_FLASK}'s step names")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_whole_comparison_is_pinned(lang: str) -> None:
    """`flaskscope compare` on every framework's login fixture, as a user runs it, word for
    word. Werkzeug builds `Allow` from a set: the hash seed is fixed so its order is too;
    Tornado's `Date` header and its version in `Server` are masked.
    After an intended change: FLASKSCOPE_SNAPSHOT_UPDATE=1 pytest -k pinned, then read the
    diff of tests/frameworks/snapshots/ before committing."""
    command = ("from flaskscope.cli import cli; cli(prog_name='flaskscope')",)
    result = subprocess.run(
        [sys.executable, "-c", *command, "compare", *(f"fixtures/{name}.py" for name in APPS),
         "-r", "GET /login", "--lang", lang],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "0", "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    told = re.sub(r"Date: [^;\n]+", "Date: <the time of the run>", result.stdout)
    told = re.sub(r"TornadoServer/[\w.]+", "TornadoServer/<its version>", told)
    snapshot = SNAPSHOTS / f"compare_login.{lang}.txt"
    if os.environ.get("FLASKSCOPE_SNAPSHOT_UPDATE"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(told, "utf-8")
    assert told == snapshot.read_text("utf-8")
