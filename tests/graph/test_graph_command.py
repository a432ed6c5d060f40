"""`flaskscope graph` through click: formats by suffix, sources, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import graphviz
import pytest
from flaskscope_testing import REPO_ROOT
from graph_dot import needs_dot, parse

import tracer


@pytest.fixture
def trace_file(seed_views, tmp_path):
    return str(tracer.save(seed_views, tmp_path / "views.json"))


def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("flaskscope: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_dot_goes_to_stdout_without_output(run, trace_file) -> None:
    result = run("graph", trace_file, "--kind", "calls", "--request", "1")
    assert result.exit_code == 0, result.output
    parsed = parse(result.stdout)
    assert parsed.label.startswith("request 1: GET /index  → 403")


def test_a_dot_file_needs_no_graphviz(run, trace_file, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("flaskscope.graph_command.shutil.which", lambda name: None)
    out = tmp_path / "routes.dot"
    result = run("graph", trace_file, "--kind", "routes", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert f"routes graph written to {out}" in result.stdout
    written = out.read_text(encoding="utf-8")
    assert written == run("graph", trace_file, "--kind", "routes").stdout
    assert "matched" in parse(written).classes(parse(written).node("/index"))


def test_recording_from_app_and_request(run) -> None:
    result = run("graph", "fixtures/seed_views.py", "GET", "/index", "-H", "X-Deny: 1",
                 "--kind", "decorators")
    assert result.exit_code == 0, result.output
    parsed = parse(result.stdout)
    entered = {parsed.node_label(n).split("\n")[0] for n in parsed.nodes
               if "entered" in parsed.classes(n)}
    assert entered == {"auth.<locals>.inner"}


@needs_dot
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"),
                                               (".pdf", b"%PDF")])
def test_rendered_formats_follow_the_suffix(run, trace_file, tmp_path, suffix, magic) -> None:
    out = tmp_path / f"graph{suffix.upper()}"
    result = run("graph", trace_file, "--kind", "decorators", "-o", str(out))
    assert result.exit_code == 0, result.output
    content = out.read_bytes()
    assert content.startswith(magic)
    if suffix == ".svg":
        text = content.decode("utf-8")
        assert "<svg" in text and "IndexView.get" in text and 'class="node method' in text


def test_missing_dot_is_one_line_with_the_install_hint(run, trace_file, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setattr("flaskscope.graph_command.shutil.which", lambda name: None)
    out = tmp_path / "g.svg"
    result = run("graph", trace_file, "--kind", "routes", "-o", str(out))
    _one_line_error(result, "writing .svg needs Graphviz's `dot` program",
                    "apt-get install graphviz")
    assert not out.exists()


def test_dot_vanishing_after_the_check_is_one_line_too(run, trace_file, tmp_path,
                                                       monkeypatch) -> None:
    monkeypatch.setattr("flaskscope.graph_command.shutil.which", lambda name: "/usr/bin/dot")

    def pipe(self, *args, **kwargs):
        raise graphviz.ExecutableNotFound(["dot"])

    monkeypatch.setattr(graphviz.Digraph, "pipe", pipe)
    result = run("graph", trace_file, "--kind", "routes", "-o", str(tmp_path / "g.png"))
    _one_line_error(result, "could not be run", "apt-get install graphviz")


@pytest.mark.parametrize(("args", "fragments"), [
    (["--kind", "calls", "--request", "7"],
     ["no request 7 in this trace; the requests there are: 0, 1, 2, 3"]),
    (["--kind", "routes", "-o", "graph.jpg"],
     ["cannot tell the format of 'graph.jpg'", ".dot, .gv, .svg, .png, .pdf"]),
    (["--kind", "calls", "--endpoint", "index"], ["--endpoint and --blueprint narrow"]),
    (["--kind", "routes", "--endpoint", "nope"],
     ["no endpoint matches 'nope'", "endpoints: index, static"]),
    (["--kind", "routes", "--blueprint", "shop"],
     ["no route belongs to blueprint 'shop'; the app has no blueprint"]),
    (["--kind", "routes", "-o", "/nonexistent-dir/g.dot"], ["cannot write '/nonexistent-dir"]),
])
def test_bad_choices_are_one_line_errors(run, trace_file, args, fragments) -> None:
    _one_line_error(run("graph", trace_file, *args), *fragments)


def test_an_app_without_a_request_is_refused(run) -> None:
    _one_line_error(run("graph", "fixtures/seed_views.py", "--kind", "routes"),
                    "looks like an app: give the request too")


def test_the_installed_command_pipes_dot(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from flaskscope.cli import main; main()", "graph",
         "fixtures/seed_routes.py", "POST", "/about", "--kind", "routes"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed = parse(result.stdout)
    about = parsed.node("/about")
    assert "not-allowed" in parsed.classes(about)


def test_lines_mode_adds_functions_but_never_lines(run) -> None:
    plain = parse(run("graph", "fixtures/seed_views.py", "GET", "/index", "--kind",
                      "calls").stdout)
    result = run("graph", "fixtures/seed_views.py", "GET", "/index", "--lines", "--kind",
                 "calls")
    assert result.exit_code == 0, result.output
    full = parse(result.stdout)
    names = {full.node_label(n).split("\n")[0] for n in full.nodes}
    assert {plain.node_label(n).split("\n")[0] for n in plain.nodes} < names
    for node in full.nodes:  # a node is a function: its label names where it starts
        assert full.node_label(node).split("\n")[1].rsplit(":", 1)[-1].isdigit()
    bold = {full.node_label(n).split("\n")[0] for n in full.nodes if "path" in full.classes(n)}
    assert bold == {plain.node_label(n).split("\n")[0] for n in plain.nodes
                    if "path" in plain.classes(n)}
    assert "IndexView.get" in bold
