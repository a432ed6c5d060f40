"""`flaskscope compare`: one request on several apps (or trace files), concept by concept."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click
from rich.console import Console

from flaskscope.source import parse_request, request_options
from tracer.errors import FlaskscopeError, RequestSpecError, StoreError
from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Trace
from tracer.session import record_app
from tracer.store import StoreReader, is_store
from tracer.store.reader import RequestFilter
from tracer.tracefile import load
from viewer.compare import LANGUAGES, compare, to_json, to_table, to_text
from viewer.textsafe import visible_json


@click.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@click.option("-r", "--request", "request_text", default="GET /", show_default=True,
              metavar="'[METHOD] PATH'", help="The request to record on every APP.")
@request_options
@click.option("--refused-method", default="PUT", show_default=True, metavar="METHOD",
              help="Sent on every APP beside the request and a HEAD for the same path: "
                   "the method whose 405 'Who answers 405' tells.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="Language of the comparison.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: concepts with one list of sentences per SOURCE.")
def compare_command(
    sources: Sequence[str],
    request_text: str,
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    refused_method: str,
    lang: str,
    fmt: str,
) -> None:
    """Compare how several frameworks store a route, name it, find its handler, wrap it,
    answer HEAD and refuse a method.

    Each SOURCE is an app (as `trace` takes it: Flask, Werkzeug, Bottle, web.py, Tornado or
    any WSGI callable) to record the request on, with a HEAD and the --refused-method for the same
    path, or a trace file (its request with the same method and path, else its first; its
    HEAD and 405 requests for that path, if it has them). For example:

        flaskscope compare fixtures/seed_login.py fixtures/werkzeug_login.py
        fixtures/bottle_login.py -r 'GET /login'
    """
    if len(sources) < 2:
        raise FlaskscopeError(
            f"compare needs two or more SOURCEs, got {len(sources)}; for example: flaskscope "
            "compare fixtures/seed_login.py fixtures/bottle_login.py -r 'GET /login'"
        )
    words = request_text.split()
    if not words:
        raise RequestSpecError("--request is empty; give '[METHOD] PATH', e.g. 'GET /login'")
    spec = parse_request(words, data, headers, json_text)
    method = refused_method.strip().upper()
    if not method.isalpha():
        raise RequestSpecError(f"--refused-method {refused_method!r} is not an HTTP method; "
                               "give one like PUT or DELETE")
    probes = [RequestSpec(method=m, path=spec.path) for m in ("HEAD", method)
              if m != spec.method]
    traces: list[Trace] = []
    request_ids: list[int | None] = []
    for source in sources:
        path = Path(source)
        if is_store(path):
            trace = _stored(path, spec.method, spec.path)
            request_ids.append(trace.requests[0].id)
        elif path.suffix == ".json" and path.exists():
            trace = load(path)
            request_ids.append(next((r.id for r in trace.requests
                                     if (r.method, r.path) == (spec.method, spec.path)), None))
        else:
            recording = record_app(source, [spec, *probes], redact=not no_redact)
            if recording.app_error:
                raise FlaskscopeError(recording.app_error)
            trace = recording.trace
            request_ids.append(None)
        traces.append(trace)
    comparison = compare(traces, lang=lang, request_ids=request_ids)
    if fmt == "json":
        click.echo(visible_json(json.dumps(to_json(comparison), ensure_ascii=False, indent=2)))
        return
    console = Console()
    if console.is_terminal:
        console.print(to_table(comparison))
    else:
        click.echo(to_text(comparison), nl=False)


def _stored(path: Path, method: str, request_path: str) -> Trace:
    """The newest request of the store at `path` with this method and path."""
    with StoreReader(path) as reader:
        for row in reader.rows(RequestFilter(method=method)):
            if row.path == request_path:
                return reader.request_trace(row.id)
    raise StoreError(f"store {str(path)!r} holds no {method} {request_path} request; "
                     f"`flaskscope requests {path} --method {method}` lists those it holds")
