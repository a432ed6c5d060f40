"""Load a Flask app the way `flask --app` does and send it requests, under the recorder.

App discovery is Flask's own (`flask.cli.ScriptInfo`): every form `flask --app` takes
works here. Requests go through Flask's test client, so nothing listens on a port.

A module may make more apps than the one discovery returns (a helper module's own
`Flask(__name__)`); the recorder records them all. `label_apps` says which one was asked
for, so that every command tells that app first and names the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask
from flask.cli import NoAppException, ScriptInfo
from werkzeug.datastructures import MultiDict
from werkzeug.test import Client

from tracer.errors import AppLoadError
from tracer.frameworks.werkzeug.rule_order import rules_by_endpoint
from tracer.model import Route, Trace

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
        raise AppLoadError(one_line(str(exc))) from None
    except SyntaxError as exc:
        raise AppLoadError(
            f"could not import app {app_ref!r}: SyntaxError in {exc.filename} line {exc.lineno}: "
            f"{exc.msg}"
        ) from None
    except Exception as exc:
        raise AppLoadError(
            f"could not import app {app_ref!r}: {type(exc).__name__}: {one_line(str(exc))}"
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


def label_apps(trace: Trace, app: Flask) -> Trace:
    """The trace with each route labelled with its own app, `app`'s routes first.

    The recorder lists each app's URL map as one run of routes, apps in the order they added
    their first rule. Apps are told apart by `app.name`, which two `Flask(__name__)` in one
    module share: a run of one name is split where Flask's own static rule starts the next
    app, and apps sharing a name are numbered in the order they were made (`name`,
    `name #2`...). `meta["app_name"]` is the label of `app`. When every app's URL map
    starts with that static rule, the apps added their first rules in the order they were
    made, and `meta["apps"]` lists their labels in that order.
    """
    own = [(rule.rule, rule.endpoint) for rule in rules_by_endpoint(app.url_map)]
    routes = list(trace.routes)
    start = _find_run(routes, app.name, own)
    if start is None:
        runs, asked = _runs(routes), None
    else:
        before, end = _runs(routes[:start]), start + len(own)
        runs = [*before, routes[start:end], *_runs(routes[end:])]
        asked = len(before)
    labels = _number(runs)
    name = labels[asked] if asked is not None else _free_label(app.name, labels)
    ordered = [index for index in range(len(runs)) if index != asked]
    if asked is not None:
        ordered.insert(0, asked)
    relabelled = tuple(replace(route, app=labels[index])
                       for index in ordered for route in runs[index])
    meta: dict[str, Any] = {**trace.meta, "app_name": name}
    if all(_made_by_flask_init(run[0]) for run in runs):
        meta["apps"] = labels
    return replace(trace, routes=relabelled, meta=meta)


def _find_run(routes: Sequence[Route], name: str, own: Sequence[tuple[str, str]]
              ) -> int | None:
    """Where `own` (the loaded app's rules, in URL map order) lies in the trace's routes."""
    if not own:
        return None
    for start in range(len(routes) - len(own) + 1):
        window = routes[start:start + len(own)]
        if all(_of_app_named(route.app, name) and (route.rule, route.endpoint) == rule
               for route, rule in zip(window, own, strict=True)):
            return start
    return None


def _runs(routes: Sequence[Route]) -> list[list[Route]]:
    """Routes cut into one list per app: a new app starts where the name changes, or with
    the static rule Flask adds in `Flask.__init__` before any other."""
    runs: list[list[Route]] = []
    for route in routes:
        if not runs or route.app != runs[-1][-1].app or _made_by_flask_init(route):
            runs.append([route])
        else:
            runs[-1].append(route)
    return runs


def _made_by_flask_init(route: Route) -> bool:
    return route.endpoint == "static" and any(
        link.qualname.startswith("Flask.__init__.") for link in route.chain)


def _of_app_named(label: str | None, name: str) -> bool:
    """Whether a route's app label is of an app called `name` (`name`, or `name #2`...,
    as the recorder numbers apps of one name)."""
    return label == name or (label is not None and label.startswith(f"{name} #")
                             and label[len(name) + 2:].isdigit())


def _number(runs: Sequence[Sequence[Route]]) -> list[str | None]:
    """One label per run: its app's name, numbered from the second app of that name on
    (kept as recorded when the recorder already told every app apart)."""
    recorded = [run[0].app for run in runs]
    if None not in recorded and len(set(recorded)) == len(recorded):
        return list(recorded)
    seen: dict[str | None, int] = {}
    labels: list[str | None] = []
    for run in runs:
        name = run[0].app
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 or name is None else f"{name} #{seen[name]}")
    return labels


def _free_label(name: str, labels: Sequence[str | None]) -> str:
    """A label for an app without routes that no app with routes already has."""
    number = 1
    label = name
    while label in labels:
        number += 1
        label = f"{name} #{number}"
    return label


def one_line(text: str) -> str:
    """Flask's discovery errors can span lines (an import traceback); keep what matters."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else text
    return f"{lines[0]} {lines[-1]}"
