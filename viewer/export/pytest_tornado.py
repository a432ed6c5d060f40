"""A runnable pytest file replaying the requests of a Tornado app's trace.

Tornado has no WSGI test client: each test is a method of a `tornado.testing.
AsyncHTTPTestCase`, which serves the app on the loopback and fetches the recorded request
with Tornado's own HTTP client (method, path, headers and the body byte for byte), then
asserts the status and, for a redirect, the `Location`. The app is loaded as flaskscope
loads it: a module or file, then `:name` or `:factory()`, else the one Application the
module holds, else its `make_app()`.

As in `pytest_export`, no recorded value is pasted into the code: every value is a
literal node, and the module is written by `ast.unparse`.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from tracer.model import Trace
from viewer.export.pytest_export import _filled, _literal, _summary, _unparse
from viewer.export.replay import (
    Exported,
    Replay,
    all_notes,
    check_redaction,
    replay_of,
    select_requests,
    slug,
    visible,
)

#: What every generated module starts with after its docstring; it holds no recorded value.
_CODE = '''\
from __future__ import annotations

import importlib
import os
import sys

import tornado.httputil
import tornado.testing
import tornado.web


def load_app() -> tornado.web.Application:
    """The app, found as flaskscope finds it."""
    target, _, name = APP.partition(":")
    path = os.path.realpath(target)
    if os.path.exists(path):
        path = os.path.splitext(path)[0]
        names = []
        while True:
            path, part = os.path.split(path)
            names.append(part)
            if not os.path.exists(os.path.join(path, "__init__.py")):
                break
        sys.path.insert(0, path)
        module = importlib.import_module(".".join(reversed(names)))
    else:
        module = importlib.import_module(target)
    if name.endswith("()"):
        return getattr(module, name[:-2].strip())()
    if name:
        return getattr(module, name)
    apps = {id(v): v for v in vars(module).values() if isinstance(v, tornado.web.Application)}
    if len(apps) == 1:
        return next(iter(apps.values()))
    return module.make_app()
'''
_CLASS = """\
class TestReplay(tornado.testing.AsyncHTTPTestCase):
    def get_app(self) -> tornado.web.Application:
        return load_app()
"""
_TEST = """\
def test_(self) -> None:
    response = self.fetch(_URL, method=_METHOD, headers=tornado.httputil.HTTPHeaders(_HEADERS),
                          body=_BODY, follow_redirects=False, allow_nonstandard_methods=True,
                          raise_error=False)
    assert response.code == _STATUS
"""


def tornado_pytest_file(trace: Trace, app_ref: str, *, request_id: int | None = None,
                        redact: bool = True) -> Exported:
    """The text of a pytest module replaying a Tornado trace's requests (or one of them).

    Raises:
        ExportError: No such request, a method that is not one, or secrets asked for that
            the recording did not keep.
    """
    check_redaction(trace, redact)
    replays = [replay_of(request, redact=redact) for request in select_requests(trace, request_id)]
    notes = all_notes(replays)
    taken: set[str] = set()
    (test_class,) = ast.parse(_CLASS).body
    assert isinstance(test_class, ast.ClassDef)
    test_class.body += [_test(replay, taken) for replay in replays]
    app = _unparse(_filled("APP = _APP", _APP=ast.Constant(app_ref))[0])
    text = (f"{_docstring(trace, app_ref, notes)}\n\n{_CODE}\n\n{app}\n\n\n"
            f"{_unparse(test_class)}\n")
    return Exported(text, notes)


def _docstring(trace: Trace, app_ref: str, notes: Sequence[str]) -> str:
    created = trace.meta.get("created") or "an unknown date"
    lines = [
        f"Replays requests flaskscope recorded from {visible(app_ref)} (a Tornado app).",
        "",
        "Made by `flaskscope export --format pytest` from a trace recorded",
        f"{visible(str(created))}. Each test serves the app with Tornado's own test case, sends",
        "one recorded request again and checks that it ends with the same status.",
    ]
    if notes:
        lines += ["", "Read before relying on it:"]
        lines += [f"- {visible(note)}" for note in notes]
    docstring = ast.Expr(ast.Constant("\n".join(lines) + "\n"))
    return ast.unparse(ast.Module(body=[docstring], type_ignores=[]))


def _test(replay: Replay, taken: set[str]) -> ast.stmt:
    request = replay.request
    headers = [(n, v) for n, v in replay.headers if n.lower() != "connection"]
    body: bytes | None = replay.body
    if body is None and replay.form is not None:
        from urllib.parse import urlencode

        body = urlencode(list(replay.form)).encode()
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif body is None and replay.has_json:
        import json

        body = json.dumps(replay.json).encode()
        headers.append(("Content-Type", "application/json"))
    (function,) = _filled(_TEST, _URL=ast.Constant(replay.url_path),
                          _METHOD=ast.Constant(replay.method), _HEADERS=_literal(headers),
                          _BODY=ast.Constant(body), _STATUS=ast.Constant(request.status))
    assert isinstance(function, ast.FunctionDef)
    function.name = "test_" + slug([request.method, request.path], taken)
    function.body.insert(0, ast.Expr(ast.Constant(_summary(request).split(".\n")[0] + ".")))
    if request.redirect_to is not None:
        function.body += _filled("assert response.headers.get('Location') == _LOCATION",
                                 _LOCATION=ast.Constant(request.redirect_to))
    return function
