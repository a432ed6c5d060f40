"""Helpers shared by the tests: record fixture apps and query their steps."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tracer.frameworks.flask import anatomy
from tracer.model import Step

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The class whose methods register rules (`App` from Flask 3.0, `Flask` before): the name
#: its registration steps carry (`App.add_url_rule`).
APP_CLASS = anatomy.App.__name__
#: The name of the step `url_for` records: the app's method (Flask 2.2+), else the helper.
URL_FOR_STEP = ("Flask.url_for" if isinstance(anatomy.URL_FOR[0][0], type) else "url_for")


def location_sent(location: str, host: str = "http://localhost") -> str:
    """The Location header a response holding `location` sends: Werkzeug before 2.1 makes a
    relative one absolute (`autocorrect_location_header`, on by default there)."""
    from werkzeug.wrappers import Response

    relative = not location.startswith(("http://", "https://"))
    return host + location if relative and Response.autocorrect_location_header else location


def warnings_told(config) -> list[str]:
    """The `-W` options this pytest run was given (the version matrix ignores old Flask's
    and Werkzeug's deprecations with them), for the processes a test starts."""
    return list(config.getoption("pythonwarnings") or ())


@contextmanager
def tornado_client(app: Any) -> Iterator[Any]:
    """Tornado's own test case serving `app` on the loopback, set up and torn down: its
    `fetch` is Tornado's client against Tornado's server, sharing nothing with flaskscope
    (what the tests hold recorded Tornado facts to)."""
    import tornado.testing

    class Client(tornado.testing.AsyncHTTPTestCase):
        def get_app(self) -> Any:
            return app

        def runTest(self) -> None:  # noqa: N802 - unittest's name
            pass

    case = Client()
    case.setUp()
    try:
        yield case
    finally:
        case.tearDown()


def fixture_path(name: str) -> str:
    """The path of a fixture app, as `flask --app` and `flaskscope` take it."""
    return str(REPO_ROOT / "fixtures" / f"{name}.py")


def record_fixture(name: str, *requests: str | tuple, redact: bool = True, **options):
    """Record fixture app `name` and requests given as "METHOD /path" or RequestSpec kwargs.

    The fixture's modules are forgotten first, so registration is recorded afresh.
    """
    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    forget_fixtures()
    specs = []
    for item in requests:
        if isinstance(item, str):
            method, path = item.split(" ", 1)
            specs.append(RequestSpec(method=method, path=path))
        else:
            specs.append(item)
    try:
        return record_app(fixture_path(name), specs, redact=redact, **options)
    finally:
        forget_fixtures()


def forget_fixtures() -> None:
    """Drop every `fixtures` module so the next import registers routes again."""
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]

def calls(steps: tuple[Step, ...], role: str | None = None, name: str | None = None) -> list[Step]:
    """Call steps, optionally of one role and/or name."""
    return [
        s for s in steps
        if s.kind == "call" and (role is None or s.role == role)
        and (name is None or s.name == name)
    ]


def notes(steps: tuple[Step, ...], role: str) -> list[Step]:
    return [s for s in steps if s.kind == "note" and s.role == role]


def one(items: list[Step]) -> Step:
    assert len(items) == 1, [s.name for s in items]
    return items[0]


def end_of(steps: tuple[Step, ...], call: Step) -> Step:
    """The return or exception step closing a call."""
    return next(s for s in steps if s.parent == call.id and s.kind in ("return", "exception"))


def ancestors(steps: tuple[Step, ...], step: Step) -> list[Step]:
    chain = []
    parent = step.parent
    while parent is not None:
        chain.append(steps[parent])
        parent = steps[parent].parent
    return chain


def json_paths(node, prefix=()):
    """Every path (tuple of keys and indexes) into a parsed JSON document, root first."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from json_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from json_paths(value, (*prefix, index))
