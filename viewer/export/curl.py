"""The curl command that sends a recorded request again to a running server.

Arguments are quoted for POSIX shells (`shlex.quote`), so what the command sends is
exactly what the trace holds, and the script runs curl once per request and nothing
else: recorded text in the `#` comments is shown escaped (`visible`), never with a raw
line break that would end the comment. Secret-looking headers and fields stay `***`
unless the export asks for them and the recording kept them.

The command goes to `--base-url`, else to the live server the trace was recorded from,
else to `http://127.0.0.1:5000`; never to the recorded `Host` header, which any client
can set to any host.
"""

from __future__ import annotations

import re
import shlex
from urllib.parse import quote

from tracer.model import Trace
from viewer.export.replay import (
    Exported,
    ExportError,
    Replay,
    all_notes,
    check_redaction,
    json_text,
    replay_of,
    select_requests,
    server_base,
    visible,
)

DEFAULT_BASE_URL = "http://127.0.0.1:5000"
#: What `--base-url` must look like: a scheme and a host, then no space.
_BASE_URL = re.compile(r"https?://[^/\s]+(?:/\S*)?")
#: A form field name `--data-urlencode name=value` sends as it is (curl encodes the value).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]+")
#: What a command line cannot carry (NUL) or UTF-8 cannot encode (unpaired surrogates).
_NOT_IN_ARGUMENT = re.compile("[\x00\ud800-\udfff]")


def curl_commands(trace: Trace, *, request_id: int | None = None, base_url: str | None = None,
                  redact: bool = True) -> Exported:
    """One curl command per request of `trace` (or for request `request_id`).

    Args:
        trace: The recording.
        request_id: Only this request.
        base_url: Scheme and host to send to; by default the live server the trace was
            recorded from (`meta["server"]`), else `http://127.0.0.1:5000`, where
            `flask run` listens.
        redact: Send `***` for secret-looking headers and fields (the default).

    Raises:
        ExportError: No such request, a `base_url` that is not an http(s) URL, a method
            that is not one, or secrets asked for that the recording did not keep.
    """
    check_redaction(trace, redact)
    base = target(trace, base_url)
    replays = [replay_of(request, redact=redact) for request in select_requests(trace, request_id)]
    binary = [f"request {replay.request.id}'s body is binary (not UTF-8 text, or holds a NUL "
              "byte), which a curl argument cannot carry: the command sends none; use "
              "--format pytest" for replay in replays
              if replay.body is not None and _body_text(replay) is None]
    notes = [*all_notes(replays), *binary]
    lines = [f"# note: {visible(note)}" for note in notes]
    for replay in replays:
        request = replay.request
        status = "-" if request.status is None else str(request.status)
        lines.append(f"# request #{visible(str(request.id))}: {visible(replay.method)} "
                     f"{visible(replay.path)} → {visible(status)}")
        lines.append(command(replay, base))
    return Exported("\n".join(lines) + "\n", notes)


def target(trace: Trace, base_url: str | None = None) -> str:
    """Where the commands go: `base_url`, else the recorded live server, else the default.

    Raises:
        ExportError: `base_url` is not an http:// or https:// URL.
    """
    if base_url is None:
        return server_base(trace.meta) or DEFAULT_BASE_URL
    if not (_BASE_URL.fullmatch(base_url) and base_url.isprintable()):
        raise ExportError(f"--base-url takes an http:// or https:// URL such as "
                          f"{DEFAULT_BASE_URL}, not {base_url!r}")
    return base_url


def command(replay: Replay, base_url: str = DEFAULT_BASE_URL) -> str:
    """The curl command line of one replay, continued over lines with backslashes."""
    return " \\\n  ".join(" ".join(shlex.quote(word) for word in group)
                           for group in command_words(replay, base_url))


def command_words(replay: Replay, base_url: str = DEFAULT_BASE_URL) -> list[list[str]]:
    """The arguments curl gets for one replay, unquoted, in groups of one line each."""
    words: list[list[str]] = [["curl"]]
    body = _body_text(replay)
    has_body = replay.has_json or bool(replay.form) or body is not None
    if replay.method == "HEAD":
        words[0].append("--head")
    elif (replay.method != "POST" and has_body) or (replay.method != "GET" and not has_body):
        words[0] += ["-X", replay.method]
    for name, value in replay.headers:
        # `-H 'Name:'` would remove the header; `-H 'Name;'` sends it empty.
        words.append(["-H", f"{name}: {value}" if value else f"{name};"])
    if body is not None:
        words.append(["--data-binary", body])
    elif replay.has_json:
        words.append(["-H", "Content-Type: application/json"])
        words.append(["--data-raw", json_text(replay.json)])
    elif replay.form:
        words += [_form_field(name, value) for name, value in replay.form]
    words.append([base_url.rstrip("/") + replay.url_path])
    return words


def _body_text(replay: Replay) -> str | None:
    """The recorded body as one curl argument: text without a NUL byte (an argument cannot
    hold one); other bodies are left out, and `curl_commands` says so."""
    if replay.body is None:
        return None
    try:
        text = replay.body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "\0" in text else text


def _form_field(name: str, value: str) -> list[str]:
    """`--data-urlencode name=value` when curl can encode it as sent, else the field
    encoded here: curl leaves the name as given, and no argument can hold a NUL byte."""
    if _PLAIN_NAME.fullmatch(name) and not _NOT_IN_ARGUMENT.search(value):
        return ["--data-urlencode", f"{name}={value}"]
    encoded = "=".join(quote(text, safe="", errors="surrogatepass") for text in (name, value))
    return ["--data-raw", encoded]
