"""The live report's data: the page as it stands and one message per request that arrives.

Pure data, no I/O: `flaskscope serve --web` loads each request's trace file, hands it to
`add` and sends the message it returns to every open page (server-sent events); a page
opened later gets every request so far in its HTML, and asks the stream only for those
after them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tracer.model import Trace
from viewer.report.columns import request_summary, sources_document
from viewer.report.narrative import Narrate
from viewer.report.page import head_document, phase_document, render_page

__all__ = ["LiveReport"]


class LiveReport:
    """The registration, then each request in the order it finished."""

    def __init__(self, registration: Trace, narrator: Callable[[Trace], Narrate], *,
                 lang: str, title: str) -> None:
        self.narrator = narrator
        self.lang = lang
        self.title = title
        self._lock = threading.Lock()
        self._trace = replace(registration, requests=())
        self._phases = [phase_document(self._trace, 0, narrator(self._trace))]
        self._messages: list[dict[str, Any]] = []

    def add(self, trace: Trace) -> list[dict[str, Any]]:
        """Add every request of `trace` (one request's trace file); the messages to send."""
        added = []
        for number in range(1, len(trace.requests) + 1):
            request = trace.requests[number - 1]
            alone = replace(trace, requests=(request,))
            document = phase_document(alone, 1, self.narrator(alone))
            with self._lock:
                phase = len(self._phases)
                document["phase"] = phase
                self._phases.append(document)
                self._trace = replace(self._trace, requests=self._trace.requests + (request,),
                                      sources={**self._trace.sources, **trace.sources})
                message = {"summary": request_summary(phase, request), "phase": document,
                           "sources": sources_document(trace.sources)}
                self._messages.append(message)
            added.append(message)
        return added

    def since(self, count: int) -> list[dict[str, Any]]:
        """The messages of the requests after the first `count`."""
        with self._lock:
            return self._messages[max(0, count):]

    def page(self) -> str:
        """The page with every request so far."""
        with self._lock:
            trace, phases = self._trace, list(self._phases)
        head = head_document(trace, lang=self.lang, live=True)
        return render_page(head, phases, title=self.title)
