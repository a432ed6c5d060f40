"""explain tells the app's own code Flask reached without a hook (issue #15), where it ran.

fixtures/app_extras.py has a custom session interface, a URL converter, signal receivers, a
view class with its own `__init__` and a Flask subclass with its own `make_response` and
`handle_exception`. Each test finds the item by its message id in `--format json` and checks
that the item is about the recorded step, says whose function it was and what came of it,
and stands where the step ran; in English and Chinese, from hook and `--lines` recordings.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import textwrap
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask.signals
import pytest
from explain_helpers import fixture, forget_fixtures, recorded
from test_explain_lines import _not_run

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Step, Trace
from tracer.session import record_app
from viewer.explain.render import plain, to_json

PATHS = ("/items/ab-12", "/greet", "/items/bad", "/crash")
OWN_CODE = (Role.SIGNAL_RECEIVER, Role.SESSION, Role.CONVERTER, Role.VIEW_INIT,
            Role.APP_METHOD)


@functools.cache
def _lines_trace(path: str) -> Trace:
    forget_fixtures()
    try:
        return record_app(fixture("app_extras"), [RequestSpec("GET", path)],
                          lines=True).trace
    finally:
        forget_fixtures()


def _trace(path: str, lines: bool = False) -> Trace:
    if lines:
        return _lines_trace(path)
    trace, error = recorded("app_extras", "GET", path)
    assert error is None
    return trace


def _items(path: str, lang: str = "en", lines: bool = False,
           trace: Trace | None = None) -> list[dict[str, Any]]:
    trace = trace or _trace(path, lines)
    document = to_json(explain(trace), lang, trace.sources)
    return next(s["items"] for s in document["sections"] if s["kind"] == "request")


def _one(items: list[dict[str, Any]], msgid_start: str) -> dict[str, Any]:
    found = [item for item in items
             if any(m["msgid"].startswith(msgid_start) for m in item["messages"])]
    assert len(found) == 1, (msgid_start, [i["text"] for i in items])
    return found[0]


def _calls(trace: Trace, role: str, name: str | None = None) -> list[Step]:
    return [step for step in trace.requests[0].steps if step.role == role
            and step.kind == "call" and (name is None or step.name == name)]


def _at(items: list[dict[str, Any]], item: dict[str, Any]) -> int:
    return items.index(item)


both_modes = pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])


@pytest.fixture(scope="module", autouse=True)
def _receivers_let_go() -> Iterator[None]:
    """The fixture connects receivers to Flask's signals, held until its forgotten module is
    collected: disconnect them, so later tests find the signals as they were."""
    yield
    for signal in vars(flask.signals).values():
        if not hasattr(signal, "receivers"):  # not a signal, or Flask's stand-in without blinker
            continue
        for held in list(signal.receivers.values()):
            receiver = held() if isinstance(held, weakref.ref) else held
            if getattr(receiver, "__module__", None) == "fixtures.app_extras":
                signal.disconnect(receiver)


# -- each role, where it ran ------------------------------------------------------------------


@both_modes
@pytest.mark.parametrize(("lang", "told"), [
    ("en", "As the request context was pushed, Flask called "
           "`session_interface.open_session(self.app, self.request)`: the app's own session "
           "interface has `CountingSessionInterface.open_session` (fixtures/app_extras.py:43). "
           "It returned <SecureCookieSession {'visits': 1}>: the `session` of this request."),
    ("zh", "推入请求上下文时，Flask 调用了 `session_interface.open_session(self.app, "
           "self.request)`：应用自己的会话接口有 `CountingSessionInterface.open_session`"
           "（fixtures/app_extras.py:43）。它返回了 <SecureCookieSession {'visits': 1}>："
           "这就是本次请求的 `session`。"),
])
def test_open_session_is_told_as_the_request_context_is_pushed(lang: str, told: str,
                                                                lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    item = _one(items, "As the request context was pushed")
    [opened] = _calls(trace, Role.SESSION, "CountingSessionInterface.open_session")
    assert item["steps"] == [opened.id]
    assert item["text"] == told
    assert _at(items, _one(items, "The WSGI server called")) < _at(items, item) < _at(
        items, _one(items, "`match_request` asked werkzeug"))


@both_modes
@pytest.mark.parametrize(("lang", "told"), [
    ("en", "The session is not a null session, so `process_response` called "
           "`self.session_interface.save_session(self, ctx._session, response)`: the app's own "
           "session interface has `CountingSessionInterface.save_session` "
           "(fixtures/app_extras.py:49). It returned None."),
    ("zh", "会话不是空会话，所以 `process_response` 调用了 "
           "`self.session_interface.save_session(self, ctx._session, response)`：应用自己的会话"
           "接口有 `CountingSessionInterface.save_session`（fixtures/app_extras.py:49）。"
           "它返回了 None。"),
])
def test_save_session_is_told_as_the_response_is_finalised(lang: str, told: str,
                                                            lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    item = _one(items, "The session is not a null session")
    [saved] = _calls(trace, Role.SESSION, "CountingSessionInterface.save_session")
    assert item["steps"] == [saved.id]
    assert item["text"] == told
    after = _one(items, "`process_response` found no after-request functions.")
    teardown = _one(items, "`do_teardown_request` found no")
    assert _at(items, after) < _at(items, item) < _at(items, teardown)


@both_modes
@pytest.mark.parametrize(("lang", "told"), [
    ("en", "Matching the path, werkzeug called the app's URL converter: "
           "`SkuConverter.to_python(value='ab-12')` (fixtures/app_extras.py:57). "
           "It returned 'AB-12'."),
    ("zh", "匹配路径时，werkzeug 调用了应用的 URL 转换器：`SkuConverter.to_python(value='ab-12')`"
           "（fixtures/app_extras.py:57）。它返回了 'AB-12'。"),
])
def test_to_python_is_told_while_the_url_was_matched(lang: str, told: str, lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    item = _one(items, "Matching the path, werkzeug called the app's URL converter")
    [converted] = _calls(trace, Role.CONVERTER, "SkuConverter.to_python")
    assert item["steps"] == [converted.id]
    assert item["text"] == told
    match = _one(items, "`match_request` asked werkzeug")
    assert _at(items, item) == _at(items, match) + 1


def _to_url_calls(app: Any, path: str) -> int:
    """How often a plain request (nothing recording) calls the app's `to_url` of `sku`."""
    converter = app.url_map.converters["sku"]
    original, count = converter.to_url, [0]

    def counting(self: Any, value: Any) -> Any:
        count[0] += 1
        return original(self, value)

    converter.to_url = counting
    try:
        app.test_client().get(path)
    finally:
        converter.to_url = original
    return count[0]


