"""`flaskscope explain`: tell what Flask did, step by step, in English or another language."""

from __future__ import annotations

import json
from collections.abc import Sequence

import click
from rich.console import Console

from flaskscope.source import parse_request, request_options, resolve_source, split_target
from tracer.errors import FlaskscopeError
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain as build
from tracer.model import Trace
from tracer.session import record_app
from viewer.explain.i18n import SOURCE_LANGUAGE, languages
from viewer.explain.render import plain, rich, to_json
from viewer.textsafe import visible_json


def record_with_app(app_ref: str, spec: RequestSpec, *, redact: bool = True
                    ) -> tuple[Trace, str | None]:
    """Record `spec` against `app_ref`: the trace, and the import error if there was one.

    Unlike a plain SOURCE, an app that fails to import still yields the registration steps
    up to the failure, which is what explains an endpoint collision.
    """
    recording = record_app(app_ref, [spec], redact=redact)
    return recording.trace, recording.app_error


@click.command()
@click.argument("words", nargs=-1, required=True, metavar="SOURCE")
@request_options
@click.option("--lang", type=click.Choice(languages()), default=SOURCE_LANGUAGE,
              show_default=True, help="Language of the narrative.")
@click.option("--source", "show_source", is_flag=True,
              help="Quote the source line(s) of each step beneath it.")
@click.option("--request", "request_id", type=int, metavar="N",
              help="Tell only request N (with its part of the registration).")
@click.option("--registration", is_flag=True, help="Tell the whole registration only.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: items with step ids, message ids and sentences.")
def explain(
    words: Sequence[str],
    data: Sequence[str],
    headers: Sequence[str],
    json_text: str | None,
    no_redact: bool,
    lang: str,
    show_source: bool,
    request_id: int | None,
    registration: bool,
    fmt: str,
) -> None:
    """Tell, as numbered sentences, what Flask did to register and serve a request.

    SOURCE is a trace file, or APP [METHOD] PATH to record one first.
    """
    if registration and request_id is not None:
        raise FlaskscopeError("give either --request N or --registration, not both")
    app_error = None
    if len(words) == 1:
        trace = resolve_source(words, data, headers, json_text, no_redact,
                               request_id=request_id)
    else:
        app_ref, request_words = split_target(words)
        spec = parse_request(request_words, data, headers, json_text)
        trace, app_error = record_with_app(app_ref, spec, redact=not no_redact)
        if app_error and not trace.registration.steps:
            raise FlaskscopeError(app_error)
    try:
        sections = build(trace, request_id=request_id, registration_only=registration)
    except KeyError as exc:
        raise FlaskscopeError(f"{exc.args[0]}; pick one with --request N") from None
    sources = trace.sources if show_source else None
    if fmt == "json":
        document = to_json(sections, lang, trace.sources)
        click.echo(visible_json(json.dumps(document, ensure_ascii=False, indent=2)))
    else:
        console = Console()
        if console.is_terminal:
            console.print(rich(sections, lang, sources=sources))
        else:
            click.echo(plain(sections, lang, sources=sources), nl=False)
    if app_error:
        raise FlaskscopeError(app_error)
