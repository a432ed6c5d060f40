"""Load a Flask app the way `flask --app` does and send it requests, under the recorder.

App discovery is Flask's own (`flask.cli.ScriptInfo`): every form `flask --app` takes
works here. Requests go through Flask's test client, so nothing listens on a port.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.cli import NoAppException, ScriptInfo
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client

from ..errors import AppLoadError

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


@dataclass(frozen=True)
class RequestSpec:
    """One request to send: what `-d`, `-H` and `--json` say on the command line."""

    method: str = "GET"
    path: str = "/"
    data: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    json: Any = None
    has_json: bool = field(default=False)


def load_app(app_ref: str) -> Flask:
    """Import the app named like `flask --app` names it (module, module:name, file, factory)."""
    info = ScriptInfo(app_import_path=app_ref, set_debug_flag=False)
    try:
        return info.load_app()
    except NoAppException as exc:
        raise AppLoadError(_one_line(str(exc))) from None
    except SyntaxError as exc:
        raise AppLoadError(
            f"could not import app {app_ref!r}: SyntaxError in {exc.filename} line {exc.lineno}: "
            f"{exc.msg}"
        ) from None
    except Exception as exc:
        raise AppLoadError(
            f"could not import app {app_ref!r}: {type(exc).__name__}: {_one_line(str(exc))}"
        ) from None


def send(app: Flask, spec: RequestSpec) -> int | None:
    """Send one request with the test client; the app's own failures are traced, not raised.

    Returns the status code, or None when the app raised instead of answering (for example
    with ``TESTING`` or ``PROPAGATE_EXCEPTIONS`` set); the trace holds the exception.
    """
    return open_request(app.test_client(use_cookies=False), spec)


def open_request(client: Client, spec: RequestSpec, **options: Any) -> int | None:
    """Send `spec` with a Werkzeug test client (Flask's is one); None if the app raised.

    The client keeps no cookie jar of its own, so a `-H 'Cookie: ...'` is sent as given.
    """
    options.update(method=spec.method, headers=list(spec.headers))
    if spec.has_json:
        options["json"] = spec.json
    elif spec.data:
        options["data"] = MultiDict(spec.data)
    try:
        response = client.open(spec.path, **options)
    except Exception:
        return None
    status = response.status_code
    response.close()
    return status


def _one_line(text: str) -> str:
    """Flask's discovery errors can span lines (an import traceback); keep what matters."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else text
    return f"{lines[0]} {lines[-1]}"
