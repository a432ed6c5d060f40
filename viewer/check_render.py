"""Write findings out: plain text, rich text or JSON. Pure; the command prints.

Text and rich output escape control characters (`visible`): rules, endpoints, names and
the import error come from the app checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from tracer.frameworks.narration.findings import Finding
from tracer.frameworks.narration.items import N_, Message
from tracer.frameworks.narration.steps import where
from viewer.explain.i18n import sentence, translator
from viewer.explain.render import highlight
from viewer.textsafe import visible


def _problem(finding: Finding, lang: str) -> str:
    join = translator(lang).gettext(N_("{sentence} {next}"))
    text = ""
    for message in finding.problem:
        written = sentence(message, lang)
        text = join.format(sentence=text, next=written) if text else written
    return text


def _fix(finding: Finding, lang: str) -> str:
    return sentence(Message(N_("fix: {fix}"), {"fix": sentence(finding.fix, lang)}), lang)


def summary(app: str, findings: Sequence[Finding], lang: str) -> str:
    """The closing line."""
    if findings:
        return sentence(Message(N_("Problems found in {app}: {count}."),
                                {"app": app, "count": len(findings)}), lang)
    return sentence(Message(N_("No problems found in {app}."), {"app": app}), lang)


def load_failure(error: str, lang: str) -> str:
    """The line saying the app could not be imported."""
    return sentence(Message(N_("The app could not be imported: {error}"), {"error": error}),
                    lang)


def plain(app: str, findings: Sequence[Finding], lang: str, load_error: str | None = None
          ) -> str:
    """One block per finding: `file:line: check`, the problem, the fix."""
    out = []
    for finding in findings:
        out.append(visible(f"{where(finding.file, finding.line)}: {finding.check}"))
        out.append(f"   {visible(_problem(finding, lang))}")
        out.append(f"   {visible(_fix(finding, lang))}")
        out.append("")
    if load_error:
        out.append(visible(load_failure(load_error, lang)))
    out.append(visible(summary(app, findings, lang)))
    return "\n".join(out) + "\n"


def rich(app: str, findings: Sequence[Finding], lang: str, load_error: str | None = None
         ) -> RenderableType:
    """The same blocks for a terminal."""
    parts: list[RenderableType] = []
    for finding in findings:
        head = Text(visible(where(finding.file, finding.line)), style="bold")
        head.append(f"  {visible(finding.check)}", style="red")
        parts.append(head)
        parts.append(Text("   ").append_text(highlight(_problem(finding, lang))))
        parts.append(Text("   ", style="green").append_text(
            highlight(_fix(finding, lang)).copy()))
        parts.append(Text(""))
    if load_error:
        parts.append(Text(visible(load_failure(load_error, lang)), style="yellow"))
    parts.append(Text(visible(summary(app, findings, lang)), style="bold"))
    return Group(*parts)


def to_json(app: str, findings: Sequence[Finding], lang: str, load_error: str | None,
            exit_code: int) -> dict[str, Any]:
    """Findings with their location, sentences, message ids and trace step ids."""
    return {
        "format": "flaskscope.check",
        "version": 1,
        "app": app,
        "lang": lang,
        "load_error": load_error,
        "exit_code": exit_code,
        "findings": [
            {
                "check": f.check,
                "file": f.file,
                "line": f.line,
                "at": where(f.file, f.line),
                "problem": _problem(f, lang),
                "fix": sentence(f.fix, lang),
                "steps": list(f.steps),
                "messages": [{"msgid": m.msgid, "params": dict(m.params)}
                             for m in (*f.problem, f.fix)],
            }
            for f in findings
        ],
    }
