"""The report page: one HTML file with its style, its script and the trace inside.

Nothing is loaded from anywhere: the style and script are inline and allowed by their
SHA-256 hashes in a Content-Security-Policy that forbids every other source (no remote
script, style, font, image or connection; a live page may connect to its own server
only). The trace goes in as JSON data elements (`viewer.report.embed`), one for the
page and one per phase, so the script parses a phase only when the reader opens it.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from tracer.model import Request, Trace
from tracer.steptable import StepTable
from viewer.explain.i18n import SOURCE_LANGUAGE, languages
from viewer.report.columns import (
    phase_columns,
    phase_tables,
    request_summary,
    sources_document,
)
from viewer.report.embed import script_element
from viewer.report.graphs import GRAPHVIZ_MISSING, graphviz_available, phase_graphs
from viewer.report.narrative import Narrate, narrative_documents

__all__ = ["content_security_policy", "head_document", "phase_document", "render_page",
           "report_html"]


@cache
def _asset(name: str) -> str:
    return files("viewer.report").joinpath(name).read_text("utf-8")


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(*, live: bool = False) -> str:
    """The page's policy: its own inline script and style by hash, images only as data,
    and (live) connections to the server that sent the page."""
    return "; ".join([
        "default-src 'none'",
        f"script-src {_hash(_asset('report.js'))}",
        f"style-src {_hash(_asset('report.css'))}",
        "img-src data:",
        "connect-src 'self'" if live else "connect-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def head_document(trace: Trace, *, lang: str, live: bool = False) -> dict[str, Any]:
    """What the page needs before any phase: the request list, sources, languages."""
    return {
        "format": "flaskscope.report",
        "version": 1,
        "app": str(trace.meta.get("app") or ""),
        "lang": lang,
        "langs": languages(),
        "live": live,
        "lines": bool(trace.meta.get("lines")),
        "graphviz": graphviz_available(),
        "graphviz_message": GRAPHVIZ_MISSING,
        "requests": [request_summary(number, request) for number, (request, _)
                     in enumerate(phase_tables(trace))],
        "sources": sources_document(trace.sources),
    }


def phase_document(trace: Trace, number: int, narrate: Narrate | None,
                   langs: Sequence[str] | None = None, *,
                   tables: Sequence[tuple[Request | None, StepTable]] | None = None
                   ) -> dict[str, Any]:
    """One phase (0: registration, then each request): columns, graphs, narrative;
    `tables` are the trace's `phase_tables`, when the caller has them already."""
    request, table = (phase_tables(trace) if tables is None else tables)[number]
    document = phase_columns(table)
    document["phase"] = number
    document["graphs"] = phase_graphs(trace, request, table)
    document["explain"] = narrative_documents(
        narrate, None if request is None else request.id,
        languages() if langs is None else langs, trace.sources)
    return document


def render_page(head: dict[str, Any], phases: Sequence[dict[str, Any]], *,
                title: str) -> str:
    """The HTML text of the page."""
    data = "\n".join([script_element("fs-head", head)] + [
        script_element(f"fs-phase-{number}", phase) for number, phase in enumerate(phases)])
    return _asset("page.html").format_map({
        "lang": html.escape(head["lang"], quote=True),
        "csp": html.escape(content_security_policy(live=head["live"]), quote=True),
        "title": _text(title),
        "style": _asset("report.css"),
        "script": _asset("report.js"),
        "data": data,
    })


def report_html(trace: Trace, *, narrate: Narrate | None = None,
                lang: str = SOURCE_LANGUAGE, title: str | None = None) -> str:
    """The whole self-contained report of `trace`."""
    head = head_document(trace, lang=lang)
    tables = phase_tables(trace)
    phases = [phase_document(trace, number, narrate, tables=tables)
              for number in range(len(tables))]
    return render_page(head, phases, title=title or _title(trace))


def _text(value: str) -> str:
    """Text for an element or attribute: markup characters and the line and paragraph
    separators as character references."""
    text = html.escape(value, quote=True).replace("\u2028", "&#x2028;").replace(
        "\u2029", "&#x2029;")
    return text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes ?


def _title(trace: Trace) -> str:
    app = str(trace.meta.get("app") or "trace")
    return f"flaskscope report: {app}"