@both_modes
def test_a_match_that_builds_the_path_back_says_why(lines: bool) -> None:
    """Werkzeug before 2.2 builds the matched path back to merge slashes: the converter's
    `to_url` runs inside the match, as many times as a plain request runs it."""
    forget_fixtures()
    try:
        from fixtures.app_extras import app
        expected = _to_url_calls(app, "/items/ab-12")
    finally:
        forget_fixtures()
    items = _items("/items/ab-12", "en", lines)
    told = [item for item in items
            if item["messages"][0]["msgid"].startswith("Matching the path, werkzeug built it "
                                                       "back from the converted values")]
    assert len(told) == expected
    for item in told:
        assert item["text"].endswith("`SkuConverter.to_url(value='AB-12')` "
                                     "(fixtures/app_extras.py:63). It returned 'ab-12'.")


def test_a_redirect_to_the_rule_with_defaults_says_why(tmp_path: Path) -> None:
    app_file = tmp_path / "defaults_app.py"
    app_file.write_text(textwrap.dedent("""
        from flask import Flask
        from werkzeug.routing import BaseConverter

        class Upper(BaseConverter):
            def to_python(self, value):
                return value.upper()

            def to_url(self, value):
                return value.lower()

        app = Flask(__name__)
        app.url_map.converters["up"] = Upper

        @app.route("/shop/<up:code>/", defaults={"page": 1})
        @app.route("/shop/<up:code>/page/<int:page>")
        def shop(code, page):
            return f"{code} {page}"
    """), encoding="utf-8")
    trace = record_app(str(app_file), [RequestSpec("GET", "/shop/ab/page/1")]).trace
    sys.modules.pop("defaults_app", None)
    assert trace.requests[0].status == 308
    items = _items("", "en", trace=trace)
    item = _one(items, "Matching the path, werkzeug built the URL of an earlier rule")
    assert "`Upper.to_url(value='AB')`" in item["text"]


