"""The command line imports a subcommand only when it runs, and reading a trace file never
imports Flask: `flaskscope view TRACE_FILE` should not wait for code it does not use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT, record_fixture

import tracer
from flaskscope.cli import cli

#: Every command `flaskscope --help` lists, in its order.
COMMANDS = ["check", "compare", "explain", "export", "graph", "report", "requests", "routes",
            "serve", "trace", "view"]

#: What reading a trace must leave unimported: the recorder's dependencies and the other
#: commands' modules.
HEAVY = [
    "flask", "werkzeug", "jinja2", "graphviz", "tracer.frameworks.flask.hooks",
    "tracer.explain", "tracer.check", "viewer.graph", "viewer.export", "viewer.compare",
    "flaskscope.serve", "tracer.live", "viewer.live", "tracer.recorder",
]

_PROBE = """
import json, sys

import click

heavy = json.loads(sys.argv[1])
loaded = lambda: sorted(name for name in heavy if name in sys.modules)
seen = {}

import flaskscope.cli

seen["import"] = loaded()
seen["view_module_early"] = "flaskscope.view_command" in sys.modules
context = click.Context(flaskscope.cli.cli, info_name="flaskscope")
view = flaskscope.cli.cli.get_command(context, "view")
seen["view"] = view.name if view is not None else None
seen["get_command"] = loaded()

import flaskscope.source

trace = flaskscope.source.resolve_source([sys.argv[2]])
seen["requests"] = len(trace.requests)
seen["resolve_source"] = loaded()
print(json.dumps(seen))
"""


def _probe(trace_file: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), str(trace_file)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_viewing_a_trace_file_imports_neither_flask_nor_other_commands(tmp_path) -> None:
    trace_file = tracer.save(record_fixture("seed_views", "GET /index").trace,
                             tmp_path / "t.json")
    seen = _probe(Path(trace_file))
    assert seen["import"] == []
    assert seen["view_module_early"] is False
    assert seen["view"] == "view"
    assert seen["get_command"] == []
    assert seen["requests"] == 1
    assert seen["resolve_source"] == []


def test_help_lists_every_command_with_its_summary() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:\n", 1)[1].splitlines()
    rows = [line.split(None, 1) for line in listed if line.strip()]
    assert [row[0] for row in rows] == COMMANDS
    assert all(len(row) == 2 and row[1].strip() for row in rows), rows


def test_a_lazily_loaded_command_still_reports_errors_in_one_line(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["view", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert result.stderr.startswith("flaskscope: error: ")
    assert result.stderr.count("\n") == 1


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["nonsense"])
    assert result.exit_code == 2
    assert "No such command 'nonsense'" in result.stderr
