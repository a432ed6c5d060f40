"""Run Django's own `tests/runtests.py` with flaskscope recording installed process-wide.

Used by scripts/django_suite.sh: `python scripts/django_everywhere.py RUNTESTS_ARGS...`,
from the `tests` directory of Django's sdist. The hooks go in before Django sets itself up
(as `flaskscope trace` does), every request Django's test client sends is recorded, and the
closing line gives the counts: requests recorded, recorder errors.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tracer  # noqa: E402


def _report() -> None:
    recorder = tracer.installed()
    if recorder is None:
        return
    django_requests = sum(1 for r in recorder.requests if r.info.get("framework") == "django")
    print(f"\nflaskscope recorded {len(recorder.requests)} requests "
          f"({django_requests} through Django's handler); recorder errors: {recorder.errors}",
          file=sys.stderr)
    for sample in recorder.error_samples:
        print(f"flaskscope recorder error: {sample}", file=sys.stderr)


def main() -> None:
    tracer.install(lines=bool(os.environ.get("FLASKSCOPE_LINES")))
    atexit.register(_report)
    sys.argv = ["runtests.py", *sys.argv[1:]]
    sys.path.insert(0, os.getcwd())
    runpy.run_path("runtests.py", run_name="__main__")


if __name__ == "__main__":
    main()