@both_modes
def test_a_converter_that_refused_is_told_with_its_exception(lines: bool) -> None:
    items = _items("/items/bad", "en", lines)
    item = _one(items, "Matching the path, werkzeug called the app's URL converter")
    assert item["text"].endswith("`SkuConverter.to_python(value='bad')` "
                                 "(fixtures/app_extras.py:57). It raised ValidationError().")


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "Building the URL, werkzeug called the app's URL converter: "
           "`SkuConverter.to_url(value='XY-7')` (fixtures/app_extras.py:63). It returned 'xy-7'."),
    ("zh", "生成 URL 时，werkzeug 调用了应用的 URL 转换器：`SkuConverter.to_url(value='XY-7')`"
           "（fixtures/app_extras.py:63）。它返回了 'xy-7'。"),
])
def test_to_url_is_told_under_url_for(lang: str, told: str) -> None:
    trace = _trace("/greet")
    items = _items("/greet", lang)
    item = _one(items, "Building the URL, werkzeug called the app's URL converter")
    [converted] = _calls(trace, Role.CONVERTER)
    assert item["steps"] == [converted.id] and item["text"] == told
    built = _one(items, "`{caller}` called `url_for({endpoint})`")
    assert _at(items, item) == _at(items, built) + 1


def _signal(items: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The item of the signal `name` (the count of its receivers is the recorded one)."""
    [found] = [item for item in items if item["messages"][0]["msgid"].startswith(
        "`{caller}` sent the signal `{signal}`")
        and item["messages"][0]["params"]["signal"] == name]
    return found


def _receivers(item: dict[str, Any]) -> int:
    """How many receivers the signal had connected (for any sender: a receiver of the
    fixture imported earlier in this process may still be there)."""
    count = item["messages"][0]["params"]["receivers"]
    assert count >= 1
    return int(count)


@both_modes
@pytest.mark.parametrize(("lang", "sent", "received"), [
    ("en", "`Flask.full_dispatch_request` sent the signal `request_started` ({count} "
           "receiver(s) connected to it).",
     "`log_started` (fixtures/app_extras.py:73), a receiver connected to the signal "
     "`request_started`, received it. It returned None."),
    ("zh", "`Flask.full_dispatch_request` 发送了信号 `request_started`（连接到它的接收者有 "
           "{count} 个）。",
     "连接到信号 `request_started` 的接收者 `log_started`（fixtures/app_extras.py:73）收到了它。"
     "它返回了 None。"),
])
def test_a_receiver_is_told_under_the_signal_its_sender_sent(lang: str, sent: str,
                                                             received: str,
                                                             lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    signal = _signal(items, "request_started")
    receiver = _one(items, "`{function}` ({at}), a receiver connected to the signal")
    [send] = _calls(trace, Role.SIGNAL)
    [function] = _calls(trace, Role.SIGNAL_RECEIVER)
    assert signal["steps"] == [send.id] and receiver["steps"] == [function.id]
    assert signal["text"] == sent.format(count=_receivers(signal))
    assert receiver["text"] == received
    assert _at(items, receiver) == _at(items, signal) + 1
    assert _at(items, receiver) < _at(items, _one(items, "`preprocess_request` found no"))


def _receiver_of(items: list[dict[str, Any]], signal: str) -> dict[str, Any]:
    [found] = [item for item in items if item["messages"][0]["msgid"].startswith(
        "`{function}` ({at}), a receiver connected to the signal")
        and item["messages"][0]["params"]["signal"] == signal]
    return found


def test_a_receiver_of_a_signal_sent_while_rendering_is_told_there() -> None:
    items = _items("/greet")
    rendered = _one(items, "`{caller}` rendered the template `{template}`")
    signal = _signal(items, "template_rendered")
    receiver = _receiver_of(items, "template_rendered")
    assert signal["text"] == (f"`_render` sent the signal `template_rendered` "
                              f"({_receivers(signal)} receiver(s) connected to it).")
    assert "`log_rendered` (fixtures/app_extras.py:77)" in receiver["text"]
    assert _at(items, rendered) < _at(items, signal) < _at(items, receiver)


@both_modes
def test_a_receiver_inside_the_error_handling_is_told(lines: bool) -> None:
    """`got_request_exception` is sent inside `handle_exception`, a phase told in one item."""
    items = _items("/crash", "en", lines)
    handled = _one(items, "`handle_exception` got the unhandled")
    signal = _signal(items, "got_request_exception")
    receiver = _receiver_of(items, "got_request_exception")
    assert signal["text"].startswith("`Flask.handle_exception` sent the signal "
                                     "`got_request_exception` (")
    assert "`log_failure` (fixtures/app_extras.py:81)" in receiver["text"]
    assert _at(items, handled) < _at(items, signal) < _at(items, receiver)


@both_modes
@pytest.mark.parametrize(("lang", "told"), [
    ("en", "Making the instance, `view.view_class(*class_args, **class_kwargs)` ran the view "
           "class's own `__init__`: `ItemView.__init__(greeting='Item')` "
           "(fixtures/app_extras.py:93). It returned None."),
    ("zh", "创建实例时，`view.view_class(*class_args, **class_kwargs)` 执行了视图类自己的 "
           "`__init__`：`ItemView.__init__(greeting='Item')`（fixtures/app_extras.py:93）。"
           "它返回了 None。"),
])
def test_the_view_classes_own_init_is_told_inside_the_generated_view(lang: str, told: str,
                                                                    lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    item = _one(items, "Making the instance")
    [init] = _calls(trace, Role.VIEW_INIT)
    assert item["steps"] == [init.id] and item["text"] == told
    view = _one(items, "`view`, the function `as_view` made")
    lookup = _one(items, "`{dispatch}` looked up the handler")
    assert _at(items, view) < _at(items, item) < _at(items, lookup)


@both_modes
@pytest.mark.parametrize(("lang", "told"), [
    ("en", "While `Flask.finalize_request` ran, `ShopApp.make_response` "
           "(fixtures/app_extras.py:30) ran: a method the app's class (or the app object "
           "itself) defines, not Flask. It returned <Response 10 bytes [200 OK]>."),
    ("zh", "`Flask.finalize_request` 运行期间，`ShopApp.make_response`（fixtures/app_extras.py:30）"
           "执行了：这是应用的类（或应用对象本身）定义的方法，不是 Flask 的。它返回了 "
           "<Response 10 bytes [200 OK]>。"),
])
def test_an_app_class_method_is_told_where_flasks_would_run(lang: str, told: str,
                                                           lines: bool) -> None:
    trace = _trace("/items/ab-12", lines)
    items = _items("/items/ab-12", lang, lines)
    item = _one(items, "While `{caller}` ran, `{function}` ({at}) ran: a method the app's")
    [method] = _calls(trace, Role.APP_METHOD)
    assert item["steps"] == [method.id] and item["text"] == told
    made = _one(items, "`make_response` turned the returned")
    assert _at(items, item) + 1 == _at(items, made)  # Flask's, called through `super()`


@both_modes
def test_an_app_class_error_handler_is_told_before_flasks(lines: bool) -> None:
    trace = _trace("/crash", lines)
    items = _items("/crash", "en", lines)
    [method] = _calls(trace, Role.APP_METHOD, "ShopApp.handle_exception")
    item = next(i for i in items if i["steps"] == [method.id])
    assert item["text"].startswith("While `Flask.wsgi_app` ran, `ShopApp.handle_exception` "
                                   "(fixtures/app_extras.py:35) ran")
    assert item["text"].endswith("It returned <Response streamed [500 INTERNAL SERVER ERROR]>.")
    assert _at(items, item) + 1 == _at(items, _one(items, "`handle_exception` got the unhandled"))


# -- every step, the sources, the JSON --------------------------------------------------------


@both_modes
@pytest.mark.parametrize("path", PATHS)
def test_every_call_of_the_apps_own_code_is_in_an_item(path: str, lines: bool) -> None:
    trace = _trace(path, lines)
    told = {step for item in _items(path, "en", lines) for step in item["steps"]}
    called = [step for role in OWN_CODE for step in _calls(trace, role)]
    assert called
    assert [s.name for s in called if s.id not in told] == []


@pytest.mark.parametrize("path", PATHS)
def test_every_quoted_line_ran(path: str) -> None:
    trace = _lines_trace(path)
    wrong, checked = _not_run(trace, explain(trace))
    assert checked > 10
    assert wrong == []


@both_modes
def test_source_quotes_the_calls_flask_made(lines: bool) -> None:
    items = _items("/items/ab-12", "en", lines)

    def quoted(msgid_start: str) -> list[str]:
        return [f"{s['at']}  {s['code']}" for s in _one(items, msgid_start)["sources"]]

    opened = quoted("As the request context was pushed")
    assert any(q.startswith("fixtures/app_extras.py:43  def open_session(") for q in opened)
    assert any(q.endswith("ctx.push()" if not lines else  # `_session` from Flask 3.0
                          "session = session_interface.open_session(self.app, "
                          "self.request)") for q in opened)
    assert not any("make_null_session" in q or "app_ctx.push()" in q for q in opened)
    saved = quoted("The session is not a null session")
    assert any("self.session_interface.save_session(self, ctx." in q  # `ctx._session` in 3.x
               for q in saved)
    signal = [f"{s['at']}  {s['code']}" for s in _signal(items, "request_started")["sources"]]
    assert any("request_started.send(self" in q for q in signal)
    assert any("self = view.view_class(" in q for q in quoted("Making the instance"))


def test_json_carries_the_facts_of_each_item() -> None:
    item = _one(_items("/items/ab-12"), "Making the instance")
    first, outcome = item["messages"]
    assert first["params"]["call"] == "ItemView.__init__(greeting='Item')"
    assert first["params"]["at"] == "fixtures/app_extras.py:93"
    assert outcome == {"msgid": "It returned {result}.", "params": {"result": "None"}}


# -- facts the recording may hold -------------------------------------------------------------


def _with_result(trace: Trace, name: str, result: str) -> Trace:
    """The trace with the return of the call `name` changed to `result`."""
    [call] = _calls(trace, Role.SESSION, name)
    steps = tuple(dataclasses.replace(step, detail={"result": result})
                  if step.parent == call.id and step.kind == "return" else step
                  for step in trace.requests[0].steps)
    request = dataclasses.replace(trace.requests[0], steps=steps)
    return dataclasses.replace(trace, requests=(request,))


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "It returned None, so Flask made a null session with `make_null_session` instead."),
    ("zh", "它返回了 None，所以 Flask 改用 `make_null_session` 创建了一个空会话（null session）。"),
])
def test_an_open_session_that_returned_none_makes_a_null_session(lang: str, told: str) -> None:
    trace = _with_result(_trace("/items/ab-12"), "CountingSessionInterface.open_session",
                         "None")
    item = _one(_items("", lang, trace=trace), "As the request context was pushed")
    assert item["text"].endswith(told)
    assert "the `session` of this request" not in item["text"]


def test_finding_why_a_path_missed_runs_no_converter_again() -> None:
    """The rules closest to a path that matched nothing are tried alone with stand-ins for
    the app's converters: `SkuConverter.to_python` ran once, in werkzeug's match, and only
    that call is told."""
    trace = _trace("/items/bad")
    match = _calls(trace, Role.MATCH)[0]
    calls = _calls(trace, Role.CONVERTER)
    assert [call.name for call in calls] == ["SkuConverter.to_python"]
    assert calls[0].parent != match.id  # under `MapAdapter.match`, not beside it
    items = _items("/items/bad")
    assert "again" not in _one(items, "Matching the path, werkzeug called")["text"]
    assert "'bad' matches the pattern `[^/]+` of the app's own `sku` converter, so it was the " \
           "converter's own `to_python` that refused it for `code` when werkzeug matched the " \
           "path" in plain(explain(trace), "en")


def test_a_call_without_its_end_says_so() -> None:
    """A call whose end the recording lacks (steps dropped at the cap) is not given one."""
    trace = _trace("/items/ab-12")
    [init] = _calls(trace, Role.VIEW_INIT)
    steps = tuple(dataclasses.replace(step, kind="line", detail={})
                  if step.parent == init.id and step.kind == "return" else step
                  for step in trace.requests[0].steps)
    cut = dataclasses.replace(trace, requests=(
        dataclasses.replace(trace.requests[0], steps=steps),))
    item = _one(_items("", trace=cut), "Making the instance")
    assert item["text"].endswith("(fixtures/app_extras.py:93). The trace does not say how it "
                                 "ended.")
    assert "returned" not in item["text"]
