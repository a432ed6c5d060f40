"""Fixtures for the report tests: traces recorded once per module."""

from __future__ import annotations

import pytest
from report_traces import hostile_trace, recorded

from tracer.model import Trace


@pytest.fixture(scope="module")
def seed_trace() -> Trace:
    """seed_views in hook mode: GET /index through the class's decorator and MethodView."""
    return recorded("seed_views", "GET /index")


@pytest.fixture(scope="module")
def hostile() -> Trace:
    return hostile_trace()
