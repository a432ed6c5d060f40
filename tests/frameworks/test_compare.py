"""`flaskscope compare`: Flask, Werkzeug and Bottle side by side, from each trace's facts."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from flaskscope_testing import forget_fixtures, record_fixture

from flaskscope.cli import cli
from tracer.model import Trace
from tracer.tracefile import save
from viewer.compare import CONCEPTS, compare, to_json, to_text

pytest.importorskip("bottle")

APPS = ("seed_login", "werkzeug_login", "bottle_login")


@pytest.fixture(scope="module")
def login_traces() -> list[Trace]:
    return [record_fixture(name, "GET /login", "PUT /login").trace for name in APPS]


def _cells(traces: list[Trace], lang: str = "en", request: int = 0) -> dict[str, tuple]:
    comparison = compare(traces, lang=lang, request_ids=[request] * len(traces))
    assert [c.key for c in comparison.concepts] == list(CONCEPTS)
    assert comparison.labels == ("flask (seed_login.py)", "werkzeug (werkzeug_login.py)",
                                 "bottle (bottle_login.py)")
    return {c.key: c.cells for c in comparison.concepts}


def test_where_the_route_is_stored(login_traces) -> None:
    flask, werkzeug, bottle = _cells(login_traces)["stored"]
    assert "`Map.add` put rule '/login' (GET, HEAD, OPTIONS, POST)" in flask[0]
    assert flask[1].startswith("`view_functions['index'] = index`")
    assert "(GET, HEAD, POST) with endpoint 'index'" in werkzeug[0]
    assert werkzeug[1].startswith("nothing recorded a view table")
    assert bottle[:2] == (
        "`Router.add` stored rule '/login' (GET) in `router.static['GET']` (static), its "
        "target the `Route` object",
        "`Router.add` stored rule '/login' (POST) in `router.static['POST']` (static), its "
        "target the `Route` object")
    assert bottle[2:] == ("the route object went into `app.routes[0]`",
                          "the route object went into `app.routes[1]`")


def test_how_the_endpoint_is_chosen(login_traces) -> None:
    flask, werkzeug, bottle = _cells(login_traces)["endpoint"]
    assert flask == ("no endpoint given: `_endpoint_from_view_func` named it 'index' after "
                     "`index.__name__`",)
    assert werkzeug == ("given in the rule itself: endpoint 'index'",)
    assert bottle[0].startswith("no name given: the route has none")


def test_how_the_handler_is_found_and_wrapped(login_traces) -> None:
    cells = _cells(login_traces)
    flask, werkzeug, bottle = cells["found"]
    assert flask[:2] == ("`RequestContext.match_request` matched '/login' to rule '/login', "
                         "endpoint 'index'",
                         "`Flask.dispatch_request` called the endpoint's function `index`")
    assert werkzeug[0].startswith("`MapAdapter.match` matched '/login'")
    assert werkzeug[1] == "`MapAdapter.dispatch` called the endpoint's function `index`"
    assert bottle[0].startswith("`Router.match` matched '/login'")
    assert bottle[-1].startswith("the handler that ran: `index` (fixtures/bottle_login.py:")
    flask_wrap, werkzeug_wrap, bottle_wrap = cells["wrapped"]
    assert flask_wrap == werkzeug_wrap == ("no layers: the handler is called directly",)
    assert bottle_wrap == (
        "layers, outermost first: JSONPlugin.apply.<locals>.wrapper → "
        "view.<locals>.decorator.<locals>.wrapper → no_store.<locals>.wrapper → index",
        "applied by `Route._make_callback` on the route's first request, first plugin "
        "innermost: no_store (0), template (1), json (2)")


def test_a_405_on_each_framework(login_traces) -> None:
    cells = _cells(login_traces, request=1)
    allowed = [line[0].rsplit("allowed ", 1)[1] for line in cells["found"]]
    assert allowed == ["GET, HEAD, OPTIONS, POST", "GET, HEAD, POST", "GET, POST"]
    assert [line[0] for line in cells["answered"]] == ["405 method_not_allowed"] * 3
    assert "Allow: GET,POST" in cells["answered"][2][1]


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
        [*(record_fixture(n, "GET /login").trace for n in APPS[:2]), login_traces[2]]))
    text = CliRunner().invoke(cli, ["compare", "fixtures/seed_login.py"])
    assert text.exit_code == 2 and "two or more SOURCEs" in text.output
