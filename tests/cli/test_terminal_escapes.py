"""Issue #16: what a trace holds never reaches the terminal raw.

A request path, a rule, an endpoint, a function's name, a file's path and a source line can
all hold control characters (a percent-encoded path decodes to any of them; a trace file can
be crafted). Every surface — the step tree of `trace`, `explain` (en and zh, with
`--source`), `check`, `compare` and the viewer's panes — must print them as visible escapes,
and print rich markup in them as written.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from rich.console import Console

import tracer
from flaskscope.cli import cli
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import SourceFile, Step, Trace
from viewer.compare import compare, to_table
from viewer.explain.render import rich as explain_rich
from viewer.render import request_title, route_table, step_tree
from viewer.textsafe import visible, visible_json, visible_markup

EVIL = "\x1b]0;pwned\x07|\x1b[2J|\r|\x9b31m|[bold red]x[/]|\u202e|\n"
#: What must show instead, each whole.
SHOWN = ("\\x1b]0;pwned\\x07", "\\x1b[2J", "\\r", "\\x9b31m", "[bold red]x[/]", "\\u202e",
         "\\u202e|\\n")
#: Raw characters no output may hold; a newline only as our own layout.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SGR = re.compile("\x1b\\[[0-9;]*m")  # rich's own styling, on a terminal
_MODULE = "evil_app"
FOLDER = "app\x1b]0;pwned\x07\x1b[2J[bold]"

APP_SOURCE = f'''
from flask import Flask

app = Flask(__name__)
EVIL = {EVIL!r}


def evil_view(item):
    return EVIL + item


evil_view.__code__ = evil_view.__code__.replace(co_qualname="view" + EVIL)
app.add_url_rule("/" + EVIL.replace("\\n", "") + "/<item>", endpoint="ep" + EVIL,
                 view_func=evil_view)


@app.route("/" + EVIL.replace("\\n", "") + "/post/", methods=["POST"], endpoint="p" + EVIL)
def post_view():
    return "ok"
'''
#: The request: the rule's own text, then an argument (a rule cannot hold a newline, an
#: argument cannot hold `/`).
PATH = "/" + quote(EVIL.replace("\n", "")) + "/" + quote(EVIL.replace("[/]", ""))


def assert_safe(output: str) -> None:
    """No raw control or bidi character, and every escaped form shown."""
    raw = RAW.findall(output)
    assert not raw, f"raw characters in the output: {raw!r}"
    for shown in SHOWN:
        assert shown in output, f"{shown!r} not shown"


@pytest.fixture(scope="module")
def app_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Flask app in a folder whose name holds an escape sequence and markup."""
    folder = tmp_path_factory.mktemp("escapes") / FOLDER
    folder.mkdir()
    (folder / f"{_MODULE}.py").write_text(APP_SOURCE, encoding="utf-8")
    return str(folder / f"{_MODULE}.py")


@pytest.fixture
def fresh_app(app_path: str) -> Iterator[str]:
    """The app path, its module forgotten before and after (registration is recorded
    only on a fresh import) and `sys.path` as it was."""
    path = list(sys.path)
    sys.modules.pop(_MODULE, None)
    yield app_path
    sys.modules.pop(_MODULE, None)
    sys.path[:] = path


def _crafted(trace: Trace) -> Trace:
    """What a crafted file adds to a recorded trace: a raw query, raw detail values (a
    broken `__repr__`), raw source lines and a raw app name."""

    def step(s: Step) -> Step:
        return dataclasses.replace(s, detail={k: v + EVIL for k, v in s.detail.items()})

    requests = tuple(
        dataclasses.replace(r, query="q=" + EVIL, steps=tuple(map(step, r.steps)))
        for r in trace.requests
    )
    sources = {file: SourceFile(source.sha256,
                                {n: f"{text}  # {EVIL}" for n, text in source.lines.items()})
               for file, source in trace.sources.items()}
    return dataclasses.replace(trace, requests=requests, sources=sources,
                               meta={**trace.meta, "app": str(trace.meta["app"]) + EVIL})


@pytest.fixture(scope="module")
def hostile(app_path: str) -> Trace:
    path = list(sys.path)
    sys.modules.pop(_MODULE, None)
    try:
        recording = tracer.record_app(app_path, [RequestSpec(method="GET", path=PATH)])
    finally:
        sys.modules.pop(_MODULE, None)
        sys.path[:] = path
    assert recording.app_error is None, recording.app_error
    assert recording.trace.requests[0].status == 200
    return _crafted(recording.trace)


