"""Recording overhead on the non-Flask fixtures: the same request untraced and recorded.

Each request is served server side only (the WSGI callable with a prepared environ, the
body iterated and closed), so only the work inside the app is timed. The Flask login
fixture is measured the same way, for reference. Untraced and traced
calls are measured in interleaved rounds; the table reports per-request medians over
rounds and their ratio. The traced app is what `flaskscope trace` records: a Bottle app
through the Bottle adapter, anything else inside the plain WSGI wrapper.

    python benchmarks/bench_frameworks.py [--rounds 9] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from werkzeug.test import EnvironBuilder  # noqa: E402

import tracer  # noqa: E402
from tracer.frameworks.loading import load  # noqa: E402

CASES = [
    ("seed_login", "GET", "/login"),  # Flask, for reference
    ("seed_wsgiref", "GET", "/"),
    ("seed_werkzeug", "GET", "/"),
    ("werkzeug_login", "GET", "/login"),
    ("werkzeug_login", "GET", "/nowhere"),
    ("bottle_login", "GET", "/login"),
    ("bottle_login", "PUT", "/login"),
]


def _forget_fixtures() -> None:
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]


def server_call(app: Callable, method: str, path: str) -> Callable[[], None]:
    environ = EnvironBuilder(path=path, method=method).get_environ()

    def start_response(status, headers, exc_info=None):
        return None

    def call() -> None:
        body = app(dict(environ), start_response)
        for _ in body:
            pass
        if hasattr(body, "close"):
            body.close()

    return call


def per_request(call: Callable[[], None], requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        call()
    return (time.perf_counter() - start) / requests


def measure(name: str, method: str, path: str, rounds: int, requests: int
            ) -> tuple[float, float, int]:
    """Median seconds per request untraced and traced, and the steps of one request.

    Untraced rounds run with nothing installed (Bottle's classes are patched while
    recording); traced rounds install recording, wrap the app as `flaskscope trace` does,
    and uninstall again, outside the timed part.
    """
    from tracer.frameworks import active_hooks, framework_of

    _forget_fixtures()
    with tracer.record():
        app = load(f"fixtures/{name}.py").app  # registration recorded, then uninstalled
    raw = getattr(app, "app", app)  # the plain WSGI wrapper keeps the app it wraps
    plain = server_call(raw, method, path)
    plain()  # first request: Bottle builds the plugin chain
    untraced: list[float] = []
    traced: list[float] = []
    steps = 0
    for _ in range(rounds):
        untraced.append(per_request(plain, requests))
        with tracer.record() as recorder:
            wsgi = active_hooks("wsgi")
            served = raw if framework_of(raw) in ("flask", "bottle") else wsgi.wrap(raw)
            recorded = server_call(served, method, path)
            traced.append(per_request(recorded, requests))
            steps = len(recorder.requests[-1].steps)
    _forget_fixtures()
    return statistics.median(untraced), statistics.median(traced), steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=200)
    options = parser.parse_args()
    print(f"Python {platform.python_version()}, {options.rounds} rounds x "
          f"{options.requests} requests, medians")
    print(f"{'app':<16} {'request':<15} {'untraced µs':>12} {'traced µs':>10} "
          f"{'ratio':>6} {'steps':>6}")
    for name, method, path in CASES:
        if name.startswith("bottle"):
            try:
                import bottle  # noqa: F401
            except ImportError:
                print(f"{name:<16} {method + ' ' + path:<15} skipped: bottle is not installed")
                continue
        untraced, traced, steps = measure(name, method, path, options.rounds, options.requests)
        print(f"{name:<16} {method + ' ' + path:<15} {untraced * 1e6:>12.1f} "
              f"{traced * 1e6:>10.1f} {traced / untraced:>6.1f} {steps:>6}")


if __name__ == "__main__":
    main()
