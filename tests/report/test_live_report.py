"""The live page's data: each request added becomes the next phase and one message, and a
page built later holds every request so far."""

from __future__ import annotations

from dataclasses import replace

from page_parts import read_page

from flaskscope.report_command import narrator
from tracer.model import Trace
from viewer.report.live import LiveReport


def test_requests_arrive_as_phases(seed_trace: Trace) -> None:
    live = LiveReport(replace(seed_trace, requests=()), narrator, lang="en", title="live")
    first = live.add(seed_trace)
    second = live.add(seed_trace)
    assert [m["summary"]["phase"] for m in first + second] == [1, 2]
    assert first[0]["phase"]["count"] == len(seed_trace.requests[0].steps)
    assert live.since(1) == second
    page = live.page()
    parsed = read_page(page)
    policy = next(m.attrs["content"] for m in parsed.all("meta") if m.attrs.get("http-equiv"))
    assert '"live":true' in page and "connect-src 'self'" in policy
    scripts = [e for e in parsed.all("script") if e.attrs.get("id")]
    assert [e.attrs["id"] for e in scripts] == ["fs-head", "fs-phase-0", "fs-phase-1",
                                                "fs-phase-2"]
