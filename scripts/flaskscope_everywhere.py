"""A pytest plugin that records every Flask app of a test session with flaskscope.

Used by scripts/flask_suite.sh to run Flask's own test suite with recording installed
process-wide (hook mode, or line mode with FLASKSCOPE_LINES=1) and compare outcomes.

With FLASKSCOPE_ORACLE=1 the oracle (tests/oracle) watches every request too, the app's code
being the suite's `tests` directory, and when the session ends every recorded request is
checked against what it saw. The closing note gives the counts and compares the
disagreements with the known ones (tests/oracle/flask_suite_known.tsv): each new one, and
each known one that no longer occurs, is printed. FLASKSCOPE_ORACLE_REPORT names a file
that gets them all, one per line, in the known list's form.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import tracer

_ROOT = Path(__file__).resolve().parents[1]
_state: dict[str, Any] = {"test": ""}


def pytest_configure(config: Any) -> None:
    tracer.install(lines=bool(os.environ.get("FLASKSCOPE_LINES")))
    if os.environ.get("FLASKSCOPE_ORACLE"):
        _start_oracle(config)


def _start_oracle(config: Any) -> None:
    sys.path.append(str(_ROOT / "tests"))
    from oracle import Observer

    observer = Observer([str(Path(config.rootpath) / "tests")], label=lambda: _state["test"])
    observer.start()
    _state["observer"] = observer


def pytest_runtest_setup(item: Any) -> None:
    _state["test"] = item.nodeid


def pytest_unconfigure(config: Any) -> None:
    recorder = tracer.installed()
    if recorder is not None:
        print(f"\nflaskscope recorded {len(recorder.requests)} requests; "
              f"recorder errors: {recorder.errors}")
        for sample in recorder.error_samples:
            print(f"recorder error: {sample}")
        observer = _state.pop("observer", None)
        if observer is not None:
            observer.stop()
            _close_oracle(recorder, observer)
    tracer.uninstall()


def _close_oracle(recorder: Any, observer: Any) -> None:
    from oracle import check_requests

    report = check_requests(recorder.trace().requests, observer.take())
    mode = "lines" if os.environ.get("FLASKSCOPE_LINES") else "hooks"
    seen = {_signature(mode, d) for d in report.disagreements}
    known = _known(mode)
    new, fixed = sorted(seen - known), sorted(known - seen)
    print(f"{report.summary(apps=observer.apps)} ({len(seen & known)} known, {len(new)} new, "
          f"{len(fixed)} known that now agree)")
    for line in new:
        print(f"oracle new: {line}")
    for line in fixed:
        print(f"oracle agrees now (remove it from {_KNOWN.name}): {line}")
    path = os.environ.get("FLASKSCOPE_ORACLE_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(f"{line}\n" for line in sorted(seen))


#: Disagreements already reported (flaskscope bugs), one per line: mode, test, request,
#: kind and message, with step ids and line numbers left out.
_KNOWN = _ROOT / "tests" / "oracle" / "flask_suite_known.tsv"


def _signature(mode: str, disagreement: Any) -> str:
    request = re.sub(r"^#\d+ ", "", disagreement.request)
    message = re.sub(r"step \d+", "step N", disagreement.message)
    message = re.sub(r"\.py:\d+", ".py", message)
    return "\t".join((mode, disagreement.label, request, disagreement.kind, message))


def _known(mode: str) -> set[str]:
    if not _KNOWN.exists():
        return set()
    lines = _KNOWN.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line.startswith(f"{mode}\t")}
