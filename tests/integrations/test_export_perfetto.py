"""Perfetto / Chrome trace-event export: well-formed events that nest like the call tree."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT
from integration_helpers import check_trace_events, recorded

from flaskscope.cli import cli
from tracer.model import Request, Step, Trace
from viewer.export import trace_events


def _nearest_call_on_thread(steps: tuple[Step, ...], step: Step) -> int | None:
    parent = step.parent
    while parent is not None:
        if steps[parent].kind == "call" and steps[parent].thread == step.thread:
            return parent
        parent = steps[parent].parent
    return None


@pytest.fixture(scope="module")
def real_app_trace() -> Trace:
    return recorded("real_app", "GET /stacked", "GET /async", "GET /boom", "GET /nowhere",
                    "GET /docs", "POST /stacked", "GET /crash")


def test_every_call_is_one_complete_event_nested_like_the_call_tree(real_app_trace) -> None:
    document = trace_events(real_app_trace)
    tracks = check_trace_events(document)
    names = {event["tid"]: event["args"]["name"] for event in document["traceEvents"]
             if event["name"] == "thread_name"}
    phases = [("registration", real_app_trace.registration.steps)] + [
        (f"#{r.id} {r.method} {r.path}", r.steps) for r in real_app_trace.requests]
    for title, steps in phases:
        phase_tids = [tid for tid, name in names.items() if name.startswith(title)]
        assert phase_tids, title
        spans = [e for tid in phase_tids for e in tracks.get(tid, []) if e["ph"] == "X"]
        calls = [s for s in steps if s.kind == "call"]
        assert sorted(e["args"]["step"] for e in spans) == [s.id for s in calls], title
        for event in spans:
            step = steps[event["args"]["step"]]
            assert event["name"] == step.name
            outer = event["_outer"]
            assert (outer["args"]["step"] if outer else None) == \
                _nearest_call_on_thread(steps, step), (title, step.name)
        instants = [e for tid in phase_tids for e in tracks.get(tid, []) if e["ph"] == "i"]
        assert len(instants) == sum(s.kind in ("note", "line") for s in steps), title


def test_times_are_microseconds_from_the_step_times(real_app_trace) -> None:
    document = trace_events(real_app_trace)
    base = real_app_trace.registration.steps[0].time_ns
    request = real_app_trace.requests[0]
    call = request.steps[0]
    end = next(s for s in request.steps if s.parent == call.id and s.kind == "return")
    event = next(e for e in document["traceEvents"] if e["ph"] == "X"
                 and e["name"] == call.name and e["args"]["step"] == call.id
                 and e["args"].get("role") == "request" and e["ts"] >= (call.time_ns - base)
                 / 1000 - 0.001)
    assert event["ts"] == pytest.approx((call.time_ns - base) / 1000, abs=0.001)
    assert event["dur"] == pytest.approx((end.time_ns - call.time_ns) / 1000, abs=0.002)
    assert event["args"]["returned"] == end.detail["result"]
    assert event["args"]["facts"]["path"] == "/stacked"


def test_each_request_has_its_own_named_track_and_a_second_for_another_thread(
        real_app_trace) -> None:
    document = trace_events(real_app_trace)
    names = [e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"]
    for request in real_app_trace.requests:
        assert any(name.startswith(f"#{request.id} {request.method} {request.path} → ")
                   for name in names)
    asynchronous = next(r for r in real_app_trace.requests if r.path == "/async")
    threads = {s.thread for s in asynchronous.steps}
    assert len(threads) >= 2  # asgiref runs the coroutine on a worker thread
    assert sum(name.startswith(f"#{asynchronous.id} GET /async") for name in names) == \
        len(threads)


def test_raised_exceptions_and_facts_are_in_the_args(real_app_trace) -> None:
    document = trace_events(real_app_trace)
    boom = next(r for r in real_app_trace.requests if r.path == "/boom")
    raised = [e for e in document["traceEvents"] if e["ph"] == "X" and "raised" in e["args"]
              and e["args"]["step"] < len(boom.steps)
              and boom.steps[e["args"]["step"]].name == e["name"]]
    assert any("ValueError" in e["args"]["raised"] for e in raised)
    match = next(e for e in document["traceEvents"] if e["ph"] == "X"
                 and e["args"].get("role") == "match"
                 and e["args"].get("facts", {}).get("outcome") == "not_found")
    assert match["args"]["facts"]["matched"] is False


def test_line_steps_are_instants_inside_their_function() -> None:
    trace = recorded("seed_views", "GET /index", lines=True)
    tracks = check_trace_events(trace_events(trace, request_id=0))
    events = [e for items in tracks.values() for e in items]
    lines = [e for e in events if e["ph"] == "i" and e["name"].startswith("line ")]
    assert len(lines) == sum(s.kind == "line" for s in trace.requests[0].steps) > 10
    spans = {e["args"]["step"]: e for e in events if e["ph"] == "X"}
    steps = trace.requests[0].steps
    for event in lines:
        step = steps[event["args"]["step"]]
        owner = spans[_nearest_call_on_thread(steps, step)]
        assert owner["ts"] <= event["ts"] <= owner["ts"] + owner["dur"] + 1e-6


def test_a_call_left_open_still_covers_what_ran_inside() -> None:
    steps = (
        Step(0, None, "call", "outer", "/app.py", 1, 1_000, 7, role="request"),
        Step(1, 0, "call", "inner", "/app.py", 5, 2_000, 7),
        Step(2, 1, "note", "fact", None, None, 2_500, 7, role="match", facts={"a": 1}),
        Step(3, 1, "return", "inner", "/app.py", 6, 3_000, 7, detail={"result": "1"}),
        Step(4, 0, "call", "late", "/app.py", 9, 9_000, 7),  # never closed: steps dropped
    )
    request = Request(0, "GET", "/", 200, None, None, {}, "ok", steps, thread=7,
                      dropped_steps=3)
    trace = recorded("seed_views")
    trace = replace(trace, requests=(request,))
    tracks = check_trace_events(trace_events(trace, request_id=0))
    (events,) = tracks.values()
    by_step = {e["args"]["step"]: e for e in events}
    assert by_step[0]["ts"] == 0 and by_step[0]["dur"] == 8.0  # to the last step inside
    assert by_step[1]["dur"] == 1.0 and by_step[1]["_outer"] is by_step[0]
    assert by_step[4]["dur"] == 0 and by_step[4]["_outer"] is by_step[0]
    assert by_step[2]["ph"] == "i" and by_step[2]["args"]["facts"] == {"a": 1}


def test_one_request_only_and_a_missing_one() -> None:
    trace = recorded("seed_views", "GET /index", "POST /index")
    document = trace_events(trace, request_id=1)
    names = [e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"]
    assert names == ["#1 POST /index → 405"]
    with pytest.raises(KeyError, match="requests: 0, 1"):
        trace_events(trace, request_id=9)


def test_the_export_command_writes_perfetto_json(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    out = tmp_path / "trace.json"
    result = CliRunner().invoke(cli, ["export", "fixtures/seed_views.py", "GET", "/index",
                                      "--format", "perfetto", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "ui.perfetto.dev" in result.output
    check_trace_events(json.loads(out.read_text()))
    result = CliRunner().invoke(cli, ["export", str(out), "--format", "perfetto"])
    assert result.exit_code == 2
    assert "flaskscope: error:" in result.output and "trace" in result.output
    saved = tmp_path / "saved.json"
    CliRunner().invoke(cli, ["trace", "fixtures/seed_views.py", "GET", "/index", "-o",
                             str(saved)])
    result = CliRunner().invoke(cli, ["export", str(saved), "--format", "perfetto",
                                      "--request", "4"])
    assert result.exit_code == 2
    assert result.output.strip().endswith("pick one with --request N")
