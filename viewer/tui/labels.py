"""One-line rich labels for steps, shared by the Steps and Stack panes.

Hook steps (steps with a role, the moments Flask's machinery is at work) are bold with
their role tag; plain calls are plain; returns, exceptions and notes have their own
marks; line steps are dim and show the source line and the locals it changed. Every
value from the trace goes through `visible` first: control characters show as escapes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from tracer.model import Step
from tracer.paths import short_path
from viewer.textsafe import visible

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
MAX_VALUE = 48


def clip(text: str, limit: int = MAX_VALUE) -> str:
    """A value shortened to `limit` characters with an ellipsis, its control characters
    escaped first (so a newline in it shows as `\\n`, not as a space)."""
    text = " ".join(visible(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tidy(value: str) -> str:
    """A repr without `at 0x...` object addresses: they differ on every run and say little."""
    return _ADDRESS.sub("", value)


def location(step: Step) -> str:
    """`file:line` of a step, short and escaped."""
    if step.file is None:
        return ""
    where = f"{short_path(step.file)}:{step.line}" if step.line else short_path(step.file)
    return visible(where)


def facts_summary(facts: Mapping[str, Any], limit: int = 3) -> str:
    shown = []
    for key, value in facts.items():
        if value is None or value == [] or value == {} or value == "":
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            continue
        shown.append(f"{visible(key)}={clip(tidy(str(value)), 24)}")
        if len(shown) == limit:
            break
    return " ".join(shown)


def step_label(step: Step, source_line: str | None = None) -> Text:
    """The label of a step row (no indentation or fold mark)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    kind = step.kind
    if kind == "call":
        text.append(visible(step.name), "bold cyan" if step.role else "cyan")
        if step.role:
            text.append(f" [{visible(step.role)}]", "green")
        summary = facts_summary(step.facts)
        if summary:
            text.append(" " + summary, "yellow")
        where = location(step)
        if where:
            text.append("  " + where, "dim")
    elif kind == "return":
        text.append("← ", "dim")
        text.append(clip(tidy(step.detail.get("result", "")) or "None"), "dim")
    elif kind == "exception":
        text.append("✗ ", "bold red")
        text.append(clip(tidy(step.detail.get("exception", "?"))), "red")
    elif kind == "note":
        text.append("• " + visible(step.name), "magenta")
        if step.role:
            text.append(f" [{visible(step.role)}]", "green")
        summary = facts_summary(step.facts)
        if summary:
            text.append(" " + summary, "yellow")
    else:  # line
        text.append(f"{step.line or '?':>4}│ ", "dim")
        text.append(visible((source_line or "").strip()) or "…", "italic dim")
        if step.detail:
            changes = " ".join(f"{visible(k)}={clip(tidy(v), 20)}"
                               for k, v in step.detail.items())
            text.append("  " + changes, "dim yellow")
    return text
