"""The layout's import rules, read from every module's own import statements.

capture and the trace (`tracer`) → what frameworks know (`tracer.frameworks.<name>`) →
presentation (`viewer`) → the command line (`flaskscope`). README's "How it is built"
draws it; these rules keep it true:

- `tracer` never imports `viewer` or `flaskscope`; its core (everything outside
  `tracer.frameworks`, but for `api` and `session`, which install and load through the
  registry) imports no framework, neither Flask, Werkzeug, Bottle nor an adapter;
- a framework's package imports only the packages of the frameworks it is built on
  (Flask on Werkzeug, on WSGI), the shared modules beside them, and tracer's core;
- the shared modules beside the packages reach a framework's package only through the
  registry (`tracer.frameworks`), and the loader (`tracer.frameworks.loading`), which
  hands a Flask app to Flask's own discovery;
- `viewer` never imports Flask, Werkzeug, Bottle, `flaskscope`, hooks or any capture
  code: the model, the trace file, the narration items frameworks produce and the value
  helpers (the routes graph alone asks Werkzeug's router which rule a recorded path
  belongs to); its terminal UI (`viewer.tui`) even less: the model and the trace file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from flaskscope_testing import REPO_ROOT

from tracer.frameworks import ADAPTERS

FRAMEWORK_LIBRARIES = ("flask", "werkzeug", "bottle", "jinja2", "blinker", "asgiref")
#: Each framework package and the ones it is built on, as the registry declares them.
BUILT_ON = {each.name: set(each.built_on) for each in ADAPTERS}
#: Modules of `tracer` that capture: never needed to show a trace.
CAPTURE = ("tracer.api", "tracer.session", "tracer.recorder", "tracer.lines", "tracer.watch",
           "tracer.patching", "tracer.unwrap", "tracer.values", "tracer.frameworks.hooking",
           "tracer.frameworks.loading", "tracer.live.spool", "tracer.live.server")
#: What the terminal UI may import of `tracer`.
TUI_ALLOWED = ("tracer.model", "tracer.steptable", "tracer.tracefile", "tracer.errors",
               "tracer.paths")
#: The routes graph asks Werkzeug's router (a library, not a framework's capture code)
#: which recorded rule a path belongs to.
ASKS_WERKZEUG = {"viewer.graph.rematch": ("werkzeug.exceptions", "werkzeug.routing")}


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module a file imports, `from x import y` giving `x.y` too (y may be one)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _files(package: str) -> list[Path]:
    return sorted(p for p in (REPO_ROOT / package.replace(".", "/")).rglob("*.py")
                  if "__pycache__" not in p.parts)


def _within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _framework_of(name: str) -> str | None:
    """The framework package `name` lies in (`tracer.frameworks.flask.hooks` → flask)."""
    parts = name.split(".")
    if parts[:2] == ["tracer", "frameworks"] and len(parts) > 2 and parts[2] in BUILT_ON:
        return parts[2]
    return None


def _broken(files: list[Path], rule) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{_module(path)} imports {name}" for path in files for name in _imports(path)
            if not rule(_module(path), name)]


def test_tracer_never_imports_presentation_or_the_command_line() -> None:
    assert _broken(_files("tracer"), lambda _, name: not _within(
        name, "viewer", "flaskscope", "textual", "rich", "graphviz")) == []


def test_the_core_imports_no_framework() -> None:
    core = [p for p in _files("tracer") if not _within(_module(p), "tracer.frameworks")
            and _module(p) not in ("tracer.api", "tracer.session")]
    assert core, "the core moved: update this test"
    assert _broken(core, lambda _, name: not _within(
        name, "tracer.frameworks", *FRAMEWORK_LIBRARIES)) == []


def test_the_registry_says_what_each_framework_is_built_on() -> None:
    assert BUILT_ON["flask"] == {"werkzeug", "wsgi"} and BUILT_ON["wsgi"] == set()


@pytest.mark.parametrize("framework", sorted(BUILT_ON))
def test_a_framework_package_imports_only_what_it_is_built_on(framework: str) -> None:
    allowed = {framework} | BUILT_ON[framework]
    files = _files(f"tracer.frameworks.{framework}")
    assert files, f"no package for {framework}"
    assert _broken(files, lambda _, name: _framework_of(name) in allowed | {None}) == []


def test_shared_modules_reach_a_framework_only_through_the_registry() -> None:
    shared = [p for p in _files("tracer.frameworks") if _framework_of(_module(p)) is None
              and _module(p) not in ("tracer.frameworks", "tracer.frameworks.loading")]
    assert _broken(shared, lambda _, name: _framework_of(name) is None) == []


def _viewer_may_import(module: str, name: str) -> bool:
    if _within(name, *ASKS_WERKZEUG.get(module, ())):
        return True
    return not (_within(name, "flaskscope", *CAPTURE, *FRAMEWORK_LIBRARIES)
                or _framework_of(name) is not None)


def test_the_viewer_imports_neither_capture_code_nor_frameworks() -> None:
    assert _broken(_files("viewer"), _viewer_may_import) == []


def test_the_terminal_ui_imports_only_the_model_and_the_trace_file() -> None:
    assert _broken(_files("viewer.tui"), lambda _, name: not _within(name, "tracer")
                   or _within(name, *TUI_ALLOWED)) == []


def test_the_rules_see_a_broken_rule(tmp_path: Path) -> None:
    """The walk is not blind: an import breaking each rule is found."""
    sample = REPO_ROOT / "viewer" / "tui" / "_layout_probe.py"
    sample.write_text("from tracer.frameworks.flask.hooks import FlaskHooks\n"
                      "import flask\nfrom tracer.api import record\n", "utf-8")
    try:
        broken = _broken([sample], _viewer_may_import)
    finally:
        sample.unlink()
    assert sorted(broken) == sorted([
        "viewer.tui._layout_probe imports tracer.frameworks.flask.hooks",
        "viewer.tui._layout_probe imports tracer.frameworks.flask.hooks.FlaskHooks",
        "viewer.tui._layout_probe imports flask",
        "viewer.tui._layout_probe imports tracer.api",
        "viewer.tui._layout_probe imports tracer.api.record",
    ])
