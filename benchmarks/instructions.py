"""Instructions per request under each recording mode, counted by valgrind's callgrind.

Wall-clock times on a shared two-core machine move by tens of percent between runs;
instruction counts do not, so they settle an A/B that timings cannot. They leave out
cache and memory effects, so they complement `bench_tracer.py`, never replace it.

    python benchmarks/instructions.py [--requests 10] [--python PATH] [--modes hooks,lines]
                                      [--without view-chain,reprs,...]

Each mode runs twice under callgrind, with no measured request and with `--requests`
requests after the same warm-up; the difference divided by the count is one request.
Beside hook and line mode it counts their floors (`floors.py`): the hooks installed but
passing every call through, and Python callbacks that receive the line events of our scope
and do nothing, or only find their frame. `--without` counts hook mode again with one piece
taken away at a time (`ablations.py`): what that piece costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

from ablations import ABLATIONS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: Serves GET /index of the seed's class-based view: `python -c CHILD mode count`. Hook and
#: line mode run in the flow `flaskscope trace` has (bench_tracer.py's): hooks installed,
#: then the app imported under them, then the requests, all in one recording; an app
#: registered under an earlier recorder has no generated `view` step, and on 3.11 no
#: catching window around the view.
CHILD = """
import os, sys
sys.path[:0] = [{root!r}, os.path.join({root!r}, "benchmarks")]
import bench_tracer, tracer
from tracer.api import default_scope
mode, count = sys.argv[1], int(sys.argv[2])
if mode.startswith("hooks without "):  # one piece of hook mode taken away (ablations.py)
    import ablations
    ablations.apply([mode.removeprefix("hooks without ")])
    mode = "hooks"
scope = default_scope([os.path.join({root!r}, "fixtures")])
make_call = lambda: bench_tracer.server_call(bench_tracer.load_seed_app(), "/index")
import contextlib, floors
if mode in ("hooks", "lines"):
    recording = (bench_tracer.hook_mode if mode == "hooks" else bench_tracer.line_mode)(make_call)
else:
    call = make_call()
    app = call.app
    recording = {{
        "untraced": contextlib.nullcontext,
        "pass-through": floors.pass_through,
        "line events": lambda: floors.line_events(scope, app),
        "frame lookup": lambda: floors.frame_lookup(scope, app),
    }}[mode]()
with recording as recorded:
    call = recorded or call
    for _ in range(8):
        call()
    if "--no-gc" in sys.argv:
        import gc
        gc.collect()
        gc.disable()
    for _ in range(count):
        call()
"""

#: Recording modes, each beside its floor (see floors.py).
MODES = ("untraced", "pass-through", "hooks", "line events", "frame lookup", "lines")


def instructions(python: str, mode: str, count: int, no_gc: bool) -> int:
    """Instructions the whole child process executed (callgrind's total)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", python, "-c",
             CHILD.format(root=ROOT), mode, str(count), *(["--no-gc"] if no_gc else [])],
            check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        with open(out, encoding="utf-8") as handle:
            for line in handle:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise RuntimeError("callgrind wrote no total")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--no-gc", action="store_true",
                        help="collector off while measuring: when it runs shifts with every "
                             "allocation, which moves counts by a few percent between "
                             "otherwise equal runs")
    parser.add_argument("--modes", default=",".join(MODES),
                        help=f"which to count, comma-separated (of {', '.join(MODES)})")
    parser.add_argument("--without", default="",
                        help="also count hook mode with each of these pieces taken away, "
                             f"one at a time (of {', '.join(ABLATIONS)})")
    args = parser.parse_args()
    modes = [mode for mode in MODES if mode in args.modes.split(",")]
    if "untraced" not in modes:
        modes.insert(0, "untraced")  # every ratio is to it
    for piece in filter(None, args.without.split(",")):
        if piece not in ABLATIONS:
            sys.exit(f"--without: no piece named {piece!r} (of {', '.join(ABLATIONS)})")
        modes.append(f"hooks without {piece}")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind")
    runs = [(mode, count) for mode in modes for count in (0, args.requests)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = pool.map(lambda run: instructions(args.python, *run, args.no_gc), runs)
        totals = dict(zip(runs, counts, strict=True))
    per_request = {mode: (totals[mode, args.requests] - totals[mode, 0]) / args.requests
                   for mode in modes}
    collector = ", collector off" if args.no_gc else ""
    print(f"GET /index, instructions per request ({args.requests} requests{collector}, "
          "callgrind)")
    width = max(14, *(len(mode) + 1 for mode in modes))
    for mode in modes:
        ratio = per_request[mode] / per_request["untraced"]
        print(f"  {mode:<{width}}{per_request[mode] / 1e6:>9.2f} M{ratio:>9.2f}×")


if __name__ == "__main__":
    main()
