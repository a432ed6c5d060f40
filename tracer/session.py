"""Record an app's registration and some requests in one go: what `trace` and every
command taking `APP [METHOD] PATH` do before reading the trace.

The recorder, Flask and Werkzeug are imported inside `record_app`, so importing this
module (for `Recording` or `WSGI_META`) stays cheap for commands that only read traces.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tracer.collector import collector_paused
from tracer.errors import AppLoadError
from tracer.model import Trace
from tracer.paths import module_dir

if TYPE_CHECKING:
    from tracer.frameworks.flask.loading import RequestSpec

#: Where the command line's `--wsgi` flag is kept (`click.Context.meta`, see `flaskscope.source`).
WSGI_META = "flaskscope.wsgi"


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
    wsgi: bool | None = None,
    lazy_steps: bool = False,
) -> Recording:
    """Import `app_ref` under the recorder, send `requests`, and return the trace.

    APP may be a Flask app, a Bottle app, or any WSGI callable (`tracer.frameworks.loading`
    says how it is found); `wsgi` loads it as a plain WSGI callable, skipping Flask and
    Bottle discovery (None: as the command line's `--wsgi` says). With `lines`, every line
    run in Flask, Werkzeug and the app's directory (adjusted by the `include`/`exclude`
    globs) is recorded too, during import and inside each request. A Flask app's trace
    names the app discovery returned (`meta["app_name"]`) and lists its routes first
    (`tracer.frameworks.flask.loading.label_apps`). With `lazy_steps` each phase's steps
    are a `StepTable`, a `Step` built only when one is read: for a caller that prints and
    writes them whole (`trace`), from their columns.
    """
    from tracer.api import default_scope, record, registering
    from tracer.frameworks.flask.loading import label_apps
    from tracer.frameworks.loading import load, send

    plain = _wsgi_requested() if wsgi is None else wsgi
    scope = default_scope([app_root(app_ref)], include, exclude) if lines else None
    with record(redact=redact, lines=lines, scope=scope) as recorder:
        recorder.meta["app"] = app_ref
        try:
            with registering():
                loaded = load(app_ref, plain=plain)
        except AppLoadError as exc:
            with collector_paused():
                trace = recorder.trace(app=app_ref, lazy_steps=lazy_steps)
            return Recording(trace, str(exc))
        recorder.meta["framework"] = loaded.framework
        for spec in requests:
            send(loaded, spec)
        with collector_paused():
            trace = recorder.trace(app=app_ref, lazy_steps=lazy_steps)
            if loaded.framework == "flask":
                trace = label_apps(trace, loaded.app)
        return Recording(trace)


def _wsgi_requested() -> bool:
    """Whether the command being run was given `--wsgi`."""
    import click

    context = click.get_current_context(silent=True)
    return bool(context is not None and context.meta.get(WSGI_META))


def app_root(app_ref: str) -> str:
    """The directory holding the app's own code, for the line-tracing scope."""
    target = app_ref.split(":", 1)[0] if not os.path.exists(app_ref) else app_ref
    if target.endswith(".py") or os.path.isdir(target):
        path = os.path.abspath(target)
        return path if os.path.isdir(path) else os.path.dirname(path)
    return module_dir(target.split(".", 1)[0]) or os.getcwd()
