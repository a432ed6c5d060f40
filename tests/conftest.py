"""Shared pytest fixtures."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest


def _forget_package(top: str) -> None:
    """Drop the package ``top`` and all of its submodules from sys.modules."""
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]


@pytest.fixture
def fresh_import() -> Iterator[Callable[[str], ModuleType]]:
    """Return ``fresh_import("fixtures.seed_views")``, which imports a module anew.

    Fixture apps register routes and fill module-level logs at import time, so a cached module
    would hand every test the same app and state. Before importing, the module's top-level
    package and everything under it (``fixtures``, ``fixtures.*``, so also the submodules it
    imports) leave sys.modules; at teardown they leave it again, so no later test sees them.
    """
    imported: set[str] = set()

    def _import(name: str) -> ModuleType:
        top = name.partition(".")[0]
        imported.add(top)
        _forget_package(top)
        return importlib.import_module(name)

    yield _import
    for top in imported:
        _forget_package(top)


@pytest.fixture(autouse=True)
def _no_hooks_left_behind() -> Iterator[None]:
    """Fail a test that leaves flaskscope installed or a trace/profile function set, and
    forget fixture apps it imported (the CLI imports them by path)."""
    import tracer

    yield
    leaked = tracer.installed() is not None
    tracer.uninstall()
    _forget_package("fixtures")
    assert not leaked, "the test left flaskscope's hooks installed"
    assert sys.gettrace() is None, "the test left a trace function set"
    assert sys.getprofile() is None, "the test left a profile function set"


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """`run("trace", "fixtures/seed_views.py", ...)`: the `flaskscope` command line in this
    process, from the repository's root (where the fixtures' paths start)."""
    from click.testing import CliRunner
    from flaskscope_testing import REPO_ROOT

    from flaskscope.cli import cli

    monkeypatch.chdir(REPO_ROOT)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The explain oracle's counts, when it ran: the numbers a closing note quotes."""
    explained = sys.modules.get("oracle.explained")
    totals = getattr(explained, "TOTALS", None)
    if totals and totals["recordings"]:
        terminalreporter.section("explain held to the line oracle")
        terminalreporter.write_line(", ".join(f"{name}: {count}"
                                              for name, count in totals.items()))
