"""Run a corpus app under flaskscope and the oracle at once, and check every request.

A corpus module is a real app built on extensions from PyPI (the `corpus` extra). It makes
its Flask app at import, as real apps do, and holds `app` and `ASKS`: the requests to send,
in order, through one test client (cookies carry over), each with the response it must get.
"""

from __future__ import annotations

import gc
import importlib
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from oracle import Observation, Observer, Report, check_requests
from oracle.ran import Phase, Ran

import tracer
from tracer.api import default_scope
from tracer.model import Trace

CORPUS_DIR = Path(__file__).resolve().parent
MODES = ("hooks", "lines")
#: Every corpus app (module `corpus.app_NAME`): the packages whose code counts as the app's
#: (the oracle requires the calls Flask makes into them, as into the module itself), and the
#: third-party packages that are the app itself (imported afresh under the recorder, and
#: traced line by line in line mode like the module).
APPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "restful": (("flask_restful",), ()),
    "restx": (("flask_restx",), ()),
    "smorest": (("flask_smorest", "marshmallow", "webargs"), ()),
    "login": (("flask_login",), ()),
    "httpauth": (("flask_httpauth",), ()),
    "wtf": (("flask_wtf", "wtforms"), ()),
    "cors": (("flask_cors",), ()),
    "caching": (("flask_caching",), ()),
    "httpbin": (("flasgger",), ("httpbin",)),
}


@dataclass(frozen=True)
class Ask:
    """One request of a corpus app and what its response must be."""

    method: str
    path: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    data: dict[str, str] | None = None
    json: Any = None
    body: str | None = None  # text the response body must contain
    reaches: str = ""  # the error handler (qualname) that answers, Flask's or the app's

    def send(self, client: Any) -> Any:
        options: dict[str, Any] = {"method": self.method, "headers": self.headers}
        if self.data is not None:
            options["data"] = self.data
        if self.json is not None:
            options["json"] = self.json
        return client.open(self.path, **options)


@dataclass
class AppRun:
    """One corpus app recorded in one mode, its responses and the oracle's report."""

    name: str
    mode: str
    labels: list[str]
    asks: list[Ask]
    responses: list[tuple[int, bytes]]
    trace: Trace
    observations: list[Observation]
    report: Report

    def disagreements(self, label: str) -> list[str]:
        """The disagreements about the request sent as `label` ("" : those of no request)."""
        return [str(d) for d in self.report.disagreements if d.label == label]


def corpus_module(name: str) -> str:
    return f"corpus.app_{name}"


def _forget(prefixes: tuple[str, ...]) -> None:
    for module in [m for m in sys.modules
                   if any(m == p or m.startswith(p + ".") for p in prefixes)]:
        del sys.modules[module]


def _package_dir(name: str) -> str:
    """Where a package's code lives: its directory, or the file of a single-module one."""
    module = importlib.import_module(name)
    path = Path(module.__file__).resolve()
    return str(path.parent) if hasattr(module, "__path__") else str(path)


#: Every run made in this session, for the closing note.
RUNS: dict[tuple[str, str], AppRun] = {}


@cache
def run_app(name: str, mode: str) -> AppRun:
    """Import corpus app `name` under the recorder (hooks or lines) and the oracle, send its
    asks, and check every recorded request against what the oracle saw."""
    module_name = corpus_module(name)
    extensions, app_packages = APPS[name]
    app_dirs = [_package_dir(p) for p in app_packages]
    roots = [str(CORPUS_DIR / f"app_{name}.py"), *map(_package_dir, extensions), *app_dirs]
    current = {"label": ""}
    _forget((module_name, *app_packages))
    scope = default_scope([str(CORPUS_DIR), *app_dirs]) if mode == "lines" else None
    labels: list[str] = []
    responses: list[tuple[int, bytes]] = []
    try:
        with Observer(roots, label=lambda: current["label"]) as observer:
            with tracer.record(lines=mode == "lines", redact=False, scope=scope) as recorder:
                module: ModuleType = importlib.import_module(module_name)
                client = module.app.test_client()
                for index, ask in enumerate(module.ASKS):
                    current["label"] = label = f"{index:02d} {ask.method} {ask.path}"
                    labels.append(label)
                    response = ask.send(client)
                    responses.append((response.status_code, response.get_data()))
                    response.close()
                trace = recorder.trace()
    finally:
        _forget((module_name, *app_packages))
    observations = observer.take()
    run = RUNS[name, mode] = AppRun(name, mode, labels, list(module.ASKS), responses, trace,
                                    observations, check_requests(trace.requests, observations))
    return run


@cache
def replayed(name: str) -> dict[str, Phase]:
    """Corpus app `name` imported afresh and sent its asks with flaskscope NOT installed,
    under the line oracle (`oracle.ran`): what ran in registration and in each request."""
    module_name = corpus_module(name)
    app_packages = APPS[name][1]
    _forget((module_name, *app_packages))
    try:
        with Ran() as ran:
            module: ModuleType = importlib.import_module(module_name)
            client = module.app.test_client()
            for index, ask in enumerate(module.ASKS):
                ran.label = f"request {index}"
                ask.send(client).close()
    finally:
        _forget((module_name, *app_packages))
        gc.collect()  # the app's signal receivers go with it (weakly connected, in cycles)
    return ran.phases


def closing_note() -> list[str]:
    """The counts of this session's corpus runs: apps, requests and facts checked,
    disagreements (per mode, then in all)."""
    lines = []
    total = Report()
    for mode in MODES:
        runs = [run for (_, run_mode), run in RUNS.items() if run_mode == mode]
        if not runs:
            continue
        report = Report()
        for run in runs:
            report.add(run.report)
        total.add(report)
        lines.append(f"{mode}: {report.summary(apps=len(runs))}")
    if lines:
        apps = len({name for name, _ in RUNS})
        lines.append(f"in all: {total.summary(apps=apps)}")
    return lines
