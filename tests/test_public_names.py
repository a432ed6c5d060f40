"""What users have today keeps working: every public name the README shows, everything
`tracer` exports, and every entry point the distribution declares."""

from __future__ import annotations

import importlib
import re
from importlib.metadata import entry_points
from typing import Any

import pytest
from flaskscope_testing import REPO_ROOT

import tracer

#: Dotted names of the Python API as the README writes them (`tracer.load`, `tracer.model.Step`).
_NAME = re.compile(r"(?<![\w./])tracer(?:\.[A-Za-z_]\w*)+")


def _readme_names() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text("utf-8")
    return sorted({match.group(0) for match in _NAME.finditer(text)})


def _resolve(dotted: str) -> Any:
    """Import the longest module prefix of `dotted`, then get the rest as attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def test_the_readme_shows_the_api() -> None:
    assert {"tracer.record", "tracer.load", "tracer.save", "tracer.record_app",
            "tracer.model.Trace"} <= set(_readme_names())


@pytest.mark.parametrize("dotted", _readme_names())
def test_every_name_the_readme_shows_resolves(dotted: str) -> None:
    assert _resolve(dotted) is not None


@pytest.mark.parametrize("name", tracer.__all__)
def test_everything_tracer_exports_resolves(name: str) -> None:
    assert getattr(tracer, name) is not None


@pytest.mark.parametrize(("group", "name"), [
    ("console_scripts", "flaskscope"),
    ("pytest11", "flaskscope"),
    ("flask.commands", "trace"),
    ("flask.commands", "view"),
    ("flask.commands", "explain"),
])
def test_every_entry_point_loads(group: str, name: str) -> None:
    [point] = [p for p in entry_points(group=group) if p.name == name
               and p.value.split(".")[0] in ("flaskscope", "tracer")]
    assert point.load() is not None
