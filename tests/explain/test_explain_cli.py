"""`flaskscope explain`: sources, languages, formats, request selection and errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner
from explain_helpers import fixture, item_with, recorded
from rich.console import Console

from flaskscope.cli import cli
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role
from tracer.tracefile import load, save
from viewer.explain.render import plain, rich


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["explain", *args])
    return result.exit_code, result.stdout, result.stderr


def test_source_quotes_flask_lines_beneath_each_step() -> None:
    code, out, _ = _run(fixture("seed_views"), "HEAD", "/index", "--source")
    assert code == 0
    lines = out.splitlines()
    lookup = next(i for i, line in enumerate(lines) if "`getattr(self, 'head', None)`" in line)
    quoted = []
    for line in lines[lookup + 1:]:
        if not line.lstrip().startswith("|"):
            break
        quoted.append(line)
    assert any("flask/views.py:" in q and "def dispatch_request(self" in q for q in quoted)
    assert any("meth = getattr(self, request.method.lower(), None)" in q for q in quoted)
    assert any('meth = getattr(self, "get", None)' in q for q in quoted)
    inferred = next(i for i, line in enumerate(lines)
                    if "_endpoint_from_view_func(view_func)`" in line)
    told = []
    for line in lines[inferred + 1:]:
        if not line.lstrip().startswith("|"):
            break
        told.append(line)
    assert "if endpoint is None:" in told[0]
    assert "endpoint = _endpoint_from_view_func(view_func)" in told[1]
    assert 'options["endpoint"] = endpoint' in told[2]
    assert "def _endpoint_from_view_func(" in told[3]
    assert "return view_func.__name__" in told[-1]
    layer = next(i for i, line in enumerate(lines)
                 if "Decorator layer `auth.<locals>.inner`" in line)
    assert "fixtures/seed_views.py:33" in lines[layer + 1]
    assert "return func(*args, **kwargs)" in lines[layer + 3]  # the line it returned from


def test_no_source_lines_without_the_flag() -> None:
    code, out, _ = _run(fixture("seed_views"), "GET", "/index")
    assert code == 0 and "|" not in out


def test_chinese_from_the_command_line() -> None:
    code, out, _ = _run(fixture("seed_views"), "GET", "/index", "--lang", "zh")
    assert code == 0
    assert "请求 0：GET /index → 200" in out
    assert "`getattr(self, 'get')` 找到了 `IndexView.get`" in out


def test_json_items_carry_steps_message_ids_and_sentences() -> None:
    code, out, _ = _run(fixture("seed_views"), "HEAD", "/index", "--format", "json",
                        "--lang", "zh")
    assert code == 0
    document = json.loads(out)
    assert document["format"] == "flaskscope.explain" and document["lang"] == "zh"
    registration, request = document["sections"]
    assert registration["kind"] == "registration" and request["kind"] == "request"
    trace, _ = recorded("seed_views", "HEAD", "/index")
    steps = trace.requests[0].steps
    lookup = next(item for item in request["items"]
                  if "getattr(self, 'head', None)" in item["text"])
    roles = {steps[i].role for i in lookup["steps"]}
    assert Role.HANDLER_LOOKUP in roles and Role.CLASS_DISPATCH in roles
    assert lookup["messages"][0]["params"]["handler"] == "IndexView.get"
    assert lookup["messages"][0]["msgid"].startswith("`{dispatch}` looked up")
    assert "因为请求方法是 HEAD" in lookup["text"]
    assert any("meth = getattr" in s["code"] for s in lookup["sources"])


def test_trace_file_source_and_request_selection(tmp_path: Path) -> None:
    path = tmp_path / "views.json"
    trace, _ = recorded("seed_views", "GET", "/index")
    save(trace, path)
    code, out, _ = _run(str(path), "--request", "0")
    assert code == 0 and "Request 0: GET /index → 200" in out
    code, out, err = _run(str(path), "--request", "5")
    assert code == 2 and "no request 5" in err and "--request N" in err
    code, out, _ = _run(str(path), "--registration")
    assert code == 0 and "Request 0" not in out
    assert "Registration of" in out and "'/static/<path:filename>'" in out
    code, _, err = _run(str(path), "--registration", "--request", "0")
    assert code == 2 and "not both" in err
    assert load(path).requests[0].path == "/index"


def test_collision_is_narrated_then_exits_2() -> None:
    code, out, err = _run(fixture("seed_collision"), "GET", "/index")
    assert code == 2
    assert "already held `index`" in out
    assert "overwriting an existing endpoint function: index" in err


def test_bad_app_is_one_line_exit_2() -> None:
    code, out, err = _run("fixtures/does_not_exist.py", "GET", "/")
    assert code == 2 and err.startswith("flaskscope: error:") and "Traceback" not in err


def test_plain_when_piped_and_rich_in_a_terminal() -> None:
    code, out, _ = _run(fixture("seed_routes"), "GET", "/about")
    assert "\x1b[" not in out and "`about`" in out
    trace, _ = recorded("seed_routes", "GET", "/about")
    console = Console(force_terminal=True, color_system="truecolor", width=200, record=True)
    console.print(rich(explain(trace), "en", sources=trace.sources))
    styled = console.export_text(styles=True, clear=False)
    assert "\x1b[" in styled
    shown = console.export_text()
    assert "`" not in shown  # code spans are shown highlighted, not between backticks
    assert "_endpoint_from_view_func(about)" in shown


def test_sentences_follow_the_facts_not_the_fixture() -> None:
    trace, _ = recorded("seed_routes", "GET", "/about")
    steps = tuple(
        dataclasses.replace(s, facts={**s.facts, "endpoint": "renamed"})
        if s.role == Role.ENDPOINT_INFERRED else s
        for s in trace.registration.steps
    )
    changed = dataclasses.replace(
        trace, registration=dataclasses.replace(trace.registration, steps=steps))
    text = plain(explain(changed, registration_only=True), "en")
    assert item_with(text, "_endpoint_from_view_func(about)").endswith(
        "the endpoint is 'renamed'.")
