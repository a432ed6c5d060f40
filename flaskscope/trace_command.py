"""`flaskscope trace` and `flaskscope routes`: record an app and print what it did.

Kept out of `flaskscope.cli` so that the command line imports the recorder, Flask and rich
only when one of these two commands runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from rich.console import Console

from flaskscope.source import line_options, parse_request, request_options, split_target
from tracer.collector import collector_paused
from tracer.errors import FlaskscopeError
from tracer.model import Trace
from tracer.session import Recording, record_app
from tracer.tracefile import save
from viewer.render import print_step_tree, request_title, route_table
from viewer.routes_output import plain_table, routes_json
from viewer.textsafe import visible_markup


@click.command()
@click.argument("target", nargs=-1, required=True, metavar="APP [METHOD] PATH")
@request_options
@line_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the trace here.")
@click.option("--no-registration", is_flag=True, help="Print only the request's steps.")
def trace(
    target: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lines: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    output: str | None,
    no_registration: bool,
) -> None:
    """Import APP under the recorder, send one request and print every step.

    APP is anything `flask --app` accepts: a module, module:name, a file, a factory call.
    """
    app_ref, words = split_target(target)
    spec = parse_request(words, data, headers, json_text)
    recording = record_app(app_ref, [spec], redact=not no_redact, lines=lines, include=include,
                           exclude=exclude, lazy_steps=True)
    print_recording(recording, app_ref, no_registration=no_registration, output=output)


def print_recording(recording: Recording, app_label: str, *, no_registration: bool,
                    output: str | None) -> None:
    """Print a recording's step trees (the registration too unless asked not to, or when
    the app failed to load), write it to `output`, and end with the app's error if any."""
    trace_ = recording.trace
    console = print_steps(trace_, app_label,
                          no_registration=no_registration and not recording.app_error)
    if output:
        save(trace_, output)
        console.print(f"trace written to {visible_markup(output)}", style="dim")
    if recording.app_error:
        raise FlaskscopeError(recording.app_error)


def print_steps(trace_: Trace, app_label: str, *, no_registration: bool = False) -> Console:
    """Print the step tree of the registration (unless `no_registration`) and of each
    request: what `trace` shows, and what `view` shows without a terminal."""
    console = Console()
    if trace_.meta.get("lines_unavailable"):
        click.echo(f"flaskscope: line tracing is off: {trace_.meta['lines_unavailable']}; "
                   "recording hook steps only", err=True)
    lines = bool(trace_.meta.get("lines"))
    with collector_paused():
        if trace_.registration.steps and not no_registration:
            print_step_tree(console, trace_.registration.steps, f"registration of {app_label}",
                            lines=lines)
        for request in trace_.requests:
            print_step_tree(console, request.steps, request_title(request), lines=lines)
    return console


@click.command()
@click.argument("app_ref", metavar="APP")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="json: an array of routes (rule, methods, automatic_methods, endpoint, "
                   "blueprint, chain outermost first).")
def routes(app_ref: str, fmt: str) -> None:
    """List APP's rules: methods (automatic ones in brackets), endpoint, view chain.

    On a terminal this is a table; piped, plain columns with every value whole.
    """
    recording = record_app(app_ref, [])
    if recording.app_error:
        raise FlaskscopeError(recording.app_error)
    found = recording.trace.routes
    if fmt == "json":
        click.echo(routes_json(found), nl=False)
    elif stdout_is_terminal():
        Console().print(route_table(found))
    else:
        click.echo(plain_table(found), nl=False)


def stdout_is_terminal() -> bool:
    """Whether standard output is a terminal (not a pipe, a file or a test runner)."""
    isatty = getattr(sys.stdout, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False
