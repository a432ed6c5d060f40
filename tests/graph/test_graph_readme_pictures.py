"""The README's pictures (docs/img/*.svg) still show what `flaskscope graph` draws today.

The `graph` lines of scripts/render_readme_graphs.sh are run again (writing DOT, so no
Graphviz is needed) and every text line of the fresh graph must be in the committed SVG,
and the other way round. Layout coordinates are not compared (they belong to Graphviz), nor
library versions and line numbers (a Flask patch release moves them).
Regenerate with ./scripts/render_readme_graphs.sh.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from importlib.metadata import version

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT
from graph_dot import parse

from flaskscope.cli import cli

SCRIPT = REPO_ROOT / "scripts" / "render_readme_graphs.sh"
_LIBRARY_LINE = re.compile(r"^((?:flask|werkzeug|blinker)/[\w/]+\.py):\d+$")
_VERSION = re.compile(r"^(flask|werkzeug) \d[\w.]*$")


def _commands() -> list[list[str]]:
    commands = []
    for line in SCRIPT.read_text(encoding="utf-8").splitlines():
        if line.startswith('"$FLASKSCOPE" graph '):
            commands.append(shlex.split(line)[2:])
    return commands


def _portable(line: str) -> str:
    """A line without what a Flask/Werkzeug patch release changes: versions, line numbers."""
    line = _LIBRARY_LINE.sub(r"\1", line)
    return _VERSION.sub(r"\1", line)


def _drawn_lines(parsed) -> set[str]:
    texts = [parsed.label]
    texts += [attrs.get("label", "") for attrs in parsed.clusters.values()]
    texts += [parsed.node_label(name) for name in parsed.nodes]
    texts += [attrs.get("label", "") for _, _, attrs in parsed.edges]
    return {_portable(line.strip()) for text in texts for line in text.split("\n")
            if line.strip()}


def _svg_lines(svg: bytes) -> set[str]:
    root = ET.fromstring(svg)
    return {
        _portable("".join(element.itertext()).replace("\xa0", " ").strip())
        for element in root.iter("{http://www.w3.org/2000/svg}text")
    } - {""}


def test_the_script_draws_one_picture_of_each_kind() -> None:
    commands = _commands()
    kinds = [words[words.index("--kind") + 1] for words in commands]
    assert sorted(kinds) == ["calls", "decorators", "routes"]
    for words in commands:
        assert words[words.index("-o") + 1].startswith("docs/img/")


def _minor_versions(svg: bytes) -> dict[str, str]:
    """The Flask and Werkzeug versions (major.minor) a picture names, if it names them."""
    found = re.findall(rb"\b(flask|werkzeug) (\d+\.\d+)", svg)
    return {name.decode(): minor.decode() for name, minor in found}


def _installed_minor_versions() -> dict[str, str]:
    return {name: ".".join(version(name).split(".")[:2]) for name in ("flask", "werkzeug")}


@pytest.mark.parametrize("words", _commands(), ids=lambda words: words[words.index("--kind") + 1])
def test_the_committed_picture_is_current(words, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    picture = REPO_ROOT / words[words.index("-o") + 1]
    assert picture.exists(), f"{picture} is missing: run {SCRIPT.name}"
    fresh = tmp_path / "fresh.dot"
    words = [*words]
    words[words.index("-o") + 1] = str(fresh)
    result = CliRunner().invoke(cli, ["graph", *words], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    drawn = _drawn_lines(parse(fresh.read_text(encoding="utf-8")))
    svg = picture.read_bytes()
    drawn_with = _minor_versions(svg)
    if drawn_with.items() - _installed_minor_versions().items():
        pytest.skip(f"{picture.name} shows the code of {drawn_with}, not of the installed versions")
    committed = _svg_lines(svg)
    assert drawn == committed, f"{picture.name} is stale: run scripts/{SCRIPT.name}"
