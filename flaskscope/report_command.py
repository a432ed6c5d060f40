"""`flaskscope report`: write a trace as one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import click

from flaskscope.source import line_options, request_options, resolve_source
from tracer.errors import FlaskscopeError
from tracer.frameworks.narration.items import Section
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from viewer.explain.i18n import SOURCE_LANGUAGE, languages
from viewer.report import report_html
from viewer.report.narrative import Narrate


def narrator(trace: Trace) -> Narrate:
    """The explain narrative of one phase: a request (with its part of the registration)
    or, for None, the whole registration."""

    def narrate(request_id: int | None) -> Sequence[Section]:
        if request_id is None:
            return explain(trace, registration_only=True)
        return explain(trace, request_id=request_id)

    return narrate


@click.command()
@click.argument("source", nargs=-1, required=True, metavar="SOURCE")
@request_options
@line_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The HTML file to write.")
@click.option("--lang", type=click.Choice(languages()), default=SOURCE_LANGUAGE,
              show_default=True, help="Language the page opens in (it can switch).")
@click.option("--request", "request_id", type=int, metavar="N",
              help="Only request N (a trace store: its id; default: the newest).")
def report(
    source: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lines: bool,
    include: Sequence[str],
    exclude: Sequence[str],
    output: str,
    lang: str,
    request_id: int | None,
) -> None:
    """Write a self-contained HTML report to step through in any browser.

    SOURCE is a trace file, or APP [METHOD] PATH to record one request first. The page
    loads nothing from the network: its style, script, graphs and the trace are inside.
    """
    trace = resolve_source(source, data, headers, json_text, no_redact, lines=lines,
                           include=include, exclude=exclude, request_id=request_id)
    if request_id is not None:
        try:
            trace = replace(trace, requests=(trace.request(request_id),))
        except KeyError as exc:
            raise FlaskscopeError(f"{exc.args[0]}; pick one with --request N") from None
    page = report_html(trace, narrate=narrator(trace), lang=lang)
    try:
        Path(output).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise FlaskscopeError(f"cannot write {output!r}: {exc.strerror}; choose another "
                              "path") from None
    size = len(page.encode("utf-8"))
    click.echo(f"report written to {output} ({size / 1024:.0f} KiB)")
