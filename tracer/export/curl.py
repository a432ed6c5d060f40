"""The curl command that sends a recorded request again to a running server.

Arguments are quoted for POSIX shells (`shlex.quote`), so what the command sends is
exactly what the trace holds. Secret-looking headers and fields stay `***` unless the
export asks for them and the recording kept them.
"""

from __future__ import annotations

import shlex

from ..model import Trace
from .replay import (
    Exported,
    Replay,
    all_notes,
    check_redaction,
    json_text,
    replay_of,
    select_requests,
)

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def curl_commands(trace: Trace, *, request_id: int | None = None, base_url: str | None = None,
                  redact: bool = True) -> Exported:
    """One curl command per request of `trace` (or for request `request_id`).

    Args:
        trace: The recording.
        request_id: Only this request.
        base_url: Scheme and host to send to; by default the recorded `Host` when it
            names a port (a live server), else `http://127.0.0.1:5000`, where
            `flask run` listens.
        redact: Send `***` for secret-looking headers and fields (the default).

    Raises:
        ExportError: No such request, or secrets asked for that the recording did not keep.
    """
    check_redaction(trace, redact)
    replays = [replay_of(request, redact=redact) for request in select_requests(trace, request_id)]
    notes = all_notes(replays)
    lines = [f"# note: {note}" for note in notes]
    for replay in replays:
        lines.append(f"# request #{replay.request.id}: {replay.method} {replay.path} → "
                     f"{'-' if replay.request.status is None else replay.request.status}")
        lines.append(command(replay, base_url))
    return Exported("\n".join(lines) + "\n", notes)


def command(replay: Replay, base_url: str | None = None) -> str:
    """The curl command line of one replay, continued over lines with backslashes."""
    base = (base_url or _recorded_base(replay)).rstrip("/")
    words: list[list[str]] = [["curl"]]
    has_body = replay.has_json or bool(replay.form)
    if replay.method == "HEAD":
        words[0].append("--head")
    elif replay.method != "GET" and not (replay.method == "POST" and has_body):
        words[0] += ["-X", replay.method]
    for name, value in replay.headers:
        words.append(["-H", f"{name}: {value}"])
    if replay.has_json:
        words.append(["-H", "Content-Type: application/json"])
        words.append(["--data-raw", json_text(replay.json)])
    elif replay.form:
        for name, value in replay.form:
            words.append(["--data-urlencode", f"{name}={value}"])
    words.append([base + replay.url_path])
    return " \\\n  ".join(" ".join(shlex.quote(word) for word in group) for group in words)


def _recorded_base(replay: Replay) -> str:
    if replay.host and ":" in replay.host:
        return f"http://{replay.host}"
    return DEFAULT_BASE_URL
