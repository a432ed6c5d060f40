"""How long explain and check take on the fixture apps (medians of interleaved rounds).

Run: .venv/bin/python benchmarks/bench_explain.py
The machine is shared and noisy; compare ratios, not absolute times across machines.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flaskscope.explain_command import record_with_app  # noqa: E402
from tracer.frameworks.flask.checks.runner import check_app  # noqa: E402
from tracer.frameworks.flask.loading import RequestSpec, load_app  # noqa: E402
from tracer.frameworks.narration.narrative import explain  # noqa: E402
from tracer.frameworks.werkzeug.nomatch import near_misses  # noqa: E402
from viewer.explain.render import plain  # noqa: E402

ROUNDS = 15


def _forget() -> None:
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]


def _fixture(name: str) -> str:
    return str(REPO / "fixtures" / f"{name}.py")


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    _forget()
    trace, _ = record_with_app(_fixture("real_app"), RequestSpec("GET", "/stacked"))
    _forget()
    url_map = load_app(_fixture("real_app")).url_map
    sections = explain(trace)

    def check_once() -> None:
        _forget()
        check_app(_fixture("real_app"))

    def record_once() -> None:
        _forget()
        record_with_app(_fixture("real_app"), RequestSpec("GET", "/stacked"))

    cases: dict[str, Callable[[], object]] = {
        "explain: build items (real_app GET /stacked)": lambda: explain(trace),
        "explain: write plain, en": lambda: plain(sections, "en", sources=trace.sources),
        "explain: write plain, zh": lambda: plain(sections, "zh", sources=trace.sources),
        "near_misses (real_app map, /items/abc)": lambda: near_misses(url_map, "/items/abc",
                                                                      "GET"),
        "record real_app + GET /stacked (for scale)": record_once,
        "check real_app (import, record, all checks)": check_once,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, work in cases.items():
            times[name].append(_timed(work))
    base = statistics.median(times["record real_app + GET /stacked (for scale)"])
    print(f"{'case':<46} {'median ms':>10} {'vs record':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<46} {median:>10.2f} {median / base:>9.2f}x")
    print(f"({ROUNDS} interleaved rounds, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
