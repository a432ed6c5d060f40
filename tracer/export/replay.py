"""What a recorded request sent, read back from its steps, for exports that send it again.

The trace stores values as safe reprs: the request step's `header ...` details, the query
string, and the form or JSON body the app read (the `request_data` fact of the step that
finalized the response). Reading them back is `ast.literal_eval`, never `eval`. What the
trace cannot give back exactly is said, not guessed: a secret redacted when recorded, a
value cut short by the repr limits, a body the app never read.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlaskscopeError
from ..model import Request, Role, Trace
from ..saferepr import REDACTED, is_secret_name, redact_text

#: Headers a client sets by itself; replaying them as given would be wrong or noisy.
_CLIENT_HEADERS = frozenset({"host", "content-length"})
_TEST_CLIENT_AGENT = "'Werkzeug/"
#: A repr at least this long holding "..." may have been cut short by the repr limits.
_CUT_LENGTH = 150


class ExportError(FlaskscopeError):
    """The export asked for cannot be made from this trace."""


@dataclass(frozen=True)
class Exported:
    """An export's text plus what the reader must know about it (one sentence each)."""

    text: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Replay:
    """A request as it can be sent again."""

    request: Request
    method: str
    path: str
    query: str
    host: str | None
    headers: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...] | None = None
    json: Any = None
    has_json: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def url_path(self) -> str:
        """The path with its query string, as a client's URL takes it."""
        return f"{self.path}?{self.query}" if self.query else self.path


def select_requests(trace: Trace, request_id: int | None) -> tuple[Request, ...]:
    """The request asked for, or every request of the trace.

    Raises:
        ExportError: There is no such request, or the trace holds none.
    """
    if request_id is not None:
        try:
            return (trace.request(request_id),)
        except KeyError as exc:
            raise ExportError(f"{exc.args[0]}; pick one with --request N") from None
    if not trace.requests:
        raise ExportError("this trace holds no request to export; record one with "
                          "APP [METHOD] PATH, for example: fixtures/seed_views.py GET /index")
    return trace.requests


def check_redaction(trace: Trace, redact: bool) -> None:
    """`--no-redact` can only show secrets the recording kept.

    Raises:
        ExportError: Secrets were asked for but the trace stored them redacted.
    """
    if not redact and trace.meta.get("redacted", True):
        app = trace.meta.get("app") or "APP"
        raise ExportError(
            "--no-redact needs a trace recorded with its secrets, but this one was recorded "
            f"redacted; record it again with --no-redact, for example: flaskscope export {app} "
            "METHOD PATH --no-redact ..."
        )


def replay_of(request: Request, *, redact: bool = True) -> Replay:
    """What `request` sent: method, path, query, headers and the body the app read.

    With `redact`, the value of every secret-looking header, field or key is `***`,
    whether or not the recording kept it.
    """
    notes: list[str] = []
    step = next((s for s in request.steps if s.kind == "call" and s.role == Role.REQUEST), None)
    detail = step.detail if step is not None else {}
    headers: list[tuple[str, str]] = []
    host = None
    content_length = 0
    for key, text in detail.items():
        if not key.startswith("header "):
            continue
        name = key[len("header "):]
        lowered = name.lower()
        if lowered == "user-agent" and text.startswith(_TEST_CLIENT_AGENT):
            continue  # the test client's own, not something the request chose
        if lowered in _CLIENT_HEADERS:
            value = _literal_text(text, f"header {name!r}", [])
            if lowered == "host":
                host = value
            elif value.isdigit():
                content_length = int(value)
            continue
        headers.append((name, _secret_or_value(name, text, f"header {name!r}", redact, notes)))
    query = _query_text(request.query, notes)
    if redact:
        query = redact_text(query)
    form, body, has_json = _body(request, redact, notes)
    if content_length and form is None and not has_json:
        notes.append(f"request {request.id} sent a body of {content_length} bytes that the app "
                     "never read, so the trace does not hold it; the replay sends no body")
    if form is not None or has_json:
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
    return Replay(
        request=request, method=request.method, path=request.path, query=query, host=host,
        headers=tuple(headers), form=form, json=body, has_json=has_json, notes=tuple(notes),
    )


