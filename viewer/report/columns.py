"""A phase's steps as plain columns for the page: what the page's script steps through.

The page gets the same columns the trace file stores (parents, one letter per kind,
names and files by index into tables of their own, lines, roles) and each step's detail
and facts (written as the Locals pane writes them), so its stepping, locals and stack are
computed from the same data the terminal viewer reads. Each phase is a document of its
own: the page parses one only when the reader opens it, and the live page adds them one by
one as requests arrive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tracer.model import Request, SourceFile, Trace
from tracer.paths import short_path
from tracer.steptable import StepTable, as_table

__all__ = ["phase_columns", "phase_tables", "request_summary", "sources_document"]


def request_summary(phase: int, request: Request | None) -> dict[str, Any]:
    """One row of the request list: registration (phase 0) or a request."""
    if request is None:
        return {"phase": phase, "kind": "registration", "label": "registration"}
    return {
        "phase": phase,
        "kind": "request",
        "id": request.id,
        "method": request.method,
        "path": request.path + (f"?{request.query}" if request.query else ""),
        "status": request.status,
        "outcome": request.outcome,
        "endpoint": request.endpoint,
        "duration_ms": round(request.duration_ns / 1e6, 3),
        "steps": len(request.steps),
        "dropped": request.dropped_steps,
    }


def phase_columns(table: StepTable) -> dict[str, Any]:
    """The steps of one phase, column by column, names and files by index."""
    names: dict[str, int] = {}
    files: dict[str, int] = {}
    detail: list[Mapping[str, str] | None] = []
    facts: dict[int, list[list[str]]] = {}
    for step in table:
        detail.append(dict(step.detail) if step.detail else None)
        if step.facts:
            facts[step.id] = [[str(name), _shown(value)] for name, value in step.facts.items()]
    return {
        "count": len(table),
        "parents": [-1 if parent is None else parent for parent in table.parents],
        "kinds": table.kinds,
        "names": [names.setdefault(name, len(names)) for name in table.names],
        "files": [-1 if file is None else files.setdefault(file, len(files))
                  for file in table.files],
        "lines": [0 if line is None else line for line in table.lines],
        "roles": {str(step_id): role for step_id, role in table.roles.items()},
        "name_table": list(names),
        "file_table": list(files),
        "short_files": [short_path(file) for file in files],
        "detail": detail,
        "facts": {str(step_id): value for step_id, value in facts.items()},
    }


def _shown(value: Any) -> str:
    """A fact as the Locals pane writes it (as the terminal viewer does)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def sources_document(sources: Mapping[str, SourceFile]) -> dict[str, dict[str, str]]:
    """The embedded source lines by file, line numbers as keys."""
    return {file: {str(number): text for number, text in source.lines.items()}
            for file, source in sources.items()}


def phase_tables(trace: Trace) -> list[tuple[Request | None, StepTable]]:
    """The registration, then each request, as step tables."""
    return [(None, as_table(trace.registration.steps))] + [
        (request, as_table(request.steps)) for request in trace.requests]
