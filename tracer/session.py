"""Record an app's registration and some requests in one go: what `trace` and every
command taking `APP [METHOD] PATH` do before reading the trace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import importlib.util
import os

from .api import default_scope, record, registering
from .errors import AppLoadError
from .frameworks.flask_app import RequestSpec, load_app, send
from .model import Trace


@dataclass(frozen=True)
class Recording:
    """A trace plus the reason the app could not be loaded, if it could not.

    An app that fails during registration (an endpoint collision, say) still leaves the
    steps that led to the failure in `trace.registration`.
    """

    trace: Trace
    app_error: str | None = None


def record_app(
    app_ref: str,
    requests: Sequence[RequestSpec],
    *,
    redact: bool = True,
    lines: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Recording:
    """Import `app_ref` under the recorder, send `requests`, and return the trace.

    With `lines`, every line run in Flask, Werkzeug and the app's directory (adjusted by
    the `include`/`exclude` globs) is recorded too, during import and inside each request.
    """
    scope = default_scope([app_root(app_ref)], include, exclude) if lines else None
    with record(redact=redact, lines=lines, scope=scope) as recorder:
        recorder.meta["app"] = app_ref
        try:
            with registering():
                app = load_app(app_ref)
        except AppLoadError as exc:
            return Recording(recorder.trace(app=app_ref), str(exc))
        for spec in requests:
            send(app, spec)
        return Recording(recorder.trace(app=app_ref))


def app_root(app_ref: str) -> str:
    """The directory holding the app's own code, for the line-tracing scope."""
    target = app_ref.split(":", 1)[0] if not os.path.exists(app_ref) else app_ref
    if target.endswith(".py") or os.path.isdir(target):
        path = os.path.abspath(target)
        return path if os.path.isdir(path) else os.path.dirname(path)
    try:
        spec = importlib.util.find_spec(target.split(".", 1)[0])
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    if spec is not None and spec.origin:
        return os.path.dirname(spec.origin)
    return os.getcwd()
