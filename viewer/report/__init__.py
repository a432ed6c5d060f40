"""The HTML report: a trace as one self-contained page to click and step through.

`report_html` is a pure function from a trace to the page's text; the command writes it
to a file and `flaskscope serve --web` serves it, adding each request as it arrives.
"""

from __future__ import annotations

from viewer.report.page import (
    content_security_policy,
    head_document,
    phase_document,
    render_page,
    report_html,
)

__all__ = ["content_security_policy", "head_document", "phase_document", "render_page",
           "report_html"]
