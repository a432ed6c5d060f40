"""Check a parsed document against one of the trace file's JSON Schemas, quickly.

The schemas in this package are the published contract, and the test suite checks them
with `jsonschema`, the reference implementation. Loading a trace uses this module
instead: importing `jsonschema` costs about 90 ms, a tenth of the viewer's budget for
its first screen, and the trace schemas use only the small part of draft 2020-12 below
(a test keeps both in step: every keyword the schemas use is in `KEYWORDS`, and both
checkers agree on mutated documents).
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping
from functools import cache
from typing import Any

#: The draft 2020-12 keywords this checker understands (annotations included).
KEYWORDS = frozenset({
    "$schema", "$id", "$defs", "$ref", "title", "description",
    "type", "const", "enum", "minimum", "pattern", "oneOf",
    "properties", "required", "additionalProperties", "propertyNames",
    "items", "prefixItems", "minItems", "maxItems",
})

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,), "null": (type(None),),
}


def _bounded_repr() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxlevel, shown.maxstring, shown.maxother, shown.maxlong = 2, 60, 60, 40
    shown.maxlist = shown.maxdict = shown.maxtuple = 4
    return shown


_SHOWN = _bounded_repr()


def shown(value: Any) -> str:
    """A short repr of a document value for an error message: the value may be a string of
    hundreds of megabytes, and `repr(value)[:60]` would copy all of it first."""
    return _SHOWN.repr(value)


class SchemaMismatch(Exception):
    """Where a document departs from the schema (`path`) and how (`message`)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def check(schema: Mapping[str, Any], document: Any, root: Mapping[str, Any] | None = None
          ) -> None:
    """Raise `SchemaMismatch` for the first place `document` breaks `schema`; `root` is
    the schema that `$ref`s point into (default: `schema` itself)."""
    _check(schema, document, (), root if root is not None else schema)


def _check(schema: Mapping[str, Any], value: Any, path: tuple, root: Mapping[str, Any]) -> None:
    if "$ref" in schema:
        _check(_resolve(root, schema["$ref"]), value, path, root)
    if "type" in schema and not _is_type(value, schema["type"]):
        raise SchemaMismatch(path, f"{shown(value)} is not of type {schema['type']!r}")
    if "const" in schema and not _same(value, schema["const"]):
        raise SchemaMismatch(path, f"{schema['const']!r} was expected")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        raise SchemaMismatch(path, f"{shown(value)} is not one of {schema['enum']!r}")
    if "oneOf" in schema:
        passed = sum(_passes(option, value, root) for option in schema["oneOf"])
        if passed != 1:
            raise SchemaMismatch(path, f"{shown(value)} matches {passed} of the alternatives "
                                       "instead of exactly one")
    if _is_type(value, "number") and "minimum" in schema and value < schema["minimum"]:
        raise SchemaMismatch(path, f"{shown(value)} is less than the minimum of "
                                   f"{schema['minimum']}")
    if isinstance(value, str) and "pattern" in schema and not _pattern(
            schema["pattern"]).search(value):
        raise SchemaMismatch(path, f"{shown(value)} does not match {schema['pattern']!r}")
    if isinstance(value, dict):
        _check_object(schema, value, path, root)
    elif isinstance(value, list):
        _check_array(schema, value, path, root)


def _check_object(schema: Mapping[str, Any], value: dict, path: tuple,
                  root: Mapping[str, Any]) -> None:
    for name in schema.get("required", ()):
        if name not in value:
            raise SchemaMismatch(path, f"{name!r} is a required property")
    properties = schema.get("properties", {})
    additional = schema.get("additionalProperties", True)
    names = schema.get("propertyNames")
    for name, item in value.items():
        if names is not None:
            _check(names, name, (*path, name), root)
        if name in properties:
            _check(properties[name], item, (*path, name), root)
        elif additional is False:
            raise SchemaMismatch(path, f"additional property {shown(name)} is not allowed")
        elif additional is not True:
            _check(additional, item, (*path, name), root)


def _check_array(schema: Mapping[str, Any], value: list, path: tuple,
                 root: Mapping[str, Any]) -> None:
    if len(value) < schema.get("minItems", 0):
        raise SchemaMismatch(path, f"{shown(value)} should have at least {schema['minItems']} "
                                   "items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise SchemaMismatch(path, f"{shown(value)} should have at most {schema['maxItems']} "
                                   "items")
    prefix = schema.get("prefixItems", ())
    for position, (item_schema, item) in enumerate(zip(prefix, value, strict=False)):
        _check(item_schema, item, (*path, position), root)
    items = schema.get("items", True)
    rest = value[len(prefix):]
    if items is False and rest:
        raise SchemaMismatch(path, f"{shown(value)} has more items than allowed")
    if items is not True and items is not False:
        for position, item in enumerate(rest, start=len(prefix)):
            _check(items, item, (*path, position), root)


def _passes(schema: Mapping[str, Any], value: Any, root: Mapping[str, Any]) -> bool:
    try:
        _check(schema, value, (), root)
    except SchemaMismatch:
        return False
    return True


def _is_type(value: Any, expected: str | list[str]) -> bool:
    names = [expected] if isinstance(expected, str) else expected
    if isinstance(value, bool):  # a JSON boolean is not a number
        return "boolean" in names
    if isinstance(value, float) and value.is_integer() and "integer" in names:
        return True
    return any(isinstance(value, _TYPES[name]) for name in names)


def _same(value: Any, expected: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    return value == expected


def _resolve(root: Mapping[str, Any], reference: str) -> Mapping[str, Any]:
    if not reference.startswith("#/"):
        raise ValueError(f"only local references are supported, not {reference!r}")
    node: Any = root
    for part in reference[2:].split("/"):
        node = node[part]
    return node


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)
