"""The closing note of the corpus: what the oracle checked, and how much disagreed."""

from __future__ import annotations

from typing import Any

from .harness import closing_note


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = closing_note()
    if lines:
        terminalreporter.section("oracle on the corpus")
        for line in lines:
            terminalreporter.write_line(line)
