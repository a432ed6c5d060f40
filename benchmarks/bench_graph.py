"""How long flaskscope takes to build graphs of a big app (our time only, not Graphviz's).

Run `.venv/bin/python benchmarks/bench_graph.py` (add `--routes N`, `--rounds N`, `--dot`).
It writes a Flask app with N generated routes (default 2,000: 20 blueprints of 100 rules,
every other view decorated, some with explicit methods), records its registration and two
requests with the real recorder, then times, over `--rounds` rounds, building each graph
and its DOT text (`graphviz.Digraph(...).source`):

- routes: the whole URL map, no request;
- routes + request: the map with a matched GET overlaid;
- routes + 405: the map with a refused POST overlaid (re-matches the path in Werkzeug);
- decorators: every endpoint's onion, no request;
- calls: the call graph of the GET.

The issue's budget: routes graph of a 2,000-route app <= 1.0 s. `--dot` also times
`dot -Tsvg` on the routes graph once, for information (that time is Graphviz's).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer import record_app  # noqa: E402
from tracer.frameworks.flask.loading import RequestSpec  # noqa: E402
from tracer.model import Trace  # noqa: E402
from viewer.graph import build  # noqa: E402

BUDGET_ROUTES = 1.0
PER_BLUEPRINT = 100


def app_source(routes: int) -> str:
    """A module registering `routes` rules in blueprints of `PER_BLUEPRINT`."""
    return textwrap.dedent(f'''
        """Generated: {routes} routes in blueprints of {PER_BLUEPRINT}."""
        import functools

        from flask import Blueprint, Flask

        app = Flask(__name__)


        def audited(func):
            @functools.wraps(func)
            def audit(*args, **kwargs):
                return func(*args, **kwargs)
            return audit


        def make_view(number):
            def view(item_id):
                return f"item {{number}}/{{item_id}}"
            view.__name__ = f"view_{{number}}"
            return audited(view) if number % 2 else view


        for b in range(({routes} + {PER_BLUEPRINT} - 1) // {PER_BLUEPRINT}):
            bp = Blueprint(f"bp{{b}}", __name__, url_prefix=f"/bp{{b}}")
            for i in range(min({PER_BLUEPRINT}, {routes} - b * {PER_BLUEPRINT})):
                bp.add_url_rule(f"/items{{i}}/<int:item_id>", f"view_{{i}}", make_view(i),
                                methods=["GET", "PUT"] if i % 3 == 0 else None)
            app.register_blueprint(bp)
    ''')


def record(routes: int) -> tuple[Trace, float]:
    """The trace of the generated app with a matched GET (id 0) and a refused POST (id 1)."""
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "bench_graph_app.py"
        module.write_text(app_source(routes))
        start = time.perf_counter()
        recording = record_app(str(module), [RequestSpec("GET", "/bp1/items7/42"),
                                             RequestSpec("POST", "/bp1/items7/42")])
        elapsed = time.perf_counter() - start
    sys.modules.pop("bench_graph_app", None)
    if recording.app_error:
        raise SystemExit(f"the generated app failed: {recording.app_error}")
    return recording.trace, elapsed


def median_seconds(work: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dot", action="store_true", help="also time dot -Tsvg once")
    args = parser.parse_args()

    trace, recording = record(args.routes)
    assert trace.requests[0].status == 200 and trace.requests[1].status == 405
    cases: list[tuple[str, Callable[[], object]]] = [
        ("routes", lambda: build(trace, "routes", use_request=False).source),
        ("routes + request", lambda: build(trace, "routes", request_id=0).source),
        ("routes + 405", lambda: build(trace, "routes", request_id=1).source),
        ("decorators", lambda: build(trace, "decorators", use_request=False).source),
        ("calls", lambda: build(trace, "calls", request_id=0).source),
    ]
    print(f"{len(trace.routes)} routes recorded in {recording:.2f} s "
          f"(registration, not timed below); median of {args.rounds} rounds")
    print(f"{'graph':<18} {'median':>10} {'DOT size':>10} {'of the 1 s budget':>18}")
    for name, work in cases:
        seconds = median_seconds(work, args.rounds)
        size = len(work())
        print(f"{name:<18} {seconds * 1000:>8.1f} ms {size / 1024:>7.0f} KiB "
              f"{seconds / BUDGET_ROUTES:>17.2f}x")
    if args.dot:
        if shutil.which("dot") is None:
            print("dot: not installed, skipped")
        else:
            source = build(trace, "routes", use_request=False).source
            start = time.perf_counter()
            subprocess.run(["dot", "-Tsvg", "-o", "/dev/null"], input=source.encode(),
                           check=True)
            print(f"{'dot -Tsvg (routes)':<18} {time.perf_counter() - start:>8.1f} s  "
                  "(Graphviz's time, not ours)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
