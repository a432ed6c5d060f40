"""The classic Flask mistakes `flaskscope check` reports, each with file:line and a fix.

See README.md. Findings are `tracer.frameworks.narration.findings.Finding`s (message ids
and values); `viewer.check_render` writes them out.
"""
