"""The SOURCE every reading command takes: a trace file, or `APP [METHOD] PATH` to record.

Built once here so `trace`, `view`, `graph`, `explain` and `export` share the same
arguments (`-d`, `-H`, `--json`, `--no-redact`) and the same errors. The recorder (and
with it Flask and Werkzeug) is imported only when there is something to record, so
reading a trace file stays quick.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import FlaskscopeError, RequestSpecError
from .model import Trace
from .tracefile import load

if TYPE_CHECKING:
    from .frameworks.flask_app import RequestSpec


def _remember_wsgi(context: click.Context, parameter: click.Parameter, value: bool) -> None:
    if value:
        from .session import WSGI_META

        context.meta[WSGI_META] = True


def request_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that describe the request to record (and `--wsgi`, which
    `record_app` reads from the click context, so commands take no extra argument)."""
    options = [
        click.option("-d", "--data", "data", multiple=True, metavar="KEY=VALUE",
                     help="Form field to send (repeatable)."),
        click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
                     help="Request header to send (repeatable)."),
        click.option("--json", "json_text", metavar="TEXT", help="JSON body to send."),
        click.option("--no-redact", is_flag=True,
                     help="Store secrets (passwords, tokens, cookies) as they are."),
        click.option("--wsgi", is_flag=True, expose_value=False, callback=_remember_wsgi,
                     help="Load APP as a plain WSGI callable (APP:NAME names it), skipping "
                          "Flask and Bottle app discovery."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def line_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add `--lines` and the globs that adjust its scope."""
    options = [
        click.option("--lines", is_flag=True,
                     help="Also record every line run in Flask, Werkzeug and the app, with the "
                          "locals each line changed."),
        click.option("--include", multiple=True, metavar="GLOB",
                     help="Trace files matching GLOB line by line too (repeatable)."),
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Never trace files matching GLOB line by line (repeatable)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def parse_request(
    words: Sequence[str],
    data: Sequence[str] = (),
    headers: Sequence[str] = (),
    json_text: str | None = None,
) -> RequestSpec:
    """`[METHOD] PATH` plus options, checked, as a `RequestSpec`."""
    from .frameworks.flask_app import METHODS, RequestSpec

    if len(words) == 1:
        method, path = "GET", words[0]
    elif len(words) == 2:
        method, path = words[0].upper(), words[1]
    else:
        raise RequestSpecError(
            "expected [METHOD] PATH after the app, for example: GET /index"
        )
    if method not in METHODS:
        raise RequestSpecError(
            f"unknown HTTP method {words[0]!r}; use one of {', '.join(METHODS)}"
        )
    if not path.startswith("/"):
        raise RequestSpecError(f"the path must start with '/', got {path!r}")
    fields = []
    for item in data:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RequestSpecError(f"form data must look like KEY=VALUE, got {item!r}")
        fields.append((key, value))
    header_pairs = []
    for item in headers:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise RequestSpecError(f"a header must look like 'Name: value', got {item!r}")
        header_pairs.append((name.strip(), value.strip()))
    body: Any = None
    if json_text is not None:
        if fields:
            raise RequestSpecError("give either form data (-d) or --json, not both")
        try:
            body = json.loads(json_text)
        except json.JSONDecodeError as exc:
            raise RequestSpecError(
                f"--json is not valid JSON: {exc.msg} at column {exc.colno}"
            ) from None
    return RequestSpec(method, path, tuple(fields), tuple(header_pairs), body,
                       has_json=json_text is not None)


def split_target(words: Sequence[str]) -> tuple[str, Sequence[str]]:
    """`APP [METHOD] PATH` → the app reference and the request words."""
    if len(words) < 2:
        raise RequestSpecError(
            "expected APP [METHOD] PATH, for example: fixtures/seed_views.py GET /index"
        )
    return words[0], words[1:]


def resolve_source(
    words: Sequence[str],
    data: Sequence[str] = (),
    headers: Sequence[str] = (),
    json_text: str | None = None,
    no_redact: bool = False,
    *,
    lines: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    lazy: bool = False,
) -> Trace:
    """A trace file to load (`lazy`: see `tracefile.load`), or `APP [METHOD] PATH` to
    record first."""
    if len(words) == 1:
        path = Path(words[0])
        if path.suffix == ".py" or not path.exists() and ":" in words[0]:
            raise RequestSpecError(
                f"{words[0]!r} looks like an app: give the request too, e.g. {words[0]} GET /"
            )
        return load(path, lazy=lazy)
    from .session import record_app

    app_ref, request_words = split_target(words)
    recording = record_app(
        app_ref, [parse_request(request_words, data, headers, json_text)], redact=not no_redact,
        lines=lines, include=include, exclude=exclude,
    )
    if recording.app_error:
        raise FlaskscopeError(recording.app_error)
    return recording.trace
