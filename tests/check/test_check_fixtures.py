"""`flaskscope check` on every fixture: each finding at the line of its cause, and none on
the clean apps."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from flaskscope.cli import cli
from tracer.frameworks.flask.checks.runner import check_app

REPO = Path(__file__).resolve().parents[2]


def _fixture(name: str) -> str:
    return str(REPO / "fixtures" / f"{name}.py")


def _forget() -> None:
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]


def _check(name: str):
    _forget()
    try:
        return check_app(_fixture(name))
    finally:
        _forget()


def _line_of(name: str, text: str, after: str | None = None) -> int:
    """The number of the first line of a fixture containing `text` (after line `after`)."""
    lines = (REPO / "fixtures" / f"{name}.py").read_text().splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if after in line) + 1
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def _run(*args: str) -> tuple[int, str, str]:
    _forget()
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("name", ["seed_routes", "seed_login", "seed_config", "real_app"])
def test_no_false_findings_on_clean_fixtures(name: str) -> None:
    result = _check(name)
    assert result.load_error is None
    assert result.findings == ()
    code, out, _ = _run(_fixture(name))
    assert code == 0 and "No problems found" in out


def test_seed_views_post_handler_left_out_of_methods() -> None:
    [finding] = _check("seed_views").findings
    assert finding.check == "method_view_excludes_handler"
    assert (Path(finding.file).name, finding.line) == (
        "seed_views.py", _line_of("seed_views", 'methods = ["GET"]', after="class IndexView"))


def test_seed_collision_is_a_finding_not_only_a_load_failure() -> None:
    result = _check("seed_collision")
    assert result.load_error and "overwriting an existing endpoint function: index" in \
        result.load_error
    [finding] = result.findings
    assert finding.check == "endpoint_collision"
    assert finding.line == _line_of("seed_collision", 'app.add_url_rule("/index"')
    assert finding.problem[0].params["existing"] == "index"
    assert finding.problem[0].params["new"] == "auth.<locals>.inner"
    assert finding.steps  # read from the recorded VIEW_COLLISION step
    code, out, err = _run(_fixture("seed_collision"))
    assert code == 1
    assert f"seed_collision.py:{finding.line}: endpoint_collision" in out
    assert "The app could not be imported" in out and err == ""


def test_decorator_above_route() -> None:
    [finding] = _check("check_decorator_order").findings
    assert finding.check == "decorator_above_route"
    assert finding.line == _line_of("check_decorator_order", "@login_required",
                                    after="return guarded")
    code, out, _ = _run(_fixture("check_decorator_order"))
    assert code == 1
    assert "`@login_required` is written above the route decorator on `admin`" in out
    assert "'/admin'" in out and "Move `@login_required` below `@app.route(...)`" in out
    assert "account" not in out.split("fix:")[0]  # the correctly ordered view is fine


def test_wrapper_without_wraps_and_the_collision_it_causes() -> None:
    result = _check("check_no_wraps")
    assert result.load_error
    kinds = {f.check: f for f in result.findings}
    assert set(kinds) == {"wrapper_without_wraps", "endpoint_collision"}
    wrapper = kinds["wrapper_without_wraps"]
    assert wrapper.line == _line_of("check_no_wraps", "def wrapper(")
    assert wrapper.problem[0].params["rules"] == ["'/report'", "'/export'"]
    assert kinds["endpoint_collision"].line == _line_of("check_no_wraps", '@app.route("/export")')
    code, out, _ = _run(_fixture("check_no_wraps"), "--lang", "zh")
    assert code == 1
    assert "`timed` 返回内部函数 `timed.<locals>.wrapper` 时没有用 `functools.wraps`" in out
    assert "修复：" in out


def test_method_view_methods_both_ways() -> None:
    findings = _check("check_methodview").findings
    by_kind = {f.check: f for f in findings}
    assert set(by_kind) == {"method_view_excludes_handler", "method_view_missing_handler"}
    excluded = by_kind["method_view_excludes_handler"]
    assert excluded.line == _line_of("check_methodview", 'methods = ["GET"]')
    assert excluded.problem[0].params["missing"] == ["DELETE"]
    missing = by_kind["method_view_missing_handler"]
    assert missing.line == _line_of("check_methodview", 'methods = ["GET", "POST"]')
    assert missing.problem[0].params["unhandled"] == ["POST"]
    assert all(f.problem[0].params["cls"] != "NoteView" for f in findings)


def test_shadowed_rule() -> None:
    [finding] = _check("check_shadowed").findings
    assert finding.check == "shadowed_rule"
    assert finding.line == _line_of("check_shadowed", '@app.route("/posts/<uuid:post_id>")')
    params = finding.problem[0].params
    assert params["rule"] == "'/posts/<uuid:post_id>'" and params["other"] == "'/posts/<slug>'"
    assert "added before it" in finding.problem[0].msgid


def test_strict_slash_redirect_on_post_only() -> None:
    [finding] = _check("check_strict_slash").findings
    assert finding.check == "strict_slash_redirect"
    assert finding.line == _line_of("check_strict_slash", '@app.route("/api/items/"')
    assert finding.problem[0].params["code"] == 308
    assert finding.problem[0].params["bare"] == "'/api/items'"


def test_json_format() -> None:
    code, out, _ = _run(_fixture("check_methodview"), "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["format"] == "flaskscope.check" and document["exit_code"] == 1
    checks = [f["check"] for f in document["findings"]]
    assert checks == ["method_view_excludes_handler", "method_view_missing_handler"]
    first = document["findings"][0]
    assert first["at"].endswith(f"check_methodview.py:{first['line']}")
    assert "DELETE" in first["problem"] and first["fix"].startswith("Add DELETE")
    assert first["steps"]


def test_app_that_cannot_load_exits_2() -> None:
    code, out, err = _run("fixtures/no_such_app.py")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("flaskscope: error:") and "could not import" in err


@pytest.mark.parametrize(("name", "kind"), [
    ("seed_werkzeug", "a Werkzeug app"), ("werkzeug_login", "a Werkzeug app"),
    ("seed_wsgiref", "a plain WSGI app"), ("bottle_login", "a Bottle app"),
])
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_non_flask_app_is_named_as_such_in_one_line(name: str, kind: str, fmt: str) -> None:
    if name.startswith("bottle"):
        pytest.importorskip("bottle")
    code, out, err = _run(_fixture(name), "--format", fmt)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("flaskscope: error: check works on Flask apps only")
    assert f"is {kind}" in err and "Failed to find Flask application" not in err


def test_check_app_reports_a_non_flask_app_as_a_load_error() -> None:
    result = _check("werkzeug_login")
    assert result.findings == ()
    assert result.load_error is not None and "Flask apps only" in result.load_error