def _body(request: Request, redact: bool, notes: list[str]
          ) -> tuple[tuple[tuple[str, str], ...] | None, Any, bool]:
    data = next((s.facts["request_data"] for s in request.steps
                 if isinstance(s.facts.get("request_data"), dict)), None)
    if not data:
        return None, None, False
    if "json" in data:
        value = _literal(str(data["json"]), "the JSON body", notes)
        if redact:
            hidden = _redact_json(value)
            if hidden != value:
                notes.append(f"secret-looking keys of the JSON body are shown as {REDACTED!r}; "
                             "pass --no-redact to show the recorded values")
            value = hidden
        return None, value, True
    form = data.get("form")
    if isinstance(form, dict):
        fields = []
        for name, text in form.items():
            fields.append((name, _secret_or_value(name, str(text), f"form field {name!r}",
                                                  redact, notes)))
        return tuple(fields), None, False
    return None, None, False


def _secret_or_value(name: str, text: str, what: str, redact: bool, notes: list[str]) -> str:
    """A named value read back; `***` for a secret-looking name when redacting."""
    if redact and is_secret_name(name):
        if text != REDACTED:
            notes.append(f"{what} is shown as {REDACTED!r}; pass --no-redact to show the "
                         "recorded value")
        else:
            notes.append(f"{what} was redacted when recorded; the replay sends {REDACTED!r}")
        return REDACTED
    return _literal_text(text, what, notes)


def _literal(text: str, what: str, notes: list[str]) -> Any:
    """A stored repr read back as the value it was, noting when it cannot be exact."""
    if text == REDACTED:
        notes.append(f"{what} was redacted when recorded; the replay sends {REDACTED!r}")
        return REDACTED
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        notes.append(f"{what} was stored as {text[:60]!r}, which is not a literal; the replay "
                     "sends that text")
        return text
    if _holds(value, Ellipsis) or (len(text) >= _CUT_LENGTH and "..." in text):
        notes.append(f"{what} may have been cut short when recorded (values are stored "
                     "bounded); check it before relying on the replay")
    if _holds(value, REDACTED):
        notes.append(f"{what} holds values redacted when recorded; the replay sends "
                     f"{REDACTED!r} for them")
    return value


def _literal_text(text: str, what: str, notes: list[str]) -> str:
    value = _literal(text, what, notes)
    return value if isinstance(value, str) else str(value)


def _query_text(query: str, notes: list[str]) -> str:
    """The query string, stored as a repr without its quotes: put them back and read it."""
    if not query:
        return ""
    for quote in ("'", '"'):
        try:
            value = ast.literal_eval(f"{quote}{query}{quote}")
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, str):
            if len(query) >= _CUT_LENGTH and "..." in query:
                notes.append("the query string may have been cut short when recorded")
            return value
    return query


def _holds(value: Any, needle: Any) -> bool:
    if value is needle or (isinstance(needle, str) and value == needle):
        return True
    if isinstance(value, dict):
        return any(_holds(v, needle) for v in value.values())
    if isinstance(value, list | tuple | set):
        return any(_holds(v, needle) for v in value)
    return False


def _redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_name(k) else _redact_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_json(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """A JSON body as compact text (what `--json` on the command line would give)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def slug(words: Iterable[str], taken: set[str] | None = None) -> str:
    """An identifier-safe name made of `words`, unique among `taken` (then added to it)."""
    text = "_".join(words).lower()
    name = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in text)
    name = "_".join(part for part in name.split("_") if part) or "root"
    if taken is not None:
        base, number = name, 2
        while name in taken:
            name = f"{base}_{number}"
            number += 1
        taken.add(name)
    return name


def all_notes(replays: Sequence[Replay]) -> tuple[str, ...]:
    """Every replay's notes, each once, in order."""
    seen: dict[str, None] = {}
    for replay in replays:
        for note in replay.notes:
            seen.setdefault(note, None)
    return tuple(seen)
