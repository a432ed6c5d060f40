"""Record fixture apps once per set of arguments and write their narratives."""

from __future__ import annotations

import functools
import sys
import textwrap
from pathlib import Path

from flaskscope.explain_command import record_with_app
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from tracer.session import record_app
from viewer.explain.render import plain

REPO = Path(__file__).resolve().parents[2]


def fixture(name: str) -> str:
    return str(REPO / "fixtures" / f"{name}.py")


def forget_fixtures() -> None:
    for name in [n for n in sys.modules if n == "fixtures" or n.startswith("fixtures.")]:
        del sys.modules[name]


@functools.cache
def recorded(name: str, method: str = "GET", path: str = "/",
             data: tuple[tuple[str, str], ...] = (),
             headers: tuple[tuple[str, str], ...] = ()) -> tuple[Trace, str | None]:
    """The trace of one request to fixture `name` (and the import error, if any)."""
    forget_fixtures()
    try:
        return record_with_app(fixture(name), RequestSpec(method, path, data, headers))
    finally:
        forget_fixtures()


def recorded_source(directory: Path, module: str, source: str, *requests: RequestSpec
                    ) -> Trace:
    """The trace of `requests` to an app written out as `directory/module.py` from `source`
    (indented as a test writes it)."""
    path = directory / f"{module}.py"
    path.write_text(textwrap.dedent(source), "utf-8")
    forget_fixtures()
    try:
        return record_app(str(path), list(requests)).trace
    finally:
        forget_fixtures()


def told(name: str, method: str = "GET", path: str = "/", lang: str = "en", *,
         sources: bool = False, **options: object) -> str:
    """The plain narrative of one request to fixture `name`."""
    data = tuple(options.pop("data", ()))  # type: ignore[arg-type]
    headers = tuple(options.pop("headers", ()))  # type: ignore[arg-type]
    trace, _ = recorded(name, method, path, data, headers)
    sections = explain(trace, **options)  # type: ignore[arg-type]
    return plain(sections, lang, sources=trace.sources if sources else None)


def item_with(text: str, *needles: str) -> str:
    """The one line of `text` that contains every needle (fails if none or several)."""
    lines = [line for line in text.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, (needles, lines, text)
    return lines[0]
