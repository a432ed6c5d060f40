"""The SOURCE every reading command takes: a trace file, or `APP [METHOD] PATH` to record.

Built once here so `trace`, `view`, `graph`, `explain` and `export` share the same
arguments (`-d`, `-H`, `--json`, `--no-redact`) and the same errors. The recorder (and
with it Flask and Werkzeug) is imported only when there is something to record, so
reading a trace file stays quick.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracer.errors import FlaskscopeError, RequestSpecError, StoreError
from tracer.model import Trace
from tracer.store import StoreReader, is_store
from tracer.store.reader import RequestFilter
from tracer.tracefile import load

if TYPE_CHECKING:
    from tracer.frameworks.flask.loading import RequestSpec

#: A header name is an HTTP token (RFC 9110, section 5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: What a header value may not hold: control characters other than a tab (RFC 9110, 5.5).
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: A path is sent on the request line: no control character at all.
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Headers the test client computes from the body, replacing or dropping the ones given.
_FRAMING = ("content-length", "transfer-encoding")
#: The only content types under which the test client encodes form fields (`-d`).
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _remember_wsgi(context: click.Context, parameter: click.Parameter, value: bool) -> None:
    if value:
        from tracer.session import WSGI_META

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
    """`[METHOD] PATH` plus options, checked, as a `RequestSpec`.

    Everything the test client would refuse, or drop without a word, is refused here:
    otherwise the command records nothing, or a request other than the one asked for.
    """
    from tracer.frameworks.flask.loading import RequestSpec

    method, path = _method_and_path(words)
    fields = _form_fields(data)
    header_pairs = _headers(headers)
    _check_body_headers(header_pairs, fields)
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


def _method_and_path(words: Sequence[str]) -> tuple[str, str]:
    from tracer.frameworks.flask.loading import METHODS

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
    _check_path(path)
    return method, path


def _check_path(path: str) -> None:
    """The test client drops tabs, newlines and a fragment, and reads `//name` as a host."""
    if not path.startswith("/"):
        raise RequestSpecError(f"the path must start with '/', got {path!r}")
    control = _PATH_CONTROL.search(path)
    if control:
        raise RequestSpecError(
            f"the path {path!r} holds the control character {control[0]!r}, which a request "
            f"line cannot carry; percent-encode it as %{ord(control[0]):02X}"
        )
    if path.startswith("//"):
        host = path[2:].split("/", 1)[0]
        raise RequestSpecError(
            f"the path {path!r} starts with '//', which the test client reads as the host "
            f"name {host!r}; start the path with a single '/'"
        )
    if "#" in path:
        fragment = path[path.index("#"):]
        raise RequestSpecError(
            f"the path {path!r} ends in the fragment {fragment!r}, which a client never "
            "sends; drop it, or write %23 for a '#' the app should see"
        )


def _form_fields(data: Sequence[str]) -> list[tuple[str, str]]:
    fields = []
    for item in data:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise RequestSpecError(f"form data must look like KEY=VALUE, got {item!r}")
        fields.append((key, value))
    return fields


def _headers(headers: Sequence[str]) -> list[tuple[str, str]]:
    return [_header(item) for item in headers]


def _header(item: str) -> tuple[str, str]:
    """One `-H 'Name: value'`, as HTTP allows it and as the test client sends it."""
    name, sep, value = item.partition(":")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not sep or not name:
        raise RequestSpecError(f"a header must look like 'Name: value', got {item!r}")
    if not _TOKEN.fullmatch(name):
        raise RequestSpecError(
            f"{name!r} is not a valid header name (letters, digits and "
            f"!#$%&'*+-.^_`|~ only), in -H {item!r}; write it like 'X-Custom: value'"
        )
    control = _VALUE_CONTROL.search(value)
    if control:
        raise RequestSpecError(
            f"the value {value!r} of header {name!r} holds the control character "
            f"{control[0]!r}, which HTTP does not allow in a header; give the value "
            "on one line, without control characters"
        )
    if name.lower() in _FRAMING:
        raise RequestSpecError(
            f"-H {item!r}: the test client sets {name} from the body it sends and "
            "replaces or drops one given; remove this -H"
        )
    return name, value


def _check_body_headers(headers: Sequence[tuple[str, str]],
                        fields: Sequence[tuple[str, str]]) -> None:
    """Form fields under another Content-Type are dropped by the test client: the body
    it sends is then empty."""
    if not fields:
        return
    for name, value in headers:
        mimetype = value.split(";", 1)[0].strip()
        if name.lower() == "content-type" and mimetype not in _FORM_TYPES:
            raise RequestSpecError(
                f"-d sends form fields, which the test client encodes only as "
                f"{' or '.join(_FORM_TYPES)} (lower case), so under Content-Type {value!r} "
                "it would send none; remove that -H, or send a JSON body with --json"
            )


def split_target(words: Sequence[str]) -> tuple[str, Sequence[str]]:
    """`APP [METHOD] PATH` → the app reference and the request words."""
    if len(words) < 2:
        raise RequestSpecError(
            "expected APP [METHOD] PATH, for example: fixtures/seed_views.py GET /index"
        )
    return words[0], words[1:]


def read_store(path: Path, *, request_id: int | None = None, whole: bool = False,
               where: RequestFilter | None = None) -> Trace:
    """One request of the store at `path` (default: the newest that matches `where`), or
    with `whole` all that match."""
    reader = StoreReader(path)
    if whole and request_id is None:
        return reader.trace(where)
    try:
        chosen = request_id
        if chosen is None:
            newest = reader.rows(where, limit=1)
            if not newest:
                raise StoreError(f"trace store {str(path)!r} holds no request"
                                 + (" that matches" if where and where != RequestFilter()
                                    else " yet"))
            chosen = newest[0].id
        return reader.request_trace(chosen)
    finally:
        reader.close()


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
    request_id: int | None = None,
    whole_store: bool = False,
    store_filter: RequestFilter | None = None,
) -> Trace:
    """A trace file to load (`lazy`: see `tracefile.load`), a trace store to read, or
    `APP [METHOD] PATH` to record first (`lazy`: its steps kept as columns, `StepTable`).

    From a store comes request `request_id` (default: the newest) with its registration,
    or with `whole_store` every request matching `store_filter`, newest first, each read
    when first shown.
    """
    if len(words) == 1:
        path = Path(words[0])
        if path.suffix == ".py" or not path.exists() and ":" in words[0]:
            raise RequestSpecError(
                f"{words[0]!r} looks like an app: give the request too, e.g. {words[0]} GET /"
            )
        if is_store(path):
            return read_store(path, request_id=request_id, whole=whole_store,
                              where=store_filter)
        return load(path, lazy=lazy)
    from tracer.session import record_app

    app_ref, request_words = split_target(words)
    recording = record_app(
        app_ref, [parse_request(request_words, data, headers, json_text)], redact=not no_redact,
        lines=lines, include=include, exclude=exclude, lazy_steps=lazy,
    )
    if recording.app_error:
        raise FlaskscopeError(recording.app_error)
    return recording.trace
