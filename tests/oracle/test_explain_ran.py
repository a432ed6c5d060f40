"""`explain` tells only what ran: every fixture, every request, held to an oracle's trace.

Each case records a fixture with flaskscope (hook mode, then line mode), writes
`flaskscope explain --source --format json` in English and Chinese, then replays the same
app and requests without flaskscope under the oracle's own `sys.settrace` (`oracle.ran`):
through Flask's test client, web.py's own `app.request()`, Werkzeug's test client into
Django's `WSGIHandler`, or Tornado's own test case. Every quoted Flask, Werkzeug, web.py,
Django or Tornado line must have run in its phase, and every "X called Y" sentence must
match a call edge the oracle saw.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask.cli import ScriptInfo
from flaskscope_testing import REPO_ROOT, forget_fixtures, tornado_client

from oracle.cases import CASES, DJANGO_CASES, TORNADO_CASES, WEBPY_CASES
from oracle.explained import explain_disagreements
from oracle.ran import CLAIMS, NOT_EDGES, Phase, Ran, disagreements
from tracer.frameworks.flask.loading import RequestSpec
from tracer.session import record_app

FIXTURES = REPO_ROOT / "fixtures"


MODES = ("hooks", "lines")


def _replayed(name: str, specs: tuple[RequestSpec, ...]) -> dict[str, Phase]:
    """The fixture imported afresh by Flask's own discovery and sent `specs`, flaskscope
    not installed, under the oracle's trace."""
    forget_fixtures()
    try:
        with Ran() as ran:
            app = ScriptInfo(app_import_path=str(FIXTURES / f"{name}.py")).load_app()
            client = app.test_client(use_cookies=False)
            for index, spec in enumerate(specs):
                ran.label = f"request {index}"
                options: dict = {"method": spec.method, "headers": list(spec.headers)}
                if spec.data:
                    options["data"] = dict(spec.data)
                try:
                    client.open(spec.path, **options).close()
                except Exception:  # an app that propagates its error: still a phase
                    pass
    finally:
        forget_fixtures()
        gc.collect()  # the app's signal receivers go with it (weakly connected, in cycles)
    return ran.phases


def _replayed_on_webpy(name: str, specs: tuple[RequestSpec, ...]) -> dict[str, Phase]:
    """The web.py fixture imported afresh, under the module name `flaskscope trace` gives
    it (web.py's reloader imports it again by that name), and sent `specs` through web.py's
    own `app.request()`, flaskscope not installed, under the oracle's trace."""
    forget_fixtures()
    try:
        with Ran() as ran:
            app = importlib.import_module(f"fixtures.{name}").app
            for index, spec in enumerate(specs):
                ran.label = f"request {index}"
                data = urlencode(spec.data) if spec.data else None
                app.request(spec.path, method=spec.method, data=data,
                            headers=dict(spec.headers))
    finally:
        forget_fixtures()
    return ran.phases


def _replayed_on_django(name: str, specs: tuple[RequestSpec, ...]) -> dict[str, Phase]:
    """The Django fixture imported afresh (it configures its settings), set up, and sent
    `specs` through Werkzeug's test client into Django's own `WSGIHandler`, as `flaskscope
    trace` sends them, flaskscope not installed, under the oracle's trace. Django's state
    is put back afterwards."""
    import django
    from werkzeug.test import Client

    from tracer.frameworks.django.state import DjangoState

    forget_fixtures()
    state = DjangoState()
    try:
        with Ran() as ran:
            importlib.import_module(f"fixtures.{name}")
            django.setup(set_prefix=False)
            from django.core.handlers.wsgi import WSGIHandler

            client = Client(WSGIHandler())
            for index, spec in enumerate(specs):
                ran.label = f"request {index}"
                response = client.open(spec.path, method=spec.method,
                                       data=dict(spec.data) or None,
                                       headers=list(spec.headers), buffered=True)
                response.close()
    finally:
        state.restore()
        forget_fixtures()
    return ran.phases


