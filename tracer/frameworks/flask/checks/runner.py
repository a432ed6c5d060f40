"""Load an app under the recorder and run every check on the app and its trace."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from tracer.api import record
from tracer.errors import AppLoadError
from tracer.frameworks.flask.checks.registration import endpoint_collisions, wrappers_without_wraps
from tracer.frameworks.flask.checks.routing import shadowed_rules, strict_slash_redirects
from tracer.frameworks.flask.checks.views import decorators_above_route, method_view_methods
from tracer.frameworks.flask.loading import label_apps
from tracer.frameworks.loading import LoadedApp, load
from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.findings import Finding
from tracer.frameworks.narration.steps import Steps
from tracer.model import Trace


@dataclass(frozen=True)
class CheckResult:
    """What `check` found; `load_error` is set when the app could not be imported."""

    trace: Trace
    findings: tuple[Finding, ...]
    load_error: str | None = None


def run_checks(app: Flask | None, trace: Trace, error: BaseException | None = None
               ) -> list[Finding]:
    """Every check that can run: trace-only ones always, the rest when `app` loaded.

    The live checks look at `app` alone; the trace holds every app the import made, and a
    finding read from another app's steps names that app.
    """
    owners = AppOwners(trace, Steps(trace.registration.steps))
    findings = [*endpoint_collisions(trace, error, owners), *wrappers_without_wraps(trace, owners)]
    if app is not None:
        findings += decorators_above_route(app, trace, owners)
        findings += method_view_methods(app, trace, owners)
        findings += shadowed_rules(app)
        findings += strict_slash_redirects(app)
    return sorted(findings, key=lambda f: (f.file or "", f.line or 0, f.check))


def check_app(app_ref: str) -> CheckResult:
    """Import `app_ref` under the recorder and check it.

    An app that fails to import is still checked from its recorded registration: an
    endpoint collision is a finding, not only a load failure. The app is found the way
    `trace` finds it, so that a Bottle, Werkzeug or plain WSGI app is named as such
    instead of being reported as a Flask app that could not be found.
    """
    with record() as recorder:
        recorder.meta["app"] = app_ref
        try:
            loaded = load(app_ref)
        except AppLoadError as exc:
            trace = recorder.trace(app=app_ref)
            return CheckResult(trace, tuple(run_checks(None, trace, exc.__context__)), str(exc))
        trace = recorder.trace(app=app_ref)
        if loaded.framework != "flask":
            return CheckResult(trace, (), not_flask(app_ref, loaded))
        trace = label_apps(trace, loaded.app)
        return CheckResult(trace, tuple(run_checks(loaded.app, trace)))


#: How the load error names each framework `tracer.frameworks` tells apart.
_FRAMEWORK_NAMES = {"bottle": "a Bottle app", "werkzeug": "a Werkzeug app",
                    "wsgi": "a plain WSGI app"}


def not_flask(app_ref: str, loaded: LoadedApp) -> str:
    """The one-line error for an app `check` has no rules for."""
    kind = _FRAMEWORK_NAMES.get(loaded.framework, f"a {loaded.framework} app")
    return (f"check works on Flask apps only, and {app_ref!r} is {kind} ({loaded.name!r}); "
            "`flaskscope trace`, `routes` and `compare` work on it")
