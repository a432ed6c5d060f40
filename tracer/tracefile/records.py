"""The records every version of the trace file spells the same way: routes, requests,
embedded sources, and a checked look-up in a string table. Read by the current reader
(`tracer.tracefile`) and the legacy ones (`tracer.tracefile.legacy`) alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tracer.model import ChainLink, DecoratorAboveRoute, Request, Route, SourceFile, Step
from tracer.tracefile.schemacheck import shown


def source_from(data: Mapping[str, Any]) -> SourceFile:
    lines = data["lines"]
    if not (all(type(text) is str for text in lines.values())
            and all(number.isdecimal() and number.isascii() and number[0] != "0"
                    for number in lines)):
        raise ValueError("source lines must map line numbers to strings")
    return SourceFile(
        sha256=data["sha256"],
        lines={int(number): text for number, text in data["lines"].items()},
    )


def table_entry(table: list, index: Any, what: str) -> str:
    """`table[index]`, checked: a ValueError/TypeError names the table otherwise."""
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(table):
        raise ValueError(f"{what} index {shown(index)} is not in the {what} table")
    value = table[index]
    if not isinstance(value, str):
        raise TypeError(f"{what} table entry {index} is not a string")
    return value


def route_from(data: Mapping[str, Any]) -> Route:
    return Route(
        rule=data["rule"],
        endpoint=data["endpoint"],
        methods=tuple(data["methods"]),
        blueprint=data["blueprint"],
        chain=tuple(
            ChainLink(
                kind=link["kind"],
                name=link["name"],
                qualname=link["qualname"],
                file=link["file"],
                line=link["line"],
                wraps=link.get("wraps"),
                origin=link.get("origin"),
                decorator=link.get("decorator"),
                expression=link.get("expression"),
                occurrence=link.get("occurrence"),
            )
            for link in data["chain"]
        ),
        automatic_methods=tuple(data.get("automatic_methods", ())),
        app=data.get("app"),
        strict_slashes=data.get("strict_slashes", True),
        redirect_to=data.get("redirect_to"),
        decorators_above_route=tuple(
            DecoratorAboveRoute(decorator=above["decorator"], qualname=above["qualname"],
                                file=above["file"], line=above["line"])
            for above in data.get("decorators_above_route", ())
        ),
    )


def request_from(data: Mapping[str, Any], steps: Sequence[Step]) -> Request:
    return Request(
        id=data["id"],
        method=data["method"],
        path=data["path"],
        status=data["status"],
        endpoint=data["endpoint"],
        rule=data["rule"],
        view_args=data["view_args"],
        outcome=data["outcome"],
        steps=steps,
        query=data.get("query", ""),
        allowed_methods=tuple(data.get("allowed_methods", ())),
        redirect_to=data.get("redirect_to"),
        error=data.get("error"),
        start_ns=data.get("start_ns", 0),
        duration_ns=data.get("duration_ns", 0),
        thread=data.get("thread", 0),
        dropped_steps=data.get("dropped_steps", 0),
    )
