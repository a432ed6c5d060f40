"""The checks on apps built in the test: what they report and what they leave alone."""

from __future__ import annotations

import functools
from uuid import UUID

from flask import Flask
from flask.views import MethodView

import tracer
from tracer.frameworks.flask.checks.registration import wrappers_without_wraps
from tracer.frameworks.flask.checks.routing import (
    sample_path,
    shadowed_rules,
    strict_slash_redirects,
)
from tracer.frameworks.flask.checks.views import decorators_above_route, method_view_methods


def test_sample_paths_satisfy_each_converter() -> None:
    app = Flask(__name__)
    for rule, endpoint in [("/i/<int:n>", "i"), ("/u/<uuid:u>", "u"), ("/f/<float:x>", "f"),
                           ("/p/<path:rest>", "p"), ("/a/<any(red, blue):c>", "a"),
                           ("/s/<string(length=4):code>", "s")]:
        app.add_url_rule(rule, endpoint, lambda **kw: "")
    samples = {r.endpoint: sample_path(r) for r in app.url_map.iter_rules()}
    assert samples["i"] == "/i/1"
    UUID(samples["u"].rsplit("/", 1)[1])
    assert samples["f"] == "/f/1.5" and samples["p"] == "/p/1"
    assert samples["a"] in ("/a/blue", "/a/red")
    assert samples["s"] == "/s/2024"
    adapter = app.url_map.bind("localhost")
    for endpoint, path in samples.items():
        if endpoint != "static":
            assert adapter.match(path)[0] == endpoint


def test_identical_rule_registered_twice_is_shadowed() -> None:
    app = Flask(__name__)
    app.add_url_rule("/report", "report", lambda: "old")
    app.add_url_rule("/report", "report_v2", lambda: "new")
    [finding] = shadowed_rules(app)
    assert finding.problem[0].params["endpoint"] == "'report_v2'"
    assert finding.problem[0].params["other_endpoint"] == "'report'"


def test_narrower_converter_is_not_shadowed_by_weight() -> None:
    app = Flask(__name__)
    app.add_url_rule("/user/<name>", "by_name", lambda name: "")
    app.add_url_rule("/user/<int:user_id>", "by_id", lambda user_id: "")
    assert shadowed_rules(app) == []  # werkzeug ranks int first: both are reachable


def test_shadowing_only_for_the_method_both_accept() -> None:
    app = Flask(__name__)
    app.add_url_rule("/x/<slug>", "read", lambda slug: "", methods=["GET"])
    app.add_url_rule("/x/<uuid:key>", "write", lambda key: "", methods=["POST"])
    assert shadowed_rules(app) == []


def test_slash_redirect_only_for_body_methods_and_strict_rules() -> None:
    app = Flask(__name__)
    app.add_url_rule("/docs/", "docs", lambda: "")
    app.add_url_rule("/api/", "api", lambda: "", methods=["PUT"], strict_slashes=False)
    app.add_url_rule("/upload/<int:n>/", "upload", lambda n: "", methods=["POST"])
    [finding] = strict_slash_redirects(app)
    assert finding.problem[0].params["rule"] == "'/upload/<int:n>/'"
    assert finding.problem[0].params["bare"] == "'/upload/1'"


def test_slash_rule_with_its_own_bare_twin_is_told_as_werkzeug_routes_it() -> None:
    """Werkzeug 2.2+ gives `/items` its own rule; before 2.2 the slash rule matched first and
    redirected: the finding follows what a real request gets."""
    app = Flask(__name__)
    app.add_url_rule("/items/", "create", lambda: "", methods=["POST"])
    app.add_url_rule("/items", "create_bare", lambda: "", methods=["POST"])
    redirected = app.test_client().post("/items").status_code == 308
    findings = strict_slash_redirects(app)
    assert len(findings) == (1 if redirected else 0)


def _guard(func):
    @functools.wraps(func)
    def guarded(*args, **kwargs):
        return func(*args, **kwargs)

    return guarded


def test_decorator_above_route_in_a_module(tmp_path, monkeypatch) -> None:
    module = tmp_path / "above_app.py"
    module.write_text(
        "import functools\n"
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "def cache(f):\n"
        "    @functools.wraps(f)\n"
        "    def cached(*a, **k):\n"
        "        return f(*a, **k)\n"
        "    return cached\n"
        "@cache\n"
        "@app.route('/a')\n"
        "def a():\n"
        "    return 'a'\n"
        "@app.route('/b')\n"
        "@cache\n"
        "def b():\n"
        "    return 'b'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with tracer.record() as recorder:
        import above_app

        trace = recorder.trace()
    try:
        [finding] = decorators_above_route(above_app.app, trace)
        assert (finding.file, finding.line) == (str(module), 9)
        assert finding.problem[0].params["decorator"] == "cache"
        assert finding.problem[0].params["rules"] == ["'/a'"]
    finally:
        import sys

        sys.modules.pop("above_app", None)


def test_method_view_without_methods_is_fine_and_head_needs_no_handler() -> None:
    class Derived(MethodView):
        def get(self) -> str:
            return ""

        def put(self) -> str:
            return ""

    class Listed(MethodView):
        methods = ["GET", "HEAD"]

        def get(self) -> str:
            return ""

    with tracer.record() as recorder:
        app = Flask(__name__)
        app.add_url_rule("/d", view_func=Derived.as_view("derived"))
        app.add_url_rule("/l", view_func=Listed.as_view("listed"))
        trace = recorder.trace()
    assert method_view_methods(app, trace) == []


def test_wraps_and_explicit_endpoints_are_not_reported() -> None:
    def plain_wrapper(func):
        def wrapper():
            return func()

        return wrapper

    with tracer.record() as recorder:
        app = Flask(__name__)
        app.add_url_rule("/g", view_func=_guard(lambda: ""))  # noqa: B023
        app.add_url_rule("/e", "explicit", plain_wrapper(lambda: ""))
        app.add_url_rule("/w", view_func=plain_wrapper(lambda: ""))
        trace = recorder.trace()
    [finding] = wrappers_without_wraps(trace)
    assert finding.problem[0].params["rules"] == ["'/w'"]
    assert finding.problem[0].params["endpoint"] == "'wrapper'"
