"""The explain narrative of each phase, in every language the page offers, each item
with the step ids it tells about (the page links them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tracer.frameworks.narration.items import Section
from tracer.model import SourceFile
from viewer.explain.render import to_json

__all__ = ["Narrate", "narrative_documents"]

#: (request id, or None for the registration) → the sections that tell it.
Narrate = Callable[[int | None], Sequence[Section]]


def narrative_documents(narrate: Narrate | None, request_id: int | None,
                        langs: Sequence[str], sources: Mapping[str, SourceFile]
                        ) -> dict[str, Any]:
    """{lang: explain JSON document} for one phase; empty when nothing narrates it or the
    narration fails (the page then says there is no narrative)."""
    if narrate is None:
        return {}
    try:
        sections = narrate(request_id)
    except (KeyError, ValueError):
        return {}
    return {lang: to_json(sections, lang, sources) for lang in langs}
