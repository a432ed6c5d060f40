"""`flaskscope check APP`: report the classic Flask mistakes, each with file:line and fix.

Exit status: 0 clean, 1 problems found, 2 the app could not be loaded (an endpoint
collision at import is a problem found, so 1).
"""

from __future__ import annotations

import json

import click
from rich.console import Console

from tracer.errors import FlaskscopeError
from tracer.frameworks.flask.checks.runner import check_app
from viewer.check_render import plain, rich, to_json
from viewer.explain.i18n import SOURCE_LANGUAGE, languages
from viewer.textsafe import visible_json


@click.command()
@click.argument("app_ref", metavar="APP")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: findings with file, line, problem and fix.")
@click.option("--lang", type=click.Choice(languages()), default=SOURCE_LANGUAGE,
              show_default=True, help="Language of the report.")
def check(app_ref: str, fmt: str, lang: str) -> None:
    """Import APP under the tracer and report mistakes in its routes and views.

    Looks for decorators above the route decorator, wrappers without functools.wraps,
    endpoint collisions, MethodView methods without handlers (or handlers left out of
    methods), rules shadowed by another rule, and slash redirects on POST/PUT/PATCH/DELETE.
    """
    result = check_app(app_ref)
    findings = result.findings
    if result.load_error and not findings:
        raise FlaskscopeError(result.load_error)
    exit_code = 1 if findings else 0
    if fmt == "json":
        document = to_json(app_ref, findings, lang, result.load_error, exit_code)
        click.echo(visible_json(json.dumps(document, ensure_ascii=False, indent=2)))
    else:
        console = Console()
        if console.is_terminal:
            console.print(rich(app_ref, findings, lang, result.load_error))
        else:
            click.echo(plain(app_ref, findings, lang, result.load_error), nl=False)
    click.get_current_context().exit(exit_code)
