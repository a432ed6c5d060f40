"""A pytest plugin that records every Flask app of a test session with flaskscope.

Used by scripts/flask_suite.sh to run Flask's own test suite with recording installed
process-wide (hook mode, or line mode with FLASKSCOPE_LINES=1) and compare outcomes.
"""

from __future__ import annotations

import os

import tracer


def pytest_configure(config) -> None:
    tracer.install(lines=bool(os.environ.get("FLASKSCOPE_LINES")))


def pytest_unconfigure(config) -> None:
    recorder = tracer.installed()
    if recorder is not None:
        print(f"\nflaskscope recorded {len(recorder.requests)} requests; "
              f"recorder errors: {recorder.errors}")
    tracer.uninstall()