@pytest.fixture(scope="module")
def trace_file(hostile: Trace, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("escapes") / "hostile.json"
    tracer.save(hostile, path)
    return str(path)


def run(*args: str, terminal: bool = False) -> Any:
    """The command's result; `terminal`: rich believes it prints to a terminal."""
    env = {"COLUMNS": "2000"}
    if terminal:
        env["FORCE_COLOR"] = "1"
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def terminal_text(output: str) -> str:
    """Output printed for a terminal without rich's own styling sequences."""
    return _SGR.sub("", output)


# -- the helper -----------------------------------------------------------------------------


def test_visible_escapes_controls_del_c1_and_bidi_and_nothing_else() -> None:
    assert visible(EVIL) == ("\\x1b]0;pwned\\x07|\\x1b[2J|\\r|\\x9b31m|[bold red]x[/]|"
                             "\\u202e|\\n")
    assert visible("\x00\t\x7f\x85\u2066\u2069") == "\\x00\\t\\x7f\\x85\\u2066\\u2069"
    kept = "café 中文 → ✓ \\x1b already text"
    assert visible(kept) == kept
    assert visible(42) == "42" and visible(visible(EVIL)) == visible(EVIL)


def test_visible_markup_prints_markup_as_written() -> None:
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(visible_markup("[bold red]x[/]\x1b"))
    assert out.getvalue() == "[bold red]x[/]\\x1b\n"


def test_visible_json_is_the_same_data_safe_to_print() -> None:
    document = json.dumps({"v": EVIL, "w": "中文"}, ensure_ascii=False)
    safe = visible_json(document)
    assert not RAW.search(safe) and "中文" in safe
    assert json.loads(safe) == {"v": EVIL, "w": "中文"}


# -- trace (the step tree) ------------------------------------------------------------------


def test_trace_prints_the_step_tree_escaped(fresh_app: str) -> None:
    result = run("trace", fresh_app, "GET", PATH)
    assert result.exit_code == 0, result.output
    assert_safe(result.output)
    assert "registration of " in result.output and visible(FOLDER) in result.output


def test_the_step_tree_of_a_crafted_trace_is_escaped(hostile: Trace) -> None:
    request = hostile.requests[0]
    out = io.StringIO()
    console = Console(file=out, width=2000, color_system=None)
    console.print(step_tree(request.steps, request_title(request)))
    console.print(step_tree(hostile.registration.steps, "registration"))
    console.print(route_table(hostile.routes))
    assert_safe(out.getvalue())


# -- explain --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_explain_with_source_is_escaped(trace_file: str, lang: str, terminal: bool) -> None:
    result = run("explain", trace_file, "--lang", lang, "--source", terminal=terminal)
    assert result.exit_code == 0, result.output
    output = terminal_text(result.output) if terminal else result.output
    assert_safe(output)
    assert "# \\x1b]0;pwned\\x07" in output  # a quoted source line


def test_explain_rich_renders_escapes(hostile: Trace) -> None:
    out = io.StringIO()
    Console(file=out, width=2000, color_system=None).print(
        explain_rich(explain(hostile), "en", sources=hostile.sources))
    assert_safe(out.getvalue())


# -- check ----------------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_check_is_escaped(fresh_app: str, terminal: bool) -> None:
    result = run("check", fresh_app, terminal=terminal)
    assert result.exit_code == 1, result.output
    output = terminal_text(result.output) if terminal else result.output
    assert "strict_slash" in output and visible(FOLDER) in output  # the finding's file
    raw = RAW.findall(output)
    assert not raw, raw
    for shown in ("\\x1b]0;pwned\\x07", "\\x1b[2J", "\\x9b31m", "[bold red]x[/]", "\\u202e"):
        assert shown in output


# -- compare --------------------------------------------------------------------------------


@pytest.mark.parametrize("terminal", [False, True], ids=["plain", "terminal"])
def test_compare_is_escaped(trace_file: str, terminal: bool) -> None:
    result = run("compare", trace_file, trace_file, "-r", "GET /x", terminal=terminal)
    assert result.exit_code == 0, result.output
    output = terminal_text(result.output) if terminal else result.output
    assert_safe(output)


def test_compare_json_keeps_the_values_and_prints_them_escaped(trace_file: str,
                                                               hostile: Trace) -> None:
    result = run("compare", trace_file, trace_file, "-r", "GET /x", "--format", "json")
    assert result.exit_code == 0, result.output
    assert not RAW.search(result.output.replace("\n", ""))
    document = json.loads(result.output)
    cells = json.dumps(document, ensure_ascii=False)
    assert "\x9b31m" in cells and "\u202e" in cells  # the data itself is unchanged


def test_compare_table_cells_are_text_not_markup(hostile: Trace) -> None:
    out = io.StringIO()
    Console(file=out, width=2000, color_system=None).print(
        to_table(compare([hostile, hostile])))
    assert_safe(out.getvalue())


# -- the viewer -----------------------------------------------------------------------------


def _pane_texts(app: Any) -> str:
    """Every row of every pane as rendered (before cropping), and the source header."""
    from viewer.tui.widgets.lines_pane import LinesPane
    from viewer.tui.widgets.rows import RowsView

    texts = [str(app.query_one("#source-header").render())]
    for pane in app.query(RowsView):
        if isinstance(pane, LinesPane):
            texts.append(pane.plain_text)
        else:
            texts.extend(pane.render_row(row, 2000).plain for row in range(pane.row_count()))
    return "\n".join(texts)


async def test_the_viewer_shows_every_value_escaped(hostile: Trace) -> None:
    from viewer.tui.app import ViewerApp
    from viewer.tui.widgets.source_view import SourceView

    app = ViewerApp(hostile)
    view = next(s.id for s in hostile.requests[0].steps
                if s.kind == "call" and s.name.startswith("view"))
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        shown = [_pane_texts(app)]
        for step in (view, view + 1):  # the view's call, then its return
            app.jump_to(step)
            await pilot.pause()
            shown.append(_pane_texts(app))
        source = app.query_one(SourceView)
        assert source.location.file.endswith(f"{_MODULE}.py")
        app.open_phase(0)
        await pilot.pause()
        shown.append(_pane_texts(app))
    everything = "\n".join(shown)
    assert_safe(everything)
    assert visible(FOLDER) in everything  # the app's file, in the Source header
    assert "  # \\x1b]0;pwned\\x07|" in everything  # an embedded source line


def test_a_source_line_holding_a_newline_stays_one_line(hostile: Trace) -> None:
    from viewer.tui.highlight import HighlightedFile

    file = next(f for f in hostile.sources if f.endswith(f"{_MODULE}.py"))
    lines = hostile.sources[file].lines
    highlighted = HighlightedFile(file, lines)
    for number, text in lines.items():
        assert highlighted.line(number).plain == visible(text)

