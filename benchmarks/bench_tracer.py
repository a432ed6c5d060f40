"""Recording overhead, side by side in one run: flaskscope hook and line modes against the
untraced request and against other tracers at the same scope.

Each request is served server side only (`app.wsgi_app(environ, start_response)` with a
prepared environ), so only the work inside the app is timed. Configurations are measured in
interleaved rounds and the table reports medians over rounds; ratios are to the untraced
request of the same round. flaskscope's configurations are measured in the flow
`flaskscope trace` has: hooks installed, then the app imported and registered under them,
then the requests; the line mode rows show the compiled core and the pure-Python engine.

    python benchmarks/bench_tracer.py [--rounds 9] [--requests 200] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import gzip
import importlib
import io
import os
import platform
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from werkzeug.test import EnvironBuilder  # noqa: E402

import tracer  # noqa: E402
from tracer.api import default_scope, registering  # noqa: E402
from tracer.engine import ENVIRONMENT_VARIABLE, describe  # noqa: E402
from tracer.tracefile import dumps  # noqa: E402

#: Where the generated apps say they live: the app part of the tracing scope.
APPS = os.path.join(ROOT, "benchmarks", "apps")

HELLO_SOURCE = """
from flask import Flask
app = Flask(__name__)

@app.route("/")
def hello():
    return "Hello, World!"
"""


def load_seed_app():
    """The seed notes' app, imported afresh: its routes register under whatever records."""
    sys.modules.pop("fixtures.seed_views", None)
    return importlib.import_module("fixtures.seed_views").app


def load_hello_app():
    module = types.ModuleType("bench_hello")
    module.__file__ = os.path.join(APPS, "bench_hello.py")
    exec(compile(HELLO_SOURCE, module.__file__, "exec"), module.__dict__)
    return module.app


