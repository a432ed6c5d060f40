"""Run Tornado's own tests (`tornado.test.runtests`) with flaskscope's recording installed
process-wide, then say what it recorded.

Used by scripts/tornado_suite.sh, which runs the same tests plain and compares every test's
outcome. FLASKSCOPE_LINES=1 records every line run too (line mode). Usage: python scripts/tornado_everywhere.py [runtests arguments], for example
`--verbose tornado.test.web_test`. The closing line (on stdout, which Tornado's runner
does not count as stray output) gives the requests recorded, the recorder's own errors
and the requests still open when the tests ended.
"""

from __future__ import annotations

import atexit
import os
import sys

import tracer
from tracer.frameworks import active_hooks


def _report() -> None:
    recorder = tracer.installed()
    if recorder is None:
        return
    hooks = active_hooks("tornado")
    left_open = hooks.open_requests() if hooks is not None else "?"
    trace = recorder.trace()
    print(f"flaskscope recorded {len(trace.requests)} requests; recorder errors: "
          f"{recorder.errors}; requests left open: {left_open}", file=sys.__stdout__)
    for sample in recorder.error_samples:
        print(f"flaskscope recorder error: {sample}", file=sys.__stdout__)
    tracer.uninstall()


def main() -> None:
    tracer.install(lines=bool(os.environ.get("FLASKSCOPE_LINES")))
    atexit.register(_report)
    sys.argv = ["tornado.test.runtests", *sys.argv[1:]]
    from tornado.test.runtests import main as run_tests

    run_tests()


if __name__ == "__main__":
    main()
