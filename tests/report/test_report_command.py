"""`flaskscope report`: from a trace file or an app, one file written; bad input is one line
and exit status 2."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flaskscope_testing import fixture_path

from flaskscope.cli import cli
from tracer.model import Trace
from tracer.tracefile import save


def test_a_trace_file_becomes_a_page(tmp_path: Path, seed_trace: Trace) -> None:
    trace_file = save(seed_trace, tmp_path / "seed.json.gz")
    out = tmp_path / "seed.html"
    result = CliRunner().invoke(cli, ["report", str(trace_file), "-o", str(out),
                                      "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"report written to {out} (")
    page = out.read_text("utf-8")
    assert page.startswith("<!DOCTYPE html>") and '"lang":"zh"' in page


def test_an_app_and_a_request_are_recorded_first(tmp_path: Path) -> None:
    out = tmp_path / "login.html"
    result = CliRunner().invoke(cli, ["report", fixture_path("seed_login"), "GET", "/login",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert '"method":"GET"' in out.read_text("utf-8")


def test_a_damaged_trace_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "flaskscope.trace", "version": 3, "meta": [}', "utf-8")
    result = CliRunner().invoke(cli, ["report", str(bad), "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("flaskscope: error:")


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path: Path,
                                                     seed_trace: Trace) -> None:
    trace_file = save(seed_trace, tmp_path / "seed.json")
    out = tmp_path / "missing-dir" / "x.html"
    result = CliRunner().invoke(cli, ["report", str(trace_file), "-o", str(out)])
    assert result.exit_code == 2
    assert "cannot write" in result.output and result.output.count("\n") == 1
