"""A runnable pytest file that sends recorded requests again and checks how they ended.

Each test loads the app the way `flask --app` does, sends one recorded request through
the app's test client inside `with client:` (so Flask keeps that request's context after
the response) and asserts the status code and the endpoint of the rule that matched,
read from `flask.request.url_rule`: a request that matched no rule asserts that none did.
A request whose exception left the app asserts that it raises again.

A trace file may have been crafted, so no recorded value is ever pasted into the code:
the module is built as `ast` nodes, each value a literal node, and written by
`ast.unparse`; in docstrings, recorded text is shown escaped (`visible`) on one line.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Sequence
from typing import Any

from tracer.model import Request, Trace
from viewer.export.replay import (
    Exported,
    ExportError,
    Replay,
    all_notes,
    check_redaction,
    replay_of,
    select_requests,
    server_base,
    slug,
    visible,
)

#: What every generated module starts with after its docstring; it holds no recorded value.
_IMPORTS = """\
from __future__ import annotations

import pytest
from flask import Flask, request
from flask.cli import ScriptInfo
"""
_FIXTURE = '''\
@pytest.fixture
def app() -> Flask:
    """The app, found the way `flask --app` finds it."""
    return ScriptInfo(app_import_path=APP, set_debug_flag=False).load_app()
'''
_TEST = """\
def test_(app: Flask) -> None:
    with app.test_client() as client:
        pass
"""


def pytest_file(trace: Trace, app_ref: str, *, request_id: int | None = None,
                redact: bool = True) -> Exported:
    """The text of a pytest module replaying `trace`'s requests (or request `request_id`).

    Args:
        trace: The recording; it must come from a Flask app.
        app_ref: The app as `flask --app` takes it, written into the test as is.
        request_id: Replay only this request.
        redact: Send `***` for secret-looking headers and fields (the default).

    Raises:
        ExportError: Not a Flask trace, no such request, a method that is not one, or
            secrets asked for that the recording did not keep.
    """
    framework = trace.meta.get("framework", "flask")
    if framework == "tornado":  # no WSGI test client: Tornado's own test case replays it
        from viewer.export.pytest_tornado import tornado_pytest_file

        return tornado_pytest_file(trace, app_ref, request_id=request_id, redact=redact)
    if framework != "flask":
        raise ExportError(
            f"--format pytest replays requests through Flask's test client, but this trace "
            f"was recorded from a {framework!r} app; use --format curl against a running server"
        )
    check_redaction(trace, redact)
    replays = [replay_of(request, redact=redact) for request in select_requests(trace, request_id)]
    notes = all_notes(replays)
    base_url = server_base(trace.meta)
    taken: set[str] = set()
    head = f"{_module_docstring(trace, app_ref, notes)}\n\n{_IMPORTS}\n"
    blocks = [_unparse(_filled("APP = _APP", _APP=ast.Constant(app_ref))[0]) + "\n", _FIXTURE]
    blocks += [_unparse(_test(replay, taken, base_url)) + "\n" for replay in replays]
    return Exported(head + "\n\n".join(blocks), notes)


def _module_docstring(trace: Trace, app_ref: str, notes: Sequence[str]) -> str:
    created = trace.meta.get("created") or "an unknown date"
    lines = [
        f"Replays requests flaskscope recorded from {visible(app_ref)}.",
        "",
        "Made by `flaskscope export --format pytest` from a trace recorded",
        f"{visible(str(created))}. Each test sends one recorded request again through the "
        "app's test",
        "client and checks that the same endpoint answers it with the same status.",
    ]
    if notes:
        lines += ["", "Read before relying on it:"]
        lines += [f"- {visible(note)}" for note in notes]
    docstring = ast.Expr(ast.Constant("\n".join(lines) + "\n"))
    return ast.unparse(ast.Module(body=[docstring], type_ignores=[]))


def _test(replay: Replay, taken: set[str], base_url: str | None) -> ast.stmt:
    """The test function of one replay, its body and docstring made of value nodes."""
    request = replay.request
    (function,) = ast.parse(_TEST).body
    assert isinstance(function, ast.FunctionDef)
    function.name = "test_" + slug([request.method, request.path], taken)
    function.body.insert(0, ast.Expr(ast.Constant(_summary(request))))
    client = function.body[1]
    assert isinstance(client, ast.With)
    call = _open_call(replay, base_url)
    if request.status is None:
        kind = ast.Name(_raised(request))
        (raises,) = _filled("with pytest.raises(_KIND):\n    pass", _KIND=kind)
        assert isinstance(raises, ast.With)
        raises.body = [call]
        client.body = [raises]
        return function
    client.body = [call, *_filled("assert response.status_code == _STATUS",
                                  _STATUS=ast.Constant(request.status))]
    if request.endpoint is not None and request.rule is not None:
        client.body += _filled("assert request.url_rule is not None\n"
                               "assert request.url_rule.endpoint == _ENDPOINT",
                               _ENDPOINT=ast.Constant(request.endpoint))
    else:
        client.body += _filled("assert request.url_rule is None")
    return function


def _summary(request: Request) -> str:
    """The test's docstring: the request as recorded, then what the test checks."""
    status = "-" if request.status is None else str(request.status)
    summary = (f"Request #{visible(str(request.id))}: {visible(request.method)} "
               f"{visible(request.path)} → {visible(status)} {visible(str(request.outcome))}")
    if request.endpoint:
        summary += f", endpoint {request.endpoint!r}"
    if request.status is None:
        return summary + "."
    if request.endpoint is not None and request.rule is not None:
        return (summary + ".\n\n    The rule that matched is read from the request context "
                "the client kept.\n    ")
    return (summary + f".\n\n    No rule matched ({visible(str(request.outcome))}): the request "
            "context holds none.\n    ")


