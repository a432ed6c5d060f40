"""`flaskscope trace APP GET /path --lines` on a real app of 50+ routes, process start to exit.

Run `python benchmarks/bench_trace_command.py` (`--runs N`). httpbin (61 routes; the
`corpus` extra) is imported under the recorder with every line of Flask, Werkzeug and
httpbin traced, one request is sent, every step is printed (to a pipe, as a script reading
the output gets it) and the trace is written: the whole command from a fresh process,
median of `--runs`. Beside it, what no recorder can beat: a fresh process importing the app
and sending the same request through Flask's test client.

The compiled-core issue's target: <= 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))
APP, PATH = "httpbin.core:app", "/get"
TARGET_SECONDS = 3.0

#: The untraced baseline: import the app, send the request, print how many rules it has.
UNTRACED = """
import importlib
module, name = {app!r}.split(":")
app = getattr(importlib.import_module(module), name)
assert app.test_client().get({path!r}).status_code == 200
print(len(list(app.url_map.iter_rules())))
"""


def timed(command: list[str]) -> tuple[float, str]:
    """Seconds from starting `command` to its exit, and what it printed (checked: exit 0)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])}... failed: {done.stderr.strip()[-300:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    try:
        import httpbin  # noqa: F401  (only whether it is installed)
    except ImportError:
        print("httpbin is not installed (pip install -e '.[corpus]'): skipped")
        return
    untraced, traced = [], []
    routes = "?"
    with tempfile.TemporaryDirectory() as scratch:
        output = str(Path(scratch) / "trace.json")
        for _ in range(args.runs):  # alternating, so that a slow minute hits both
            seconds, printed = timed([sys.executable, "-c", UNTRACED.format(app=APP, path=PATH)])
            untraced.append(seconds)
            routes = printed.strip()
            seconds, _ = timed([FLASKSCOPE, "trace", APP, "GET", PATH, "--lines", "-o", output])
            traced.append(seconds)
    median = statistics.median(traced)
    print(f"flaskscope trace {APP} GET {PATH} --lines ({routes} routes), process start to "
          f"exit, median of {args.runs}")
    print(f"  untraced: import + one request     {statistics.median(untraced):6.2f} s")
    print(f"  flaskscope trace --lines           {median:6.2f} s   target <= "
          f"{TARGET_SECONDS:.0f} s: {'met' if median <= TARGET_SECONDS else 'NOT met'}")
    print("  runs: " + " ".join(f"{seconds:.2f}" for seconds in sorted(traced)))


if __name__ == "__main__":
    main()