def _replayed_on_tornado(name: str, specs: tuple[RequestSpec, ...]) -> dict[str, Phase]:
    """The Tornado fixture imported afresh and sent `specs` by Tornado's own test case
    (its HTTP client against its own server, on the loopback), flaskscope not installed,
    under the oracle's trace."""
    forget_fixtures()
    try:
        with Ran() as ran:
            module = importlib.import_module(f"fixtures.{name}")
            with tornado_client(module.app) as client:
                for index, spec in enumerate(specs):
                    ran.label = f"request {index}"
                    client.fetch(spec.path, method=spec.method, headers=dict(spec.headers),
                                 body=urlencode(spec.data) if spec.data else None,
                                 follow_redirects=False, allow_nonstandard_methods=True)
                ran.label = f"request {len(specs)}"  # tearDown: no request's phase
    finally:
        forget_fixtures()
    return ran.phases


_REPLAYS = {"flask": (CASES, None), "webpy": (WEBPY_CASES, "web"),
            "django": (DJANGO_CASES, "django"), "tornado": (TORNADO_CASES, "tornado")}


def _cases() -> list[tuple[str, str]]:
    return [(name, framework) for framework, (cases, needs) in _REPLAYS.items()
            if needs is None or importlib.util.find_spec(needs) is not None
            for name in sorted(cases)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("name", "framework"), _cases())
def test_explain_quotes_and_calls_only_what_ran(name: str, framework: str, mode: str,
                                                tmp_path: Path) -> None:
    specs = _REPLAYS[framework][0][name]
    forget_fixtures()
    try:
        trace = record_app(str(FIXTURES / f"{name}.py"), specs, lines=mode == "lines").trace
    finally:
        forget_fixtures()
    assert len(trace.requests) == len(specs)
    replay = {"flask": _replayed, "webpy": _replayed_on_webpy,
              "django": _replayed_on_django, "tornado": _replayed_on_tornado}[framework]
    wrong = explain_disagreements(trace, replay(name, specs), tmp_path)
    assert not wrong, "\n".join(wrong)


def test_every_sentence_saying_called_is_a_claim_or_says_why_not() -> None:
    """A new "called" sentence must be held to the oracle, or listed with a reason."""
    catalog = (REPO_ROOT / "viewer/explain/locale/flaskscope.pot").read_text("utf-8")
    msgids = ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', block))
              for block in re.findall(r'^msgid ((?:".*"\n)+)', catalog, flags=re.M)]
    unaccounted = [msgid for msgid in msgids
                   if re.search(r"\bcall(ed|ing)\b", msgid.replace('\\"', '"'))
                   and not any(part in msgid.replace('\\"', '"')
                               for part in (*CLAIMS, *NOT_EDGES))]
    assert not unaccounted, "\n".join(unaccounted)


def test_the_oracle_catches_a_quote_of_a_line_that_did_not_run() -> None:
    document = {"sections": [{"kind": "request", "request": 0, "items": [{
        "number": "1", "text": "t", "messages": [],
        "sources": [{"at": "flask/app.py:1", "code": "x"}]}]}]}
    found, quoted, _ = disagreements(document, {"request 0": Phase()})
    assert quoted == 1 and len(found) == 1


def test_the_oracle_catches_a_call_that_did_not_happen() -> None:
    message = {"msgid": "`dispatch_request` called `self.view_functions[{endpoint}](**view_args)`"
                        ", that is `{view}`", "params": {"view": "index", "endpoint": "'i'"}}
    document = {"sections": [{"kind": "request", "request": 0, "items": [{
        "number": "1", "text": "t", "messages": [message], "sources": []}]}]}
    ran = Phase(edges={(("Flask.dispatch_request", "flask/app.py", 1), ("other", "a.py", 1))})
    assert len(disagreements(document, {"request 0": ran})[0]) == 1
    ran.edges.add((("Flask.dispatch_request", "flask/app.py", 1), ("index", "a.py", 3)))
    assert disagreements(document, {"request 0": ran})[0] == []