def _open_call(replay: Replay, base_url: str | None) -> ast.stmt:
    """`response = client.open(...)` with every argument a literal node."""
    (call,) = _filled("response = client.open(_URL, method=_METHOD)",
                      _URL=ast.Constant(replay.url_path), _METHOD=ast.Constant(replay.method))
    keywords: list[tuple[str, Any]] = []
    if replay.headers:
        keywords.append(("headers", list(replay.headers)))
    if replay.body is not None:
        keywords.append(("data", replay.body))
    elif replay.has_json:
        keywords.append(("json", replay.json))
    elif replay.form is not None:
        keywords.append(("data", dict(replay.form)))
    if base_url is not None:
        keywords.append(("base_url", base_url))
    assert isinstance(call, ast.Assign) and isinstance(call.value, ast.Call)
    call.value.keywords += [ast.keyword(arg=name, value=_literal(value))
                            for name, value in keywords]
    return call


def _literal(value: Any) -> ast.expr:
    """The node of a literal value (what `ast.literal_eval` reads back), containers too."""
    if isinstance(value, dict):
        return ast.Dict(keys=[_literal(k) for k in value], values=[_literal(v) for v in
                                                                   value.values()])
    if isinstance(value, list):
        return ast.List(elts=[_literal(v) for v in value], ctx=ast.Load())
    if isinstance(value, tuple):
        return ast.Tuple(elts=[_literal(v) for v in value], ctx=ast.Load())
    if isinstance(value, set | frozenset):
        return ast.Set(elts=[_literal(v) for v in value])
    return ast.Constant(value)


def _filled(template: str, **values: ast.expr) -> list[ast.stmt]:
    """The statements of a fixed `template`, each placeholder name replaced by its node."""

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return values.get(node.id, node)

    return Fill().visit(ast.parse(template)).body


def _unparse(statement: ast.stmt) -> str:
    return ast.unparse(ast.fix_missing_locations(statement))


def _raised(request: Request) -> str:
    """The built-in exception class the request raised, else `Exception`."""
    match = re.match(r"([A-Za-z_]\w*)\(", request.error or "")
    if match:
        kind = getattr(builtins, match.group(1), None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            return kind.__name__
    return "Exception"
