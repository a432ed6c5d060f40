"""`flaskscope export`: a trace as Perfetto JSON, a pytest file or curl commands.

The one place exports touch files: the exporters are pure functions of the trace.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from flaskscope.progress import working
from flaskscope.source import line_options, request_options, resolve_source
from tracer.model import Trace
from tracer.tracefile import dumps, save
from viewer.export.curl import curl_commands
from viewer.export.perfetto import trace_events
from viewer.export.pytest_export import pytest_file
from viewer.export.replay import Exported, ExportError, json_dumps, visible

FORMATS = ("perfetto", "pytest", "curl", "trace")
#: Output names that say "a trace file" when no --format is given.
_TRACE_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz")


@click.command()
@click.argument("source", nargs=-1, required=True, metavar="TRACE_FILE | APP [METHOD] PATH")
@request_options
@line_options
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS),
              help="perfetto: trace-event JSON for ui.perfetto.dev and chrome://tracing; "
                   "pytest: a test replaying the request; curl: the command sending it again; "
                   "trace: a standalone trace file (the default for -o *.json[.gz]).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write to this file instead of stdout.")
@click.option("--request", "request_id", type=int, metavar="N",
              help="Export only request N (default: every request).")
@click.option("--app", "app_ref", metavar="APP",
              help="pytest: the app the test loads (default: the one the trace names).")
@click.option("--base-url", metavar="URL",
              help="curl: scheme and host to send to (default: the recorded live server, "
                   "else http://127.0.0.1:5000).")
def export(
    source: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lines: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    fmt: str | None,
    output: str | None,
    request_id: int | None,
    app_ref: str | None,
    base_url: str | None,
) -> None:
    """Export a trace for Perfetto, pytest or curl.

    SOURCE is a trace file, or APP [METHOD] PATH to record one request first. Secrets stay
    `***` in pytest and curl exports unless --no-redact is given, which needs a trace
    recorded with --no-redact.
    """
    fmt = fmt or _format_of(output)
    with working("recording…" if len(source) > 1 else "loading the trace…"):
        trace = resolve_source(source, data, headers, json_text, no_redact, lines=lines,
                               include=include, exclude=exclude, request_id=request_id)
    if fmt == "trace":
        _export_trace(trace, request_id, output)
        return
    with working(f"exporting as {fmt}…"):
        if fmt == "perfetto":
            exported = _perfetto(trace, request_id)
        elif fmt == "pytest":
            exported = pytest_file(trace, app_for_test(app_ref, trace), request_id=request_id,
                                   redact=not no_redact)
        else:
            exported = curl_commands(trace, request_id=request_id, base_url=base_url,
                                     redact=not no_redact)
    if output is None:
        click.echo(exported.text, nl=not exported.text.endswith("\n"))
        return
    _write(output, exported.text)
    for note in exported.notes:
        click.echo(f"flaskscope: note: {visible(note)}", err=True)
    click.echo(_written(fmt, output, exported), err=True)


def _format_of(output: str | None) -> str:
    if output and output.lower().endswith(_TRACE_SUFFIXES):
        return "trace"
    raise ExportError("give --format (perfetto, pytest, curl or trace); an output named "
                      "*.json or *.json.gz is a trace file without it")


def _export_trace(trace: Trace, request_id: int | None, output: str | None) -> None:
    """A standalone trace file: the request (or every request) with its registration and
    the sources it points at, readable wherever a trace file is."""
    if request_id is not None:
        try:
            trace = replace(trace, requests=(trace.request(request_id),))
        except KeyError as exc:
            raise ExportError(f"{exc.args[0]}; pick one with --request N") from None
    if output is None:
        click.echo(dumps(trace).decode(), nl=False)
        return
    save(trace, output)
    count = len(trace.requests)
    click.echo(f"trace file written to {output} ({count} request{'s' if count != 1 else ''}): "
               f"open it with `flaskscope view {output}`", err=True)


def _perfetto(trace: Trace, request_id: int | None) -> Exported:
    try:
        document = trace_events(trace, request_id=request_id)
    except KeyError as exc:
        raise ExportError(f"{exc.args[0]}; pick one with --request N") from None
    text = json_dumps(document, separators=(",", ":"))
    return Exported(text, ())


def app_for_test(app_ref: str | None, trace: Trace) -> str:
    """The app a generated test loads: given, or recorded, with a file path made absolute
    so the test runs from any directory."""
    ref = app_ref or trace.meta.get("app")
    if not ref:
        raise ExportError("this trace does not name the app it was recorded from; give it "
                          "with --app APP, as `flask --app` takes it")
    return absolute_app_ref(str(ref))


def absolute_app_ref(ref: str) -> str:
    """`path/app.py[:name]` with the path made absolute; module names are left as they are."""
    match = re.match(r"^(?P<path>(?:[A-Za-z]:)?[^:]+)(?P<rest>:.*)?$", ref)
    if match is None or not os.path.exists(match["path"]):
        return ref
    return os.path.abspath(match["path"]) + (match["rest"] or "")


def _write(output: str, text: str) -> None:
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"cannot write {output!r}: {exc.strerror}; choose another path "
                          "with -o") from None


def _written(fmt: str, output: str, exported: Exported) -> str:
    if fmt == "perfetto":
        return (f"Perfetto trace written to {output}: open it at https://ui.perfetto.dev "
                "(Open trace file) or in chrome://tracing (Load)")
    if fmt == "pytest":
        return f"pytest file written to {output}: run it with `pytest {output}`"
    return f"curl commands written to {output}: run them with `sh {output}`"
