"""The `flaskscope` command line.

Commands are thin: they parse arguments, ask `flaskscope.source` for a trace and hand it to
a renderer or exporter. Every `FlaskscopeError` becomes one line on stderr and exit 2.

A command's module is imported only when that command runs (or when `--help` lists the
commands), so `flaskscope view trace.json` does not wait for Flask, Graphviz or the
other commands to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from tracer import engine
from tracer.errors import FlaskscopeError
from viewer.textsafe import visible

#: Every command, by name, and where it is defined ("module:attribute").
COMMANDS: Mapping[str, str] = {
    "check": "flaskscope.check_command:check",
    "compare": "flaskscope.compare_command:compare_command",
    "explain": "flaskscope.explain_command:explain",
    "export": "flaskscope.export_command:export",
    "graph": "flaskscope.graph_command:graph",
    "requests": "flaskscope.requests_command:requests",
    "routes": "flaskscope.trace_command:routes",
    "report": "flaskscope.report_command:report",
    "serve": "flaskscope.serve:serve",
    "trace": "flaskscope.trace_command:trace",
    "view": "flaskscope.view_command:view",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for, not when the group is built.

    Click's "lazily loading subcommands" pattern: `lazy_commands` maps a command name to
    "module:attribute"; commands added with `add_command` still work as usual.
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        where = self.lazy_commands[cmd_name]
        module_name, _, attribute = where.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command


class _Group(LazyGroup):
    """Turns the errors a user can fix into one line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FlaskscopeError as exc:
            click.echo(f"flaskscope: error: {visible(str(exc))}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flaskscope",
                      message=f"%(prog)s, version %(version)s\n{engine.describe()}")
def cli() -> None:
    """Trace what Flask does with your routes and requests, step by step."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="flaskscope")


if __name__ == "__main__":
    main()