def server_call(app, path: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
    """Serve one request without any client code around it."""
    environ = EnvironBuilder(path=path, headers=headers).get_environ()

    def start_response(status, headers, exc_info=None):
        return None

    def call() -> None:
        body = app.wsgi_app(dict(environ), start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()

    call.app = app  # type: ignore[attr-defined]  # for a peer that instruments the app
    return call


# -- configurations: context managers taking `make_call` (which loads the app and returns
# its request call) and yielding what to time. flaskscope's load the app inside the record,
# as `flaskscope trace` does: hooks first, then the import, under `registering()`. Peers
# load it first and trace the request only.

MakeCall = Callable[[], Callable[[], None]]


@contextmanager
def untraced(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    yield make_call()


def _loaded(make_call: MakeCall) -> Callable[[], None]:
    with registering():
        return make_call()


@contextmanager
def hook_mode(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    with tracer.record():
        yield _loaded(make_call)


@contextmanager
def hook_mode_without_ran_lines(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    """Hook mode as it would be without recording which quotable lines of Flask's functions
    ran (the lines `explain --source` may quote): what that recording costs."""
    import tracer.frameworks.flask.hooks as flask_hooks

    original = flask_hooks.quotable_lines
    flask_hooks.quotable_lines = dict
    try:
        with tracer.record():
            yield _loaded(make_call)
    finally:
        flask_hooks.quotable_lines = original


@contextmanager
def line_mode(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    with tracer.record(lines=True, scope=default_scope([os.path.join(ROOT, "fixtures"), APPS])):
        yield _loaded(make_call)


@contextmanager
def _pure_engine() -> Iterator[None]:
    before = os.environ.get(ENVIRONMENT_VARIABLE)
    os.environ[ENVIRONMENT_VARIABLE] = "python"
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENVIRONMENT_VARIABLE]
        else:
            os.environ[ENVIRONMENT_VARIABLE] = before


@contextmanager
def line_mode_pure(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    """Line mode on the pure-Python engine: what the compiled core saves, side by side."""
    with _pure_engine(), line_mode(make_call) as timed:
        yield timed


@contextmanager
def hook_mode_pure(make_call: MakeCall) -> Iterator[Callable[[], None]]:
    """Hook mode with the recorder's bookkeeping in Python (`tracer/_stepcore.c` not used)."""
    with _pure_engine(), hook_mode(make_call) as timed:
        yield timed


def _scope_prefixes() -> tuple[str, ...]:
    import flask
    import werkzeug

    return (os.path.dirname(flask.__file__), os.path.dirname(werkzeug.__file__),
            os.path.join(ROOT, "fixtures"), APPS)


def peers() -> dict[str, Callable[[], object]]:
    """Other tracers at their closest settings, each wrapped around the request only."""
    found: dict[str, Callable[[], object]] = {}
    prefixes = _scope_prefixes()
    try:
        import hunter

        @contextmanager
        def hunter_vars(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            with hunter.trace(filename_startswith=prefixes,
                              action=hunter.VarsSnooper(stream=io.StringIO())):
                yield call

        found["hunter VarsSnooper"] = hunter_vars
    except ImportError:
        pass
    try:
        import snoop

        @contextmanager
        def snoop_deep(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            yield snoop.Config(out=io.StringIO(), columns=()).snoop(depth=30)(call)

        found["snoop depth=30"] = snoop_deep
    except ImportError:
        pass
    try:
        import pysnooper

        @contextmanager
        def pysnooper_deep(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            yield pysnooper.snoop(io.StringIO(), depth=30)(call)

        found["PySnooper depth=30"] = pysnooper_deep
    except ImportError:
        pass
    try:
        from viztracer import VizTracer

        @contextmanager
        def viztracer_args(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            viz = VizTracer(include_files=list(prefixes), log_func_args=True,
                            log_func_retval=True, verbose=0, tracer_entries=2_000_000)
            viz.start()
            try:
                yield call
            finally:
                viz.stop()
                viz.clear()

        found["viztracer args+retval"] = viztracer_args
    except ImportError:
        pass
    found.update(_profiler_peers(prefixes))
    return found


def _profiler_peers(prefixes: tuple[str, ...]) -> dict[str, Callable[[], object]]:
    """A sampling profiler, a line coverage tracer and request tracing by OpenTelemetry:
    cheaper jobs than recording every step, the costs users know."""
    found: dict[str, Callable[[], object]] = {}
    try:
        from pyinstrument import Profiler

        @contextmanager
        def pyinstrument_default(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            profiler = Profiler(async_mode="disabled")
            profiler.start()
            try:
                yield call
            finally:
                profiler.stop()

        found["pyinstrument (1 ms)"] = pyinstrument_default
    except ImportError:
        pass
    try:
        import coverage

        @contextmanager
        def coverage_ctracer(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            before = os.environ.get("COVERAGE_CORE")
            os.environ["COVERAGE_CORE"] = "ctrace"  # the C tracer on every Python
            try:
                measured = coverage.Coverage(data_file=None, config_file=False,
                                             include=[f"{prefix}/*" for prefix in prefixes])
            finally:
                if before is None:
                    del os.environ["COVERAGE_CORE"]
                else:
                    os.environ["COVERAGE_CORE"] = before
            measured.start()
            try:
                yield call
            finally:
                measured.stop()
                measured.erase()

        found["coverage C tracer (lines)"] = coverage_ctracer
    except ImportError:
        pass
    try:
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
            InMemorySpanExporter,
        )

        @contextmanager
        def opentelemetry_flask(make_call: MakeCall) -> Iterator[Callable[[], None]]:
            call = make_call()
            app = call.app  # type: ignore[attr-defined]
            exporter = InMemorySpanExporter()
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
            try:
                yield call
            finally:
                FlaskInstrumentor().uninstrument_app(app)
                exporter.clear()
                provider.shutdown()

        found["OpenTelemetry Flask"] = opentelemetry_flask
    except ImportError:
        pass
    return found


# -- measuring -----------------------------------------------------------------------------


def per_request(config, make_call: MakeCall, requests: int) -> float:
    """Seconds per request under `config`: the mean of `requests` calls after a warm-up.

    What the configuration before left for the collector (a recording ended, its objects
    handed back to the collector) is collected first, untimed: it is not this one's cost.
    """
    gc.collect()
    with config(make_call) as timed:
        timed()
        timed()
        start = time.perf_counter()
        for _ in range(requests):
            timed()
        return (time.perf_counter() - start) / requests


def measure(configs: dict[str, Callable], make_call: MakeCall, rounds: int,
            requests: int, per_config_requests: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Median seconds per request and median ratio to untraced, over interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in configs}
    ratios: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(rounds):
        base = per_request(untraced, make_call, requests)
        times["untraced"].append(base)
        ratios["untraced"].append(1.0)
        for name, config in configs.items():
            if name == "untraced":
                continue
            value = per_request(config, make_call, per_config_requests.get(name, requests))
            times[name].append(value)
            ratios[name].append(value / base)
    return {name: (statistics.median(times[name]), statistics.median(ratios[name]))
            for name in configs}


def collection_cost(config, requests: int) -> tuple[float, float, int]:
    """(seconds per request, of which in the cyclic garbage collector, full collections)
    for `requests` requests of GET /index in one recording: the trace grows, and full
    collections walk whatever of it the collector tracks. One full collection more or less
    in the window moves the share by tens of percent, so their count is told with it."""
    spent = [0.0]
    started = [0.0]
    full = [0]

    def timing(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[0] += time.perf_counter() - started[0]
            full[0] += info.get("generation") == 2

    with config(lambda: server_call(load_seed_app(), "/index")) as timed:
        for _ in range(5):
            timed()
        gc.callbacks.append(timing)
        try:
            start = time.perf_counter()
            for _ in range(requests):
                timed()
            total = time.perf_counter() - start
        finally:
            gc.callbacks.remove(timing)
    return total / requests, spent[0] / requests, full[0]


def trace_bytes(load_app, path: str, lines: bool) -> tuple[int, int]:
    """Bytes one more request adds to a trace (plain JSON, gzip), measured 1 vs 11."""
    sizes = []
    for count in (1, 11):
        scope = default_scope([os.path.join(ROOT, "fixtures"), APPS])
        with tracer.record(lines=lines, scope=scope) as recorder:
            call = server_call(load_app(), path)
            for _ in range(count):
                call()
            data = dumps(recorder.trace())
        sizes.append((len(data), len(gzip.compress(data, 6, mtime=0))))
    return ((sizes[1][0] - sizes[0][0]) // 10, (sizes[1][1] - sizes[0][1]) // 10)


def registration_times(rounds: int, routes: int = 2000) -> tuple[float, float, float]:
    """Median seconds to import a generated app with `routes` routes, untraced and traced."""
    source = "from flask import Flask\napp = Flask(__name__)\n" + "".join(
        f"@app.route('/r{i}/<int:item>', methods=['GET', 'POST'])\n"
        f"def view_{i}(item):\n    return str(item)\n" for i in range(routes))
    code = compile(source, os.path.join(APPS, "generated_routes.py"), "exec")

    def register() -> float:
        module = types.ModuleType("generated_routes")
        gc.collect()  # the previous app's 2,000 rules are garbage: collect them untimed
        start = time.perf_counter()
        exec(code, module.__dict__)
        return time.perf_counter() - start

    plain, traced, ratios = [], [], []
    for _ in range(rounds):
        base = register()
        with tracer.record():
            value = register()
        plain.append(base)
        traced.append(value)
        ratios.append(value / base)
    return statistics.median(plain), statistics.median(traced), statistics.median(ratios)


#: A request carrying secrets: redaction by value has values to look for.
SECRET_HEADERS = {"Authorization": "Bearer tok-5f3a9c0e77d1", "Cookie": "sid=ck-55d1e0a9b3",
                  "X-Api-Key": "xk-4d10c2f8"}


def redaction_cost(lines: bool, rounds: int, requests: int) -> tuple[float, float, float]:
    """Seconds per request (recorded, then the trace built) with redaction on and off, and
    the median ratio on/off, for a request carrying secrets (`SECRET_HEADERS`)."""
    scope = default_scope([os.path.join(ROOT, "fixtures"), APPS])

    def once(redact: bool) -> float:
        with tracer.record(lines=lines, scope=scope, redact=redact) as recorder:
            call = server_call(load_seed_app(), "/index", SECRET_HEADERS)
            call()
            gc.collect()
            start = time.perf_counter()
            for _ in range(requests):
                call()
            recorder.trace()
            return (time.perf_counter() - start) / requests

    on, off, ratios = [], [], []
    for _ in range(rounds):
        plain = once(False)
        redacted = once(True)
        on.append(redacted)
        off.append(plain)
        ratios.append(redacted / plain)
    return statistics.median(on), statistics.median(off), statistics.median(ratios)


def main() -> None:
    # snoop's cheap_repr warns once per type whose repr fails on a half-built object.
    warnings.filterwarnings("ignore", module="cheap_repr")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="3 rounds, fewer requests")
    args = parser.parse_args()
    rounds, requests = (3, 50) if args.quick else (args.rounds, args.requests)

    print(f"Python {platform.python_version()}, {rounds} interleaved rounds, "
          f"{requests} requests per configuration per round (peers: fewer, as noted); "
          f"{describe()}")
    configs = {"untraced": untraced, "flaskscope hooks": hook_mode,
               "hooks, pure engine": hook_mode_pure,
               "hooks without ran lines": hook_mode_without_ran_lines,
               "flaskscope lines": line_mode, "lines, pure engine": line_mode_pure, **peers()}
    ours = ("untraced", "flaskscope hooks", "hooks, pure engine", "hooks without ran lines",
            "flaskscope lines", "lines, pure engine")
    slow = {name: max(5, requests // 20) for name in configs if name not in ours}
    for label, load_app, path in (("GET /index (IndexView, 1 decorator)", load_seed_app,
                                   "/index"),
                                  ("GET / (hello world)", load_hello_app, "/")):
        def make_call(load_app=load_app, path=path) -> Callable[[], None]:
            return server_call(load_app(), path)

        results = measure(configs, make_call, rounds, requests, slow)
        print(f"\n{label}")
        print(f"  {'configuration':<26}{'per request':>14}{'ratio':>10}")
        for name, (seconds, ratio) in results.items():
            note = f"  ({slow[name]} req/round)" if name in slow else ""
            print(f"  {name:<26}{seconds * 1e6:>11.1f} µs{ratio:>9.2f}×{note}")
        print(f"  recording the quotable lines that ran costs hook mode "
              f"{results['flaskscope hooks'][1] / results['hooks without ran lines'][1]:.2f}×")
        print(f"  the compiled core makes hook mode "
              f"{results['hooks, pure engine'][1] / results['flaskscope hooks'][1]:.2f}× faster")
        print(f"  the compiled core makes line mode "
              f"{results['lines, pure engine'][1] / results['flaskscope lines'][1]:.2f}× faster")
        hunter_ratio = results.get("hunter VarsSnooper", (0, 0))[1]
        if hunter_ratio:
            print(f"  hunter / flaskscope lines: "
                  f"{hunter_ratio / results['flaskscope lines'][1]:.1f}× slower")

    count = max(50, requests)
    print(f"\nGarbage collection in line mode ({count} requests of GET /index in one recording)")
    for name, config in (("compiled core", line_mode), ("pure engine", line_mode_pure)):
        total, collecting, full = collection_cost(config, count)
        print(f"  {name:<16}{total * 1e6:9.1f} µs per request, {collecting * 1e6:7.1f} µs of it "
              f"collecting ({collecting / total:.0%}; {full} full collection"
              f"{'' if full == 1 else 's'})")

    print("\nTrace size per request (GET /index, one more request in the same trace)")
    for lines in (False, True):
        plain, gz = trace_bytes(load_seed_app, "/index", lines)
        mode = "lines" if lines else "hooks"
        print(f"  {mode:<8}{plain / 1024:>8.1f} KB JSON{gz / 1024:>8.1f} KB gzip")

    print("\nRedaction (GET /index with Authorization, Cookie and X-Api-Key; recording + building"
          " the trace, per request)")
    for lines in (False, True):
        on, off, ratio = redaction_cost(lines, rounds, max(10, requests // 4))
        mode = "lines" if lines else "hooks"
        print(f"  {mode:<8}redaction off {off * 1e6:9.1f} µs   by name and value {on * 1e6:9.1f} µs"
              f"   ratio {ratio:.2f}×")

    plain, traced, ratio = registration_times(max(5, rounds))
    print("\nRegistration of a generated 2,000-route app (import time)")
    print(f"  untraced {plain * 1e3:8.1f} ms   hooks {traced * 1e3:8.1f} ms   ratio {ratio:.2f}×")


if __name__ == "__main__":
    main()
