"""A recorded trace to store, made once per module (recording imports Flask apps)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tracer.model import Request, Trace

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def recorded() -> Trace:
    """Two requests to the seed app: GET /index (200) and GET /nowhere (404)."""
    from flaskscope.source import parse_request
    from tracer.session import record_app

    recording = record_app(str(REPO_ROOT / "fixtures" / "seed_views.py"),
                           [parse_request(["GET", "/index"]),
                            parse_request(["GET", "/nowhere"])])
    return recording.trace


def tagged(request: Request, tag: str) -> Request:
    """The request as if it had been sent to `/tag`: a path only this copy holds."""
    return replace(request, path=f"/{tag}")
