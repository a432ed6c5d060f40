"""What the browser tests read from the page and what they expect from the trace: the
terminal viewer's own state (`ViewState`), moved by the same keys."""

from __future__ import annotations

import json
import re
from typing import Any

from tracer.model import Trace
from viewer.tui.state import ViewState

#: Page key → the ViewState navigator's move.
MOVES = {"n": "next", "p": "previous", "s": "into", "o": "out", "N": "over", "g": "first",
         "G": "last"}


#: A lone surrogate cannot cross from the browser to the driver: both sides write it as
#: a `\\uXXXX` escape.
_LONE = re.compile("[\ud800-\udfff]")
#: The same in JavaScript, where a string also holds surrogate pairs.
_LONE_JS = ("[\\ud800-\\udbff](?![\\udc00-\\udfff])"
            "|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]")


def _escaped(text: str) -> str:
    return _LONE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def shown(driver: Any) -> dict[str, Any]:
    """The page's phase, current step, highlighted source line and locals rows."""
    return driver.execute_script("""
        const lone = new RegExp(arguments[arguments.length - 1], 'g');
        const text = s => s.replace(lone, c => '\\\\u' + c.charCodeAt(0).toString(16));
        const current = document.querySelector('#source .ln.current');
        return {
          phase: Number(document.body.dataset.phase),
          step: document.body.dataset.step === '' ? null : Number(document.body.dataset.step),
          line: current ? Number(current.dataset.line) : null,
          locals: Array.from(document.querySelectorAll('#locals tr')).map(
            tr => [text(tr.cells[0].textContent), text(tr.cells[1].textContent),
                   tr.classList.contains('changed')]),
          pwned: window.__pwned === undefined ? null : String(window.__pwned),
        };""", _LONE_JS)


def expected(trace: Trace, state: ViewState) -> dict[str, Any]:
    """What the terminal viewer shows at its current step, in the page's terms."""
    step = state.navigator.current
    values = state.values()
    rows = [] if values is None else (
        [[_escaped(v.name), _escaped(v.value), v.changed] for v in values.values]
        + [[_escaped(v.name), _escaped(v.value), False] for v in values.facts])
    location = state.location()
    line = None
    if location is not None and location.file in trace.sources and \
            location.line in trace.sources[location.file].lines:
        line = location.line
    return {"phase": state.phase_index, "step": step, "line": line, "locals": rows}


def same(actual: dict[str, Any], wanted: dict[str, Any]) -> bool:
    keys = ("phase", "step", "line", "locals")
    return json.dumps([actual[k] for k in keys]) == json.dumps([wanted[k] for k in keys])


def text_of(driver: Any, selector: str) -> str:
    """An element's shown text, lone surrogates escaped (see `shown`)."""
    return driver.execute_script("""
        const lone = new RegExp(arguments[arguments.length - 1], 'g');
        return document.querySelector(arguments[0]).innerText.replace(
          lone, c => '\\\\u' + c.charCodeAt(0).toString(16));""", selector, _LONE_JS)
