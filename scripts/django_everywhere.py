"""Run Django's own `tests/runtests.py` with flaskscope recording installed process-wide.

Used by scripts/django_suite.sh: `python scripts/django_everywhere.py RUNTESTS_ARGS...`,
from the `tests` directory of Django's sdist. The hooks go in before Django sets itself up
(as `flaskscope trace` does), every request Django's test client sends is recorded, and the
closing line gives the counts: requests recorded, recorder errors.

The oracle shares no code with the recorder: each response the test client hands a test
is compared with the request recorded for it (status; the route and URL name Django's own
`response.resolver_match` gives). The count of disagreements closes the report.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tracer  # noqa: E402


_oracle = {"checked": 0, "disagreements": []}


def _check_client() -> None:
    """Wrap the test client's `request` to compare each response with its record."""
    from django.test.client import Client

    original = Client.request

    def request(self, **request):  # type: ignore[no-untyped-def]
        recorder = tracer.installed()
        before = len(recorder.requests) if recorder is not None else 0
        response = original(self, **request)
        if recorder is not None and len(recorder.requests) == before + 1:
            _compare(response, recorder.requests[-1].info)
        return response

    Client.request = request


def _compare(response, info) -> None:  # type: ignore[no-untyped-def]
    from django.urls import Resolver404

    _oracle["checked"] += 1
    told = {"status": info.get("status")}
    seen = {"status": response.status_code}
    try:
        match = response.resolver_match
        seen.update(rule=match.route, endpoint=match.view_name)
        told.update(rule=info.get("rule"), endpoint=info.get("endpoint"))
    except (Resolver404, Exception):  # no match: the status alone is compared
        pass
    if told != seen:
        _oracle["disagreements"].append(f"{info.get('method')} {info.get('path')}: "
                                        f"recorded {told}, Django answered {seen}")


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
    wrong = _oracle["disagreements"]
    print(f"oracle: {_oracle['checked']} responses checked against their records, "
          f"{len(wrong)} disagreements", file=sys.stderr)
    for line in wrong[:20]:
        print(f"oracle disagrees: {line}", file=sys.stderr)


def main() -> None:
    tracer.install(lines=bool(os.environ.get("FLASKSCOPE_LINES")))
    atexit.register(_report)
    _check_client()
    sys.argv = ["runtests.py", *sys.argv[1:]]
    sys.path.insert(0, os.getcwd())
    runpy.run_path("runtests.py", run_name="__main__")


if __name__ == "__main__":
    main()
