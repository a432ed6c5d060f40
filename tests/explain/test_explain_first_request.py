"""`before_first_request` functions (Flask 2.0 to 2.2) are told where they ran, once.

Flask 2.0 and 2.1 run them in `try_trigger_before_first_request_functions`, 2.2 inline in
`full_dispatch_request`; 2.3 removed them. What the narrative says is checked against what
the app itself saw: the fixture counts each run.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tracer.frameworks.flask import anatomy
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Trace
from tracer.session import record_app
from viewer.explain.render import to_json

pytestmark = [
    pytest.mark.skipif(not anatomy.FIRST_REQUEST_FUNCTIONS,
                       reason="this Flask has no before_first_request functions"),
    # Flask 2.2 warns that 2.3 removes them.
    pytest.mark.filterwarnings("ignore:.*before_first_request.*:DeprecationWarning"),
]

APP = """
    from flask import Flask

    app = Flask(__name__)
    RUNS = []

    @app.before_first_request
    def warm_up():
        RUNS.append("warm_up")
        if len(RUNS) == 1 and FAIL_FIRST:
            raise RuntimeError("cold")

    @app.before_first_request
    def load_cache():
        RUNS.append("load_cache")

    @app.route("/")
    def index():
        return "ok"
"""


def _record(tmp_path: Path, fail_first: bool, requests: int = 2,
            lines: bool = False) -> tuple[Trace, list[str]]:
    name = f"first_request_{'fail' if fail_first else 'ok'}_{'lines' if lines else 'hooks'}"
    app_file = tmp_path / f"{name}.py"
    app_file.write_text(f"FAIL_FIRST = {fail_first}\n" + textwrap.dedent(APP), encoding="utf-8")
    try:
        recording = record_app(str(app_file), [RequestSpec("GET", "/")] * requests,
                               lines=lines)
        assert recording.app_error is None, recording.app_error
        trace = recording.trace
        runs = list(sys.modules[name].RUNS)
    finally:
        sys.modules.pop(name, None)
    return trace, runs


def _request_items(trace: Trace, lang: str = "en") -> list[list[dict[str, Any]]]:
    document = to_json(explain(trace), lang, trace.sources)
    return [s["items"] for s in document["sections"] if s["kind"] == "request"]


def _with(items: list[dict[str, Any]], start: str) -> list[dict[str, Any]]:
    return [i for i in items if i["messages"][0]["msgid"].startswith(start)]


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_they_are_told_on_the_first_request_and_skipped_after(tmp_path: Path,
                                                               lines: bool) -> None:
    trace, runs = _record(tmp_path, fail_first=False, lines=lines)
    assert runs == ["warm_up", "load_cache"]  # the app saw them run once
    first, second = _request_items(trace)
    [ran] = _with(first, "This was the app's first request")
    assert "`warm_up`, `load_cache`" in ran["text"]
    calls = [s for s in trace.requests[0].steps
             if s.role == Role.BEFORE_FIRST_REQUEST_FUNCTION and s.kind == "call"]
    assert [c.name for c in calls] == ["warm_up", "load_cache"]
    assert {c.id for c in calls} <= set(ran["steps"])
    codes = [source["code"] for source in ran["sources"]]
    assert "for func in self.before_first_request_funcs:" in codes
    assert "def warm_up():" in codes and "def load_cache():" in codes
    assert not _with(first, "The app's `before_first_request` functions")
    [skipped] = _with(second, "The app's `before_first_request` functions")
    assert "`warm_up`, `load_cache`" in skipped["text"]
    assert not _with(second, "This was the app's first request")
    before = _with(second, "`preprocess_request`")[0]
    assert second.index(skipped) < second.index(before)


def test_a_failing_one_is_told_and_runs_again(tmp_path: Path) -> None:
    trace, runs = _record(tmp_path, fail_first=True)
    assert runs == ["warm_up", "warm_up", "load_cache"]  # the second request ran them again
    first, second = _request_items(trace)
    [failed] = _with(first, "This was the app's first request")
    assert "`warm_up` raised RuntimeError('cold')" in failed["text"]
    assert "the next request runs them again" in failed["text"]
    [ran] = _with(second, "This was the app's first request")
    assert "then set `_got_first_request = True`" in ran["text"]


def test_told_in_chinese(tmp_path: Path) -> None:
    trace, _ = _record(tmp_path, fail_first=False)
    first, second = _request_items(trace, "zh")
    assert any("这是应用收到的第一个请求" in item["text"] for item in first)
    assert any("没有运行：更早的某个请求才是应用的第一个请求" in item["text"] for item in second)
