"""Every request of every corpus app, recorded in hook and line mode, held to the oracle.

One test per request: the oracle's disagreements about it (none, or the test fails with
each one). Where flaskscope has a known gap the request's test is a strict xfail naming it,
so a fix shows up as an unexpected pass.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from oracle.explained import explain_disagreements
from oracle.observe import Call

from .harness import APPS, MODES, Ask, corpus_module, replayed, run_app

# Known gaps, each a flaskscope bug the oracle reports (by app, mode and ask index):
# none today. A gap found later is listed here as (app, mode) -> {index: (reason, ...)}.
KNOWN: dict[tuple[str, str], dict[int, tuple[str, ...]]] = {}


def _asks(app: str) -> list[Ask]:
    return list(importlib.import_module(corpus_module(app)).ASKS)


def _request_cases() -> list:
    cases = []
    for app in APPS:
        for mode in MODES:
            known = KNOWN.get((app, mode), {})
            for index, ask in enumerate(_asks(app)):
                label = f"{index:02d} {ask.method} {ask.path}"
                marks = [pytest.mark.xfail(strict=True, reason="; ".join(known[index]))
                         ] if index in known else []
                cases.append(pytest.param(app, mode, label, marks=marks,
                                          id=f"{app}-{mode}-{label}"))
    return cases


@pytest.mark.parametrize(("app", "mode", "label"), _request_cases())
def test_oracle_agrees(app: str, mode: str, label: str) -> None:
    """Everything recorded about the request is what the oracle saw, and nothing it
    requires is missing."""
    disagreements = run_app(app, mode).disagreements(label)
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("app", APPS)
def test_every_request_is_paired(app: str, mode: str) -> None:
    """Each request the app served was recorded once, and each recorded one was served."""
    run = run_app(app, mode)
    assert not run.disagreements(""), "\n".join(run.disagreements(""))
    assert run.report.requests == len(run.asks)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("app", APPS)
def test_responses_are_as_asked(app: str, mode: str) -> None:
    """The app answers each ask as the corpus says, recorded and observed."""
    run = run_app(app, mode)
    for label, ask, (status, body) in zip(run.labels, run.asks, run.responses, strict=True):
        assert status == ask.status, (label, status, body[:300])
        if ask.body is not None:
            assert ask.body.encode() in body, (label, body[:300])


@pytest.mark.parametrize("app", APPS)
def test_asks_reach_every_kind_of_request(app: str) -> None:
    """Each app is asked for a redirect, a 4xx, a 5xx, HEAD, OPTIONS and a 405, and error
    handlers answer: each ask naming one is answered by it (the oracle saw it run)."""
    run = run_app(app, "hooks")
    statuses = [status for status, _ in run.responses]
    methods = {ask.method for ask in run.asks}
    assert any(300 <= s < 400 for s in statuses), statuses
    assert any(400 <= s < 500 and s != 405 for s in statuses), statuses
    assert any(s >= 500 for s in statuses), statuses
    assert 405 in statuses and {"HEAD", "OPTIONS"} <= methods
    handlers = [(ask.reaches, observation) for ask, observation
                in zip(run.asks, run.observations, strict=True) if ask.reaches]
    assert handlers
    for handler, observation in handlers:
        assert _ran(observation.root, handler), (observation.label, handler)


def _ran(call: Call, name: str) -> bool:
    """Whether the oracle saw a call of `name` (a qualname) under `call`."""
    return any(child.name == name or _ran(child, name) for child in call.children)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("app", APPS)
def test_explain_tells_only_what_ran(app: str, mode: str, tmp_path: Path) -> None:
    """Every Flask or Werkzeug line `explain --source` quotes ran, and every "called"
    sentence is a call that happened, in English and Chinese: held to the app replayed
    without flaskscope under the line oracle."""
    wrong = explain_disagreements(run_app(app, mode).trace, replayed(app), tmp_path)
    assert not wrong, "\n".join(wrong)
