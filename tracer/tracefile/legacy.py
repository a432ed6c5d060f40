"""Readers of trace files written before version 3: one JSON document per file.

Version 1 spelled every step out as an object; version 2 stored steps as compact arrays
pointing into file, name and value tables. Both load into the same `Trace`; nothing
writes them any more.
"""

from __future__ import annotations

from typing import Any

from tracer.errors import TraceFileError
from tracer.model import Registration, Step, Trace
from tracer.steptable import KINDS_BY_CODE
from tracer.tracefile.records import request_from, route_from, source_from, table_entry
from tracer.tracefile.schemacheck import shown

_STEP_KINDS = frozenset({"call", "return", "exception", "note", "line"})


def from_v2(document: dict) -> Trace:
    files, names, values = document["files"], document["names"], document["values"]
    registration = document["registration"]
    return Trace(
        meta=document["meta"],
        routes=tuple(route_from(route) for route in document["routes"]),
        registration=Registration(
            steps=_rows(registration["steps"], files, names, values,
                        registration.get("start_ns", 0),
                        registration.get("thread", 0), "registration"),
            dropped_steps=registration.get("dropped_steps", 0),
        ),
        requests=tuple(
            request_from(request, _rows(request["steps"], files, names, values,
                                    request.get("start_ns", 0),
                                    request.get("thread", 0), f"request {request['id']}"))
            for request in document["requests"]
        ),
        sources={
            table_entry(files, int(index), "file"): source_from(source)
            for index, source in document["sources"].items()
        },
    )


def from_v1(document: dict) -> Trace:
    """Version 1: steps were objects with their paths spelled out."""
    registration = document["registration"]
    return Trace(
        meta=document["meta"],
        routes=tuple(route_from(route) for route in document["routes"]),
        registration=Registration(
            steps=_steps(registration["steps"], "registration"),
            dropped_steps=registration.get("dropped_steps", 0),
        ),
        requests=tuple(
            request_from(request, _steps(request["steps"], f"request {request['id']}"))
            for request in document["requests"]
        ),
        sources={file: source_from(source) for file, source in document["sources"].items()},
    )


def _rows(rows: list, files: list, names: list, values: list, start_ns: int, thread: int,
          where: str) -> tuple[Step, ...]:
    """Version-2 step arrays → steps; every rule of the schema is enforced here."""
    steps: list[Step] = []
    make = Step
    kinds = KINDS_BY_CODE
    time_ns = start_ns
    for position, row in enumerate(rows):
        try:
            if type(row) is not list or not 4 <= len(row) <= 7:
                raise TypeError("a step must be an array of 4 to 7 items")
            if len(row) <= 5:  # name and file are its parent's
                parent, kind, line, offset = row[:4]
                extra = row[4] if len(row) == 5 else _NO_EXTRA
                if kind not in _INHERITING_CODES or type(parent) is not int or not (
                        0 <= parent < position):
                    raise ValueError("a short step must be a return, exception or line step "
                                     "of an earlier step")
                name_text, file_text = steps[parent].name, steps[parent].file
            else:
                parent, kind, name, file, line, offset = row[:6]
                extra = row[6] if len(row) == 7 else _NO_EXTRA
                name_text = table_entry(names, name, "name")
                file_text = None if file is None else table_entry(files, file, "file")
            if parent is not None and (type(parent) is not int or not 0 <= parent < position):
                raise ValueError(f"parent {shown(parent)} is not an earlier step")
            if type(offset) is not int or offset < 0:
                raise TypeError(f"time must be a non-negative whole number, found {shown(offset)}")
            if line is not None and (type(line) is not int or line < 0):
                raise TypeError(f"line must be a non-negative whole number, found {shown(line)}")
            if type(extra) is not dict or extra.keys() - _EXTRA_KEYS:
                raise ValueError("extra must be an object with d, r, f or t")
            detail = extra.get("d", _NO_EXTRA)
            if type(detail) is not dict:
                raise TypeError("detail must be an object")
            if not all(type(v) is str for v in detail.values()):
                detail = {k: v if type(v) is str else table_entry(values, v, "value")
                          for k, v in detail.items()}
            facts = extra.get("f", _NO_EXTRA)
            role = extra.get("r")
            step_thread = extra.get("t", thread)
            if type(facts) is not dict or (role is not None and type(role) is not str) or (
                    type(step_thread) is not int):
                raise TypeError("facts must be an object, role a string, thread a number")
            time_ns += offset
            steps.append(make(position, parent, kinds[kind], name_text, file_text, line,
                              time_ns, step_thread, detail, role, facts))
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceFileError(f"bad step {position} in {where}: {exc}") from None
    return tuple(steps)


_NO_EXTRA: dict[str, Any] = {}
_INHERITING_CODES = frozenset({"r", "x", "l"})
_EXTRA_KEYS = frozenset({"d", "r", "f", "t"})


def _steps(items: list, where: str) -> tuple[Step, ...]:
    """Version-1 step objects → steps."""
    steps = []
    for position, item in enumerate(items):
        try:
            steps.append(_step(item, position))
        except (KeyError, TypeError, ValueError) as exc:
            raise TraceFileError(f"bad step {position} in {where}: {exc}") from None
    return tuple(steps)


def _step(item: Any, position: int) -> Step:
    if not isinstance(item, dict):
        raise TypeError("a step must be an object")
    unknown = item.keys() - _STEP_KEYS
    if unknown:
        raise ValueError(f"unknown field {shown(sorted(unknown)[0])}")
    step_id = _int(item["id"], "id")
    if step_id != position:
        raise ValueError(f"id {step_id} does not match its position {position}")
    parent = item["parent"]
    if parent is not None and not (_int(parent, "parent") < step_id):
        raise ValueError(f"parent {parent} is not an earlier step")
    kind = item["kind"]
    if kind not in _STEP_KINDS:
        raise ValueError(f"unknown kind {shown(kind)}")
    detail = item.get("detail", {})
    if not isinstance(detail, dict) or not all(isinstance(v, str) for v in detail.values()):
        raise TypeError("detail must map names to strings")
    facts = item.get("facts", {})
    if not isinstance(facts, dict):
        raise TypeError("facts must be an object")
    role = item.get("role")
    line = item["line"]
    return Step(
        id=step_id,
        parent=parent,
        kind=kind,
        name=_str(item["name"], "name"),
        file=None if item["file"] is None else _str(item["file"], "file"),
        line=None if line is None else _int(line, "line"),
        time_ns=_int(item["time_ns"], "time_ns"),
        thread=_int(item["thread"], "thread"),
        detail=detail,
        role=None if role is None else _str(role, "role"),
        facts=facts,
    )


_STEP_KEYS = frozenset(
    {"id", "parent", "kind", "name", "file", "line", "time_ns", "thread", "detail", "role",
     "facts"}
)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 and name != "time_ns":
        raise TypeError(f"{name} must be a non-negative whole number, found {shown(value)}")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, found {shown(value)}")
    return value
