"""`flaskscope routes` piped (plain, whole columns) and `--format json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT

import flaskscope.trace_command
from flaskscope.cli import cli

LONG_DECORATOR = "require_an_exceptionally_long_permission_name_for_the_admin_area"

LONG_APP = f'''
import functools

from flask import Flask

app = Flask(__name__)


def {LONG_DECORATOR}(view):
    @functools.wraps(view)
    def checked_before_the_view_runs(*args, **kwargs):
        return view(*args, **kwargs)

    return checked_before_the_view_runs


@app.route("/administration/settings/<path:a_rather_long_setting_name>/history")
@{LONG_DECORATOR}
def settings_history(a_rather_long_setting_name):
    return a_rather_long_setting_name


app.add_url_rule("/odd", endpoint="odd\\nname\\x1b[31m", view_func=lambda: "")
'''


def _piped(*args: str, cwd: Path) -> str:
    """Run `flaskscope routes` in a real process, its stdout a pipe and no COLUMNS set."""
    script = REPO_ROOT / ".venv" / "bin" / "flaskscope"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flaskscope.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR",
                                                             "TTY_COMPATIBLE")}
    done = subprocess.run([*command, "routes", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_piped_routes_are_plain_whole_and_aligned() -> None:
    out = _piped("fixtures/real_app.py", cwd=REPO_ROOT)
    assert "\x1b" not in out and "…" not in out and "│" not in out
    header, dashes, *rows = out.splitlines()
    assert header.split() == ["Rule", "Methods", "Endpoint", "View", "chain", "(outer", "→",
                              "inner)"]
    assert set(dashes.replace(" ", "")) == {"-"}
    static = next(row for row in rows if row.startswith("/static/"))
    assert static.split()[0] == "/static/<path:filename>"
    dashboard = next(row for row in rows if row.startswith("/dashboard "))
    assert dashboard.endswith("login_required.<locals>.guarded → dashboard")
    assert "GET, (HEAD), (OPTIONS)" in dashboard
    endpoint_column = header.index("Endpoint")
    assert all(row[endpoint_column - 2:endpoint_column] == "  " for row in rows)
    assert dashboard[endpoint_column:].startswith("dashboard ")
    assert next(r for r in rows if r.startswith("/stacked ")).endswith(
        "log_calls.<locals>.logged → add_header_no_wraps.<locals>.wrapper → stacked_view")


def test_a_long_decorator_and_rule_are_never_cut(tmp_path) -> None:
    (tmp_path / "long_app.py").write_text(LONG_APP, "utf-8")
    out = _piped("long_app.py", cwd=tmp_path)
    (row,) = [line for line in out.splitlines() if "settings_history" in line]
    assert row.startswith("/administration/settings/<path:a_rather_long_setting_name>/history ")
    assert row.endswith(f"{LONG_DECORATOR}.<locals>.checked_before_the_view_runs"
                        " → settings_history")
    assert len(row) > 160  # one line, however wide


def test_control_characters_from_the_app_cannot_break_a_line(tmp_path) -> None:
    (tmp_path / "long_app.py").write_text(LONG_APP, "utf-8")
    lines = _piped("long_app.py", cwd=tmp_path).splitlines()
    assert len(lines) == 2 + 3  # header, dashes, static, settings, odd
    (odd,) = [line for line in lines if line.startswith("/odd ")]
    assert "odd\\nname\\x1b[31m" in odd


def test_json_lists_every_route_with_its_chain_outer_to_inner(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(cli, ["routes", "fixtures/real_app.py", "--format", "json"])
    assert result.exit_code == 0, result.output
    routes = json.loads(result.stdout)
    assert [r["rule"] for r in routes][:3] == ["/static/<path:filename>", "/shop/products",
                                               "/shop/products/<int:product_id>"]
    stacked = next(r for r in routes if r["rule"] == "/stacked")
    assert set(stacked) == {"app", "rule", "methods", "automatic_methods", "endpoint", "blueprint",
                            "chain"}
    assert stacked["methods"] == ["GET", "HEAD", "OPTIONS"]
    assert stacked["automatic_methods"] == ["HEAD", "OPTIONS"]
    assert (stacked["endpoint"], stacked["blueprint"]) == ("stacked", None)
    assert [(link["kind"], link["qualname"], link["wraps"], link["decorator"])
            for link in stacked["chain"]] == [
        ("decorator", "log_calls.<locals>.logged", True, "log_calls"),
        ("decorator", "add_header_no_wraps.<locals>.wrapper", False, "add_header_no_wraps"),
        ("view", "stacked_view", None, None),
    ]
    first = stacked["chain"][0]
    assert set(first) == {"kind", "name", "qualname", "file", "line", "wraps", "origin",
                          "decorator", "expression", "occurrence"}
    assert (first["expression"], first["occurrence"]) == ("log_calls", None)
    assert first["file"].endswith("real_app.py") and isinstance(first["line"], int)
    product = next(r for r in routes if r["endpoint"] == "shop.product_detail")
    assert product["blueprint"] == "shop"


def test_json_of_a_long_named_decorator_is_whole(tmp_path) -> None:
    (tmp_path / "long_app.py").write_text(LONG_APP, "utf-8")
    routes = json.loads(_piped("long_app.py", "--format", "json", cwd=tmp_path))
    (route,) = [r for r in routes if r["endpoint"] == "settings_history"]
    assert [link["decorator"] for link in route["chain"]] == [LONG_DECORATOR, None]


def test_a_terminal_still_gets_the_table(monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(flaskscope.trace_command, "stdout_is_terminal", lambda: True)
    result = CliRunner().invoke(cli, ["routes", "fixtures/real_app.py"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "┃ Rule" in result.output and "login_required.<locals>.guarded" in result.output


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_app_that_does_not_load_is_one_line_in_either_format(monkeypatch, fmt) -> None:
    monkeypatch.chdir(REPO_ROOT)
    result = CliRunner().invoke(cli, ["routes", "fixtures/no_such_app.py", "--format", fmt])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "could not import" in result.stderr
