"""`flask trace`, `flask view` and `flask explain`: flaskscope inside the `flask` command.

Registered through the ``flask.commands`` entry point group, so ``flask --app APP trace
GET /`` works wherever ``flask --app APP run`` does, with the app the `flask` command
found (its `ScriptInfo`: ``--app``, ``FLASK_APP``, ``wsgi.py``/``app.py``, or a custom
group's ``create_app``). The options are `flaskscope`'s own.

The caveat: routes are registered when the app's modules are imported, and by the time a
command runs they may already have been imported without flaskscope's hooks. So the app
is loaded again under the hooks: every module from the app's directory is forgotten
(`sys.modules`) and a fresh `ScriptInfo` with the same settings imports it anew; a
``create_app`` callback is looked up again in its re-imported module. What still cannot
be recorded (a callback that cannot be found again, routes added by modules outside the
app's directory that were imported before) is said on stderr, naming the endpoints whose
registration is missing.

`flask` loads every plugin command each time it starts, even for ``flask run``, so each
command here is a light stand-in that imports its real definition only when it is used.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask
    from flask.cli import ScriptInfo

    from tracer.frameworks.flask.loading import RequestSpec
    from tracer.session import Recording


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


# -- recording the app `flask` found --------------------------------------------------------


def record_script_app(
    info: ScriptInfo,
    specs: Sequence[RequestSpec],
    *,
    redact: bool = True,
    lines: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> Recording:
    """Load the app `info` describes again under the recorder and send it `specs`.

    Returns the recording; an app that fails to load leaves its registration steps up to
    the failure and the reason in `app_error`.
    """
    from tracer.api import default_scope, record, registering
    from tracer.errors import AppLoadError
    from tracer.frameworks.flask.loading import send
    from tracer.session import Recording

    root = _app_directory(info)
    scope = default_scope([root], include, exclude) if lines else None
    with record(redact=redact, lines=lines, scope=scope) as recorder:
        forget_modules_under(root)
        try:
            with registering():
                app = _load_fresh(info)
        except AppLoadError as exc:
            ref = info.app_import_path or root
            return Recording(recorder.trace(app=ref), str(exc))
        ref = info.app_import_path or _module_file(app) or root
        recorder.meta["app"] = ref
        for spec in specs:
            send(app, spec)
        trace = recorder.trace(app=ref)
    _say_what_is_missing(trace)
    return Recording(trace)


def _app_directory(info: ScriptInfo) -> str:
    """The directory of the app's own modules: what is forgotten and imported again."""
    from tracer.session import app_root

    if info.app_import_path:
        return app_root(info.app_import_path)
    if info.create_app is not None:
        module = sys.modules.get(getattr(info.create_app, "__module__", "") or "")
        file = getattr(module, "__file__", None)
        if file:
            return os.path.dirname(os.path.abspath(file))
    return os.getcwd()


def _outside_app(file: str) -> bool:
    """Files that are never the app's: installed packages, the standard library, flaskscope."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "site-packages" in file or "dist-packages" in file:
        return True
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.join(here, "tracer"),
                os.path.join(here, "viewer")}
    return any(file.startswith(os.path.join(prefix, "")) for prefix in prefixes)


def forget_modules_under(root: str) -> list[str]:
    """Drop from `sys.modules` every module whose file lives under `root`, so the next
    import runs its code (and registers its routes) again. Returns their names."""
    root = os.path.join(os.path.realpath(root), "")
    forgotten = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name == "__main__":
            continue
        path = os.path.realpath(file)
        if path.startswith(root) and not _outside_app(path):
            del sys.modules[name]
            forgotten.append(name)
    return forgotten


def _load_fresh(info: ScriptInfo) -> Flask:
    """A new `ScriptInfo` with `info`'s settings loads the app (the old one caches it)."""
    from flask.cli import NoAppException, ScriptInfo

    from tracer.errors import AppLoadError

    create_app = _reimported(info.create_app) if info.create_app is not None else None
    fresh = ScriptInfo(app_import_path=info.app_import_path, create_app=create_app,
                       set_debug_flag=info.set_debug_flag,
                       load_dotenv_defaults=info.load_dotenv_defaults)
    fresh.data.update(info.data)
    where = info.app_import_path or "the app flask found"
    try:
        return fresh.load_app()
    except NoAppException as exc:
        raise AppLoadError(_one_line(str(exc))) from None
    except SyntaxError as exc:
        raise AppLoadError(f"could not import {where}: SyntaxError in {exc.filename} line "
                           f"{exc.lineno}: {exc.msg}") from None
    except Exception as exc:
        raise AppLoadError(f"could not import {where}: {type(exc).__name__}: "
                           f"{_one_line(str(exc))}") from None


def _reimported(callback: Callable[..., Flask]) -> Callable[..., Flask]:
    """The same `create_app`, found again in its freshly imported module."""
    module_name = getattr(callback, "__module__", None)
    qualname = getattr(callback, "__qualname__", "")
    if module_name and "<" not in qualname:
        try:
            found: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                found = getattr(found, part)
            return found
        except Exception:
            pass
    click.echo(f"flaskscope: the create_app callback {qualname or callback!r} cannot be "
               "imported again, so the routes its module registered at import time have no "
               "registration steps", err=True)
    return callback


def _module_file(app: Flask) -> str | None:
    module = sys.modules.get(app.import_name)
    file = getattr(module, "__file__", None)
    return os.path.abspath(file) if file else None


def _say_what_is_missing(trace: Any) -> None:
    """Name the endpoints whose registration happened before recording started."""
    missing = missing_registration(trace)
    if missing:
        click.echo("flaskscope: these endpoints were registered before recording started "
                   "(by modules outside the app's directory, imported earlier), so their "
                   f"registration steps are missing: {', '.join(missing)}", err=True)


def missing_registration(trace: Any) -> list[str]:
    """Endpoints of `trace.routes` whose rule was never seen being added.

    An app's own rule must have an `add_url_rule` step naming its endpoint; a blueprint's
    rule must also have been declared on the blueprint (its `add_url_rule` step, recorded
    when the blueprint's module ran), since registering the blueprint replays it later.
    """
    from tracer.model import Role

    endpoints: set[str] = set()
    declared: dict[str, list[str]] = {}
    for step in trace.registration.steps:
        if step.kind != "call" or step.role != Role.ADD_URL_RULE:
            continue
        blueprint = step.facts.get("blueprint")
        if blueprint:
            declared.setdefault(blueprint, []).append(str(step.facts.get("rule") or ""))
        elif step.facts.get("endpoint"):
            endpoints.add(step.facts["endpoint"])
    missing = []
    for route in trace.routes:
        if route.endpoint == "static" or route.endpoint.endswith(".static"):
            continue
        if route.blueprint:
            rules = declared.get(route.blueprint.rsplit(".", 1)[-1], [])
            seen = any(route.rule.rstrip("/").endswith(rule.rstrip("/")) for rule in rules)
        else:
            seen = route.endpoint in endpoints
        if not seen:
            missing.append(route.endpoint)
    return sorted(set(missing))


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else text
    return f"{lines[0]} {lines[-1]}"


# -- the commands ---------------------------------------------------------------------------


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
                                          include=include, exclude=exclude)
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
                                          exclude=options.get("exclude", ()))
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
