"""Record an app's registration and some requests in one go: what `trace` and every
command taking `APP [METHOD] PATH` do before reading the trace."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .api import record
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


def record_app(app_ref: str, requests: Sequence[RequestSpec], *, redact: bool = True) -> Recording:
    """Import `app_ref` under the recorder, send `requests`, and return the trace."""
    with record(redact=redact) as recorder:
        recorder.meta["app"] = app_ref
        try:
            app = load_app(app_ref)
        except AppLoadError as exc:
            return Recording(recorder.trace(app=app_ref), str(exc))
        for spec in requests:
            send(app, spec)
        return Recording(recorder.trace(app=app_ref))
