"""Helpers for the integration tests: record fixture traces and check trace-event JSON."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any

from flaskscope_testing import record_fixture

from tracer.model import Trace

#: Phases of the trace-event format this checker knows.
PHASES = {"X", "B", "E", "i", "I", "M"}
METADATA = {"process_name", "thread_name", "thread_sort_index", "process_sort_index"}


def recorded(name: str, *requests: str, **options: Any) -> Trace:
    """A fixture app's trace; fails the test if the app does not load."""
    recording = record_fixture(name, *requests, **options)
    assert recording.app_error is None, recording.app_error
    return recording.trace


def check_trace_events(document: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Assert that `document` is well-formed trace-event JSON with consistent nesting.

    Every event has a name, a known phase, integer pid/tid and finite non-negative times;
    X events have a non-negative `dur`; B/E pairs match per track; on each track the
    complete events nest (one inside the other or one after the other, never crossing);
    every track that holds events is named by a `thread_name` metadata event. Returns
    the X and i events per track, sorted by start.
    """
    json.loads(json.dumps(document, allow_nan=False))  # plain JSON: no NaN, no objects
    events = document["traceEvents"]
    assert isinstance(events, list) and events
    named: set[tuple[int, int]] = set()
    spans: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    instants: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    open_b: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        assert isinstance(event.get("name"), str) and event["name"], event
        assert event.get("ph") in PHASES, event
        assert isinstance(event.get("pid"), int) and isinstance(event.get("tid"), int), event
        track = (event["pid"], event["tid"])
        if event["ph"] == "M":
            assert event["name"] in METADATA, event
            assert isinstance(event.get("args"), dict), event
            if event["name"] == "thread_name":
                assert isinstance(event["args"].get("name"), str)
                named.add(track)
            continue
        ts = event.get("ts")
        assert isinstance(ts, int | float) and math.isfinite(ts) and ts >= 0, event
        if "args" in event:
            assert isinstance(event["args"], dict), event
        if event["ph"] == "X":
            dur = event.get("dur")
            assert isinstance(dur, int | float) and math.isfinite(dur) and dur >= 0, event
            spans[track].append(event)
        elif event["ph"] == "B":
            open_b[track].append(event)
        elif event["ph"] == "E":
            assert open_b[track], f"E without B on {track}: {event}"
            begin = open_b[track].pop()
            assert event["ts"] >= begin["ts"], (begin, event)
            spans[track].append({**begin, "ph": "X", "dur": event["ts"] - begin["ts"]})
        else:
            assert event.get("s", "t") in ("t", "p", "g"), event
            instants[track].append(event)
    assert not any(open_b.values()), "B events without E"
    for track in set(spans) | set(instants):
        assert track in named, f"track {track} has events but no thread_name"
    by_track: dict[int, list[dict[str, Any]]] = {}
    for track, items in spans.items():
        items.sort(key=lambda e: (e["ts"], -e["dur"], e.get("args", {}).get("step", 0)))
        stack: list[dict[str, Any]] = []
        for event in items:
            start, end = event["ts"], event["ts"] + event["dur"]
            while stack:
                outer = stack[-1]
                outer_end = outer["ts"] + outer["dur"]
                if end <= outer_end + 1e-6:
                    break  # inside the outer event (sorted by start, so it starts later)
                assert outer_end <= start + 1e-6, (
                    f"events cross on track {track}: {outer['name']} and {event['name']}")
                stack.pop()
            event["_outer"] = stack[-1] if stack else None
            stack.append(event)
        by_track[track[1]] = items
    for track, items in instants.items():
        by_track.setdefault(track[1], []).extend(items)
    return by_track
