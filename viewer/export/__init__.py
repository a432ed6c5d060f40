"""Exports of a trace for tools outside flaskscope: Perfetto / Chrome tracing, a pytest
test replaying a request, and the equivalent curl command.

Each exporter is a pure function from a `Trace` to text; only `flaskscope.export_command`
reads sources, writes files and prints.
"""

from __future__ import annotations

from viewer.export.curl import curl_commands
from viewer.export.perfetto import trace_events
from viewer.export.pytest_export import pytest_file
from viewer.export.replay import Exported, ExportError, Replay, replay_of, select_requests

__all__ = [
    "ExportError",
    "Exported",
    "Replay",
    "curl_commands",
    "pytest_file",
    "replay_of",
    "select_requests",
    "trace_events",
]
