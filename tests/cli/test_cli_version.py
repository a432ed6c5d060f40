"""`flaskscope --version` says which engine records: the compiled core when it was built,
the pure-Python engine when it was not or when ``FLASKSCOPE_ENGINE=python`` asks for it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from flaskscope_testing import REPO_ROOT

from tracer.engine import ENVIRONMENT_VARIABLE, compiled_core


def version_lines(**environment: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != ENVIRONMENT_VARIABLE} | environment
    done = subprocess.run([sys.executable, "-m", "flaskscope.cli", "--version"], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_version_names_the_engine_in_use(monkeypatch) -> None:
    first, engine = version_lines()
    assert first.startswith("flaskscope, version ")
    monkeypatch.delenv(ENVIRONMENT_VARIABLE, raising=False)  # as `version_lines` runs it
    if compiled_core() is None:
        assert engine.startswith("engine: pure Python (the compiled core was not built")
    else:
        assert engine == "engine: compiled core (tracer._linecore, tracer._stepcore)"


def test_the_environment_switches_to_the_pure_engine() -> None:
    assert version_lines(**{ENVIRONMENT_VARIABLE: "python"})[1] == (
        f"engine: pure Python ({ENVIRONMENT_VARIABLE}=python)")


@pytest.mark.skipif(compiled_core() is None, reason="the compiled core is not built here")
def test_the_line_engine_takes_the_core_only_when_allowed(monkeypatch) -> None:
    import tracer
    from tracer.api import line_engine

    def engine_core() -> object:
        with tracer.record(lines=True):
            engine = line_engine()
            return "no line engine" if engine is None else engine.core

    assert engine_core() is compiled_core()
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    assert engine_core() is None


@pytest.mark.skipif(compiled_core() is None, reason="the compiled core is not built here")
def test_a_core_built_from_older_sources_is_not_used(monkeypatch) -> None:
    """An editable install keeps the .so it built: after a pull that changed the C
    sources, the Python would call what the old core lacks. It is left alone instead."""
    from tracer import _linecore, engine

    monkeypatch.setattr(_linecore, "INTERFACE", engine.INTERFACE - 1)
    assert compiled_core() is None
    assert engine.describe().startswith(
        "engine: pure Python (the compiled core was built from older sources")
