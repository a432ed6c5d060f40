"""What a recorded request sent, read back from its steps, for exports that send it again.

The trace stores values as safe reprs: the request step's `header ...` details, the query
string, and the form or JSON body the app read (the `request_data` fact of the step that
finalized the response). Reading them back is `ast.literal_eval`, never `eval`. What the
trace cannot give back exactly is said, not guessed: a secret redacted when recorded, a
value cut short by the repr limits, a body the app never read.

A trace file may have been crafted, so every value read here is hostile text: exporters
quote it for where it goes (a shell word, a Python literal, a URL) and show it escaped in
comments and docstrings (`visible`), and the target of a replay never comes from the
recorded `Host` header.
"""

from __future__ import annotations

import ast
import ipaddress
import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tracer.errors import FlaskscopeError
from tracer.model import Request, Role, Trace
from tracer.saferepr import REDACTED, is_secret_name, redact_text
from tracer.secret_values import Secrets, body_secrets

#: Headers a client sets by itself; replaying them as given would be wrong or noisy.
_CLIENT_HEADERS = frozenset({"host", "content-length"})
#: The User-Agent Flask's test client sends (`werkzeug/2.0.3` before Flask 2.2), as a repr.
_TEST_CLIENT_AGENT = "'werkzeug/"
#: A repr at least this long holding "..." may have been cut short by the repr limits.
_CUT_LENGTH = 150
#: An HTTP token (RFC 9110): what a method or a header name is made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Characters no header value can carry: line breaks end it, the rest cannot be encoded.
_NOT_IN_HEADER = re.compile("[\r\n\x00\ud800-\udfff]")
#: Characters a URL path keeps as they are; the rest is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=~"
#: The query string is stored as sent (already encoded): `%` stays, the rest is encoded.
_QUERY_SAFE = _PATH_SAFE + "?%"
#: A live server's address as `flaskscope serve` records it: scheme, host, optional port.
_SERVER = re.compile(r"(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                     r"(?::([0-9]{1,5}))?/?")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ExportError(FlaskscopeError):
    """The export asked for cannot be made from this trace."""


@dataclass(frozen=True)
class Exported:
    """An export's text plus what the reader must know about it (one sentence each)."""

    text: str
    notes: Sequence[str] = ()


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
    #: The body as the client sent it, byte for byte (traces that recorded it), with its
    #: Content-Type among `headers`; `form` and `json` are then None.
    body: bytes | None = None

    @property
    def url_path(self) -> str:
        """The path with its query string, percent-encoded as a client's URL takes it.

        The recorded path is decoded (`PATH_INFO`), so a `%`, `?` or line break in it must
        be encoded to reach the app as the same path; the query string was stored as sent.
        """
        path = quote(self.path, safe=_PATH_SAFE, errors="surrogatepass")
        if not self.query:
            return path
        return f"{path}?{quote(self.query, safe=_QUERY_SAFE, errors='surrogatepass')}"


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
        app = trace.meta.get("app")
        shown = shlex.quote(app) if isinstance(app, str) and app.isprintable() and app else "APP"
        raise ExportError(
            "--no-redact needs a trace recorded with its secrets, but this one was recorded "
            f"redacted; record it again with --no-redact, for example: flaskscope export "
            f"{shown} METHOD PATH --no-redact ..."
        )


def server_base(meta: Mapping[str, Any]) -> str | None:
    """The live server a trace was recorded from (`meta["server"]`), if it is a plain
    `http(s)://host[:port]` address; anything else in that field is ignored.

    A replay is sent there rather than to the recorded `Host` header, which the client
    chose: a request could name any host.
    """
    server = meta.get("server")
    match = _SERVER.fullmatch(server) if isinstance(server, str) else None
    if match is None:
        return None
    scheme, host, port = match.groups()
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    if port is not None and not 0 < int(port) < 65536:
        return None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def replay_of(request: Request, *, redact: bool = True) -> Replay:
    """What `request` sent: method, path, query, headers and the body the app read.

    With `redact`, the value of every secret-looking header, field or key is `***`,
    whether or not the recording kept it.
    """
    if not isinstance(request.method, str) or not _TOKEN.fullmatch(request.method):
        raise ExportError(
            f"request {request.id} was recorded with the method {request.method!r}, which is "
            "not an HTTP method, so it cannot be sent again; record the request again"
        )
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
        if lowered == "user-agent" and text.lower().startswith(_TEST_CLIENT_AGENT):
            continue  # the test client's own, not something the request chose
        if lowered in _CLIENT_HEADERS:
            value = _literal_text(text, f"header {name!r}", [])
            if lowered == "host":
                host = value
            elif re.fullmatch("[0-9]{1,18}", value):
                content_length = int(value)
            continue
        if not _TOKEN.fullmatch(name):
            notes.append(f"header {name!r} is not a valid header name; the replay leaves it out")
            continue
        value = _secret_or_value(name, text, f"header {name!r}", redact, notes)
        if _NOT_IN_HEADER.search(value):
            notes.append(f"header {name!r} holds a line break, a NUL byte or an unpaired "
                         "surrogate, which no header can carry; the replay leaves it out")
            continue
        headers.append((name, value))
    query = _query_text(request.query, notes)
    if redact:
        query = redact_text(query)
    raw = _sent_body(detail, headers, redact, notes)
    if raw is not None:
        return Replay(
            request=request, method=request.method, path=request.path, query=query, host=host,
            headers=tuple(headers), body=raw, notes=tuple(notes),
        )
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


def _sent_body(detail: Mapping[str, str], headers: list[tuple[str, str]], redact: bool,
               notes: list[str]) -> bytes | None:
    """The body the request step recorded (whatever the app read of it), read back."""
    text = detail.get("body")
    if not isinstance(text, str):
        return None
    try:
        body = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        body = None
    if not isinstance(body, bytes):
        notes.append("the recorded body is not a bytes literal; the replay sends no body")
        return None
    if "body_cut" in detail:
        notes.append(f"the body was {visible(detail.get('body_bytes', '?'))} bytes, of which "
                     f"the trace keeps the first {visible(detail['body_cut'])}; the replay "
                     "sends those")
    if redact:
        content_type = next((v for n, v in headers if n.lower() == "content-type"), "")
        secrets = Secrets(body_secrets(body, content_type))
        hidden = secrets.scrub(body.decode("latin-1")).encode("latin-1") if secrets else body
        if hidden != body:
            notes.append(f"secret fields of the body are sent as {REDACTED!r}; pass "
                         "--no-redact to send the recorded values")
        body = hidden
    if REDACTED.encode() in body:
        notes.append(f"the body holds {REDACTED!r} where the recording hid a secret")
    return body


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
        for key, text in form.items():
            name = str(key)
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
    for mark in ("'", '"'):
        try:
            value = ast.literal_eval(f"{mark}{query}{mark}")
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
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
    return json_dumps(_jsonable(value), separators=(",", ":"), default=str)


def json_dumps(value: Any, **options: Any) -> str:
    """`json.dumps` keeping non-ASCII text readable, with unpaired surrogates escaped so
    the text can always be written as UTF-8."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _jsonable(value: Any) -> Any:
    """A literal read back from a trace, with keys JSON can hold (a crafted trace may use
    tuples as keys)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str | int | float | bool) or k is None else str(k):
                _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def visible(text: str) -> str:
    """`text` on one line, its backslashes, line breaks and other unprintable characters
    escaped as `repr` shows them: for comments, docstrings and messages, where a raw line
    break would end the comment and let the next line run as code."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(ch if ch.isprintable() and ch != "\\" else
                   ch.encode("unicode_escape").decode("ascii") for ch in text)


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
