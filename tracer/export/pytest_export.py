"""A runnable pytest file that sends recorded requests again and checks how they ended.

Each test loads the app the way `flask --app` does, sends one recorded request through
the app's test client inside `with client:` (so Flask keeps that request's context after
the response) and asserts the status code and the endpoint of the rule that matched,
read from `flask.request.url_rule`: a request that matched no rule asserts that none did.
A request whose exception left the app asserts that it raises again.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Sequence

from ..model import Request, Trace
from .replay import (
    Exported,
    ExportError,
    Replay,
    all_notes,
    check_redaction,
    replay_of,
    select_requests,
    slug,
)

_INDENT = " " * 8


def pytest_file(trace: Trace, app_ref: str, *, request_id: int | None = None,
                redact: bool = True) -> Exported:
    """The text of a pytest module replaying `trace`'s requests (or request `request_id`).

    Args:
        trace: The recording; it must come from a Flask app.
        app_ref: The app as `flask --app` takes it, written into the test as is.
        request_id: Replay only this request.
        redact: Send `***` for secret-looking headers and fields (the default).

    Raises:
        ExportError: Not a Flask trace, no such request, or secrets asked for that the
            recording did not keep.
    """
    framework = trace.meta.get("framework", "flask")
    if framework != "flask":
        raise ExportError(
            f"--format pytest replays requests through Flask's test client, but this trace "
            f"was recorded from a {framework} app; use --format curl against a running server"
        )
    check_redaction(trace, redact)
    replays = [replay_of(request, redact=redact) for request in select_requests(trace, request_id)]
    notes = all_notes(replays)
    taken: set[str] = set()
    tests = [_test(replay, taken) for replay in replays]
    return Exported(_module(trace, app_ref, notes) + "\n\n".join(tests), notes)


def _module(trace: Trace, app_ref: str, notes: Sequence[str]) -> str:
    created = trace.meta.get("created") or "an unknown date"
    lines = [
        f'"""Replays requests flaskscope recorded from {_docstring_safe(app_ref)}.',
        "",
        "Made by `flaskscope export --format pytest` from a trace recorded",
        f"{created}. Each test sends one recorded request again through the app's test",
        "client and checks that the same endpoint answers it with the same status.",
    ]
    if notes:
        lines += ["", "Read before relying on it:"]
        lines += [f"- {_docstring_safe(note)}" for note in notes]
    lines += [
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import pytest",
        "from flask import Flask, request",
        "from flask.cli import ScriptInfo",
        "",
        f"APP = {app_ref!r}",
        "",
        "",
        "@pytest.fixture",
        "def app() -> Flask:",
        '    """The app, found the way `flask --app` finds it."""',
        "    return ScriptInfo(app_import_path=APP, set_debug_flag=False).load_app()",
        "",
        "",
    ]
    return "\n".join(lines) + "\n"


def _test(replay: Replay, taken: set[str]) -> str:
    request = replay.request
    name = "test_" + slug([request.method, request.path], taken)
    status = "-" if request.status is None else str(request.status)
    summary = f"Request #{request.id}: {request.method} {request.path} → {status} {request.outcome}"
    if request.endpoint:
        summary += f", endpoint {request.endpoint!r}"
    lines = [
        f"def {name}(app: Flask) -> None:",
        f'    """{_docstring_safe(summary)}."""',
        "    with app.test_client() as client:",
    ]
    call = _open_call(replay)
    if request.status is None:
        lines.append(f"        with pytest.raises({_raised(request)}):")
        lines += ["    " + line for line in call]
        return "\n".join(lines) + "\n"
    lines += call
    lines.append(f"{_INDENT}assert response.status_code == {request.status}")
    if request.endpoint is not None and request.rule is not None:
        lines += [
            f"{_INDENT}# The rule that matched, read from the request context the client kept.",
            f"{_INDENT}assert request.url_rule is not None",
            f"{_INDENT}assert request.url_rule.endpoint == {request.endpoint!r}",
        ]
    else:
        lines += [
            f"{_INDENT}# No rule matched ({request.outcome}): the request context holds none.",
            f"{_INDENT}assert request.url_rule is None",
        ]
    return "\n".join(lines) + "\n"


def _open_call(replay: Replay) -> list[str]:
    arguments = [f"{replay.url_path!r}", f"method={replay.method!r}"]
    if replay.headers:
        arguments.append(f"headers={list(replay.headers)!r}")
    if replay.has_json:
        arguments.append(f"json={replay.json!r}")
    elif replay.form is not None:
        arguments.append(f"data={dict(replay.form)!r}")
    if replay.host and replay.host != "localhost":
        arguments.append(f"base_url={'http://' + replay.host!r}")
    lines = [f"{_INDENT}response = client.open("]
    lines += [f"{_INDENT}    {argument}," for argument in arguments]
    lines.append(f"{_INDENT})")
    return lines


def _raised(request: Request) -> str:
    """The built-in exception class the request raised, else `Exception`."""
    match = re.match(r"([A-Za-z_]\w*)\(", request.error or "")
    if match:
        kind = getattr(builtins, match.group(1), None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            return kind.__name__
    return "Exception"


def _docstring_safe(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
