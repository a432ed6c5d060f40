"""`flaskscope view`: record (or load) a trace, then open the viewer on it.

Only this function touches files and the recorder; the app gets the loaded `Trace`.
Textual and the viewer are imported inside the function so that `tracer` (and the
rest of the CLI) never pays for importing textual.

The viewer reads keys from standard input and draws on standard output: without a
terminal on both it could never be used or quit, so the command prints the step tree
`flaskscope trace` prints instead (as `make demo` does) and says so on stderr.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Sequence

import click

from flaskscope.requests_command import filter_of, store_filter_options
from flaskscope.source import line_options, request_options, resolve_source
from tracer.errors import TraceFileError
from tracer.model import Trace
from tracer.store.reader import RequestFilter, StoredRequests


@click.command()
@click.argument("source", nargs=-1, required=True, metavar="TRACE_FILE | APP [METHOD] PATH")
@request_options
@line_options
@click.option("--request", "request_id", type=int, metavar="ID",
              help="A trace store: open only this request.")
@store_filter_options
def view(
    source: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lines: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    request_id: int | None,
    status: str | None,
    method: str | None,
    path_glob: str | None,
    endpoint_glob: str | None,
    test_glob: str | None,
    since: str | None,
) -> None:
    """Step through a request in the terminal, forwards and backwards.

    SOURCE is a trace file written by `flaskscope trace -o`, a trace store (every stored
    request in the Requests pane, newest first; --status, --method, --path, --endpoint,
    --test and --since choose which), or APP [METHOD] PATH to record one request first
    (APP as `flask --app` takes it).

    Keys: n/→ next, p/← previous, s into, o out, N over, g/G first/last, / search,
    f line steps, b bookmark, ' next bookmark, tab panes, ? help, q quit.
    """
    where = filter_of(status, method, path_glob, endpoint_glob, test_glob, since)
    if not has_terminal():
        trace = resolve_source(source, data, headers, json_text, no_redact, lines=lines,
                               include=include, exclude=exclude, request_id=request_id,
                               store_filter=where)
        _print_instead(trace, source[0])
        return
    gc.disable()  # loading makes no cycles; the app turns collection back on when it is up
    try:
        trace = resolve_source(source, data, headers, json_text, no_redact, lines=lines,
                               include=include, exclude=exclude, lazy=True,
                               request_id=request_id, whole_store=True, store_filter=where)
        from viewer.tui.app import ViewerApp

        app = ViewerApp(trace, freeze_gc=True, refilter=_refilter(trace))
        app.run()
    finally:
        gc.enable()
    if app.error is not None:
        raise TraceFileError(app.error)


def _refilter(trace: Trace) -> Callable[[str], Trace] | None:
    """For a store's requests: the viewer's filter prompt, answered by the store."""
    requests = trace.requests
    if not isinstance(requests, StoredRequests):
        return None
    reader = requests.reader
    return lambda text: reader.trace(RequestFilter.parse(text))


def has_terminal() -> bool:
    """Whether standard input and standard output are both a terminal."""
    return all(_isatty(stream) for stream in (sys.stdin, sys.stdout))


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


def _print_instead(trace: Trace, first_word: str) -> None:
    from flaskscope.trace_command import print_steps

    click.echo("flaskscope: the viewer needs a terminal (standard input and output); printing "
               "the step tree instead, as `flaskscope trace` does", err=True)
    print_steps(trace, str(trace.meta.get("app") or first_word))
