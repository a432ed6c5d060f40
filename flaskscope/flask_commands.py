"""`flask trace`, `flask view` and `flask explain`: flaskscope inside the `flask` command.

Registered through the ``flask.commands`` entry point group, so ``flask --app APP trace
GET /`` works wherever ``flask --app APP run`` does, with the app the `flask` command
found (its `ScriptInfo`: ``--app``, ``FLASK_APP``, ``wsgi.py``/``app.py``, or a custom
group's ``create_app``). The options are `flaskscope`'s own.

The app is loaded again under the hooks (its modules may have been imported without
them): `tracer.frameworks.flask.script_info` does it; what it cannot record is said on
stderr, naming the endpoints whose registration is missing.

`flask` loads every plugin command each time it starts, even for ``flask run``, so each
command here is a light stand-in that imports its real definition only when it is used.
"""

from __future__ import annotations

import functools
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask.cli import ScriptInfo


class _Deferred(click.Command):
    """A command whose real definition is built when it is invoked or asked for help."""

    def __init__(self, name: str, build: Callable[[], click.Command], short_help: str) -> None:
        super().__init__(name, short_help=short_help, add_help_option=False)
        self._build = build
        self._real: click.Command | None = None

    def real(self) -> click.Command:
        if self._real is None:
            self._real = self._build()
            self._real.name = self.name
        return self._real

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        return self.real().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self.real().invoke(ctx)

    def get_help(self, ctx: click.Context) -> str:
        return self.real().get_help(ctx)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        return self.real().shell_complete(ctx, incomplete)


# -- the commands ---------------------------------------------------------------------------


def _warn(text: str) -> None:
    click.echo(text, err=True)


def _script_info() -> ScriptInfo:
    from flask.cli import ScriptInfo

    return click.get_current_context().ensure_object(ScriptInfo)


def _one_line_errors(callback: Callable[..., Any]) -> Callable[..., Any]:
    """`flaskscope`'s convention inside `flask`: a `FlaskscopeError` is one line, exit 2."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        from tracer.errors import FlaskscopeError

        try:
            return callback(*args, **kwargs)
        except FlaskscopeError as exc:
            click.echo(f"flaskscope: error: {exc}", err=True)
            sys.exit(2)

    return run


def _build_trace() -> click.Command:
    from flaskscope.progress import working
    from flaskscope.source import line_options, parse_request, request_options
    from flaskscope.trace_command import print_recording
    from tracer.frameworks.flask.script_info import record_script_app

    @click.command("trace")
    @click.argument("words", nargs=-1, required=True, metavar="[METHOD] PATH")
    @request_options
    @line_options
    @click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the trace here.")
    @click.option("--no-registration", is_flag=True, help="Print only the request's steps.")
    @_one_line_errors
    def trace(words: Sequence[str], data: Sequence[str], headers: Sequence[str],
              json_text: str | None, no_redact: bool, lines: bool, include: Sequence[str],
              exclude: Sequence[str], output: str | None, no_registration: bool) -> None:
        """Load the app again under flaskscope, send one request and print every step."""
        spec = parse_request(words, data, headers, json_text)
        info = _script_info()
        with working("recording…"):
            recording = record_script_app(info, [spec], redact=not no_redact, lines=lines,
                                          include=include, exclude=exclude, warn=_warn)
        print_recording(recording, str(recording.trace.meta.get("app")),
                        no_registration=no_registration, output=output)

    return trace


def _delegating(name: str, original: click.Command, source_param: str) -> click.Command:
    """`original` (which reads SOURCE: a trace file or APP [METHOD] PATH) with SOURCE
    replaced by [METHOD] PATH against the app `flask` found, or a trace file.

    The request is recorded here, written to a temporary trace file and handed to
    `original` as its SOURCE, so every other option is `original`'s own.
    """
    from flaskscope.progress import working
    from flaskscope.source import parse_request
    from tracer.errors import FlaskscopeError
    from tracer.frameworks.flask.script_info import record_script_app
    from tracer.tracefile import save

    params = [param for param in original.params if param.name != source_param]
    words = click.Argument(["words"], nargs=-1, required=True,
                           metavar="[METHOD] PATH | TRACE_FILE")

    @_one_line_errors
    def callback(words: Sequence[str], **options: Any) -> Any:
        ctx = click.get_current_context()
        if len(words) == 1 and Path(words[0]).is_file():
            return ctx.invoke(original, **{source_param: tuple(words)}, **options)
        spec = parse_request(words, options.get("data", ()), options.get("headers", ()),
                             options.get("json_text"))
        with working("recording…"):
            recording = record_script_app(_script_info(), [spec],
                                          redact=not options.get("no_redact", False),
                                          lines=options.get("lines", False),
                                          include=options.get("include", ()),
                                          exclude=options.get("exclude", ()), warn=_warn)
        if recording.app_error and not recording.trace.registration.steps:
            raise FlaskscopeError(recording.app_error)
        with tempfile.TemporaryDirectory(prefix="flaskscope-") as folder:
            path = save(recording.trace, Path(folder, "trace.json"))
            ctx.invoke(original, **{source_param: (str(path),)}, **options)
        if recording.app_error:
            raise FlaskscopeError(recording.app_error)
        return None

    kept = [part for part in (original.help or "").split("\n\n") if "SOURCE" not in part]
    help_text = "\n\n".join([
        kept[0] if kept else "",
        "Give [METHOD] PATH to record one request of the app `flask` found (loaded again "
        "under flaskscope), or a trace file.",
        *kept[1:],
    ])
    return click.Command(name, params=[words, *params], callback=callback, help=help_text,
                         short_help=original.short_help)


def _build_view() -> click.Command:
    from flaskscope.view_command import view as original

    return _delegating("view", original, "source")


def _build_explain() -> click.Command:
    from flaskscope.explain_command import explain as original

    return _delegating("explain", original, "words")


trace = _Deferred("trace", _build_trace, "Record one request of the app and print its steps.")
view = _Deferred("view", _build_view, "Step through one request of the app in the terminal.")
explain = _Deferred("explain", _build_explain,
                    "Tell what Flask did to register and serve one request.")
