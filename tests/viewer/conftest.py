"""Fixtures for the viewer tests: fixture-app traces recorded once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from viewer_traces import ROOT, line_trace, record

from tracer.model import Trace


@pytest.fixture(scope="module")
def views_trace() -> Trace:
    """seed_views: GET, HEAD (falls back to get), POST (405) and OPTIONS /index."""
    return record("seed_views", "GET /index", "HEAD /index", "POST /index", "OPTIONS /index")


@pytest.fixture(scope="module")
def real_trace() -> Trace:
    """real_app: a redirect, a 404 with a handler, an error handler, a decorated view."""
    return record("real_app", "GET /docs", "GET /nowhere", "GET /boom", "GET /dashboard")


@pytest.fixture(name="line_trace")
def line_trace_fixture() -> Trace:
    """One request running `total([1, 2])` line by line (hand-built)."""
    return line_trace()


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run from the repository root, so app files show as `fixtures/...`."""
    monkeypatch.chdir(ROOT)
    yield
