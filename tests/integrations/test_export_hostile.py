"""Exports of a crafted trace: every recorded value is hostile text.

A trace file can be edited, and a live server records whatever a client sends, so the
pytest and curl exports must carry every value as data: the pytest module parses to the
shape the exporter always emits, the curl script runs curl once per request and nothing
else, and no replay goes to the host a request named in its `Host` header.
"""

from __future__ import annotations

import ast
import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from flaskscope.cli import cli
from tracer.frameworks.flask.loading import RequestSpec
from tracer.model import Registration, Request, Role, Step, Trace
from tracer.session import record_app
from viewer.export import curl_commands, pytest_file, replay_of, trace_events
from viewer.export.curl import DEFAULT_BASE_URL, command_words
from viewer.export.pytest_export import _FIXTURE
from viewer.export.replay import ExportError, json_dumps, visible

#: Text that ends a comment, a string or a docstring, or runs a command in a shell.
#: The commands use shell built-ins only (`: > pwned` creates a file), so that they would
#: run even with an empty PATH.
PAYLOADS = [
    '"""', "'''", '"', "'", "\\", "\n", "\r", "\r\n", "\x00", "\t", "\x1b[2J", "\u2028",
    "\u0085", "\ud800", "$(: > pwned)", "`: > pwned`", "\n: > pwned\n", "'; : > pwned; '",
    '"; : > pwned; "', "\\\n: > pwned", '"""\nimport os\n"""', "'''\n: > pwned #'''",
    "${IFS}", "#", "?", "%", "%0A", "&", ";", "|", "[1-3]", "{a,b}", "é", "→", " ", "*",
]
HOSTILE = st.lists(st.one_of(st.sampled_from(PAYLOADS), st.text(max_size=4)),
                   max_size=5).map("".join)
METHODS = ["GET", "POST", "PUT", "HEAD", "DELETE", "PATCH", "OPTIONS"]
#: Mostly a real method, so that the rest of the request gets exported; sometimes hostile.
METHOD = st.sampled_from([*METHODS, None]).flatmap(
    lambda method: HOSTILE if method is None else st.just(method))
#: Live-server addresses `flaskscope serve` may record, and what a replay then targets.
SERVERS = {
    "http://127.0.0.1:5000": "http://127.0.0.1:5000",
    "https://[::1]:8443": "https://[::1]:8443",
    "http://localhost:8000/": "http://localhost:8000",
    "http://0.0.0.0:5000": "http://0.0.0.0:5000",
}
BAD_SERVERS = ["http://127.0.0.1:5000\n: > pwned", "http://127.0.0.1:5000/x", "ftp://127.0.0.1",
               "http://a b", "http://127.0.0.1:99999", "http://[nope]:80", "", 5000,
               "http://127.0.0.1:5000'; : > pwned; '", "javascript:alert(1)"]
#: The calls a generated test makes; nothing else may be called.
TEST_CALLS = {"app.test_client", "client.open", "pytest.raises"}
OPEN_KEYWORDS = {"method", "headers", "json", "data", "base_url"}


def literal(text: str) -> st.SearchStrategy[str]:
    """A value as the recorder stores it (a repr), or as a crafted file may hold it."""
    return st.one_of(st.just(repr(text)), st.just(text))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def hostile_requests(draw: st.DrawFn, number: int) -> Request:
    """A request whose every field the exporters read holds hostile text."""
    headers = draw(st.dictionaries(st.one_of(HOSTILE, st.sampled_from(["X-Mode", "Cookie"])),
                                   HOSTILE.flatmap(literal), max_size=3))
    detail = {f"header {name}": value for name, value in headers.items()}
    detail["header Host"] = repr("attacker.example:80")
    detail["header Content-Length"] = draw(HOSTILE.flatmap(literal))
    detail.update(method=draw(HOSTILE), path=draw(HOSTILE), query=draw(HOSTILE))
    body = draw(st.one_of(
        st.none(),
        st.dictionaries(HOSTILE, HOSTILE.flatmap(literal), max_size=3).map(
            lambda form: {"form": form}),
        JSON_VALUES.map(lambda value: {"json": repr(value)}),
        HOSTILE.map(lambda text: {"json": text}),
    ))
    name, file = draw(HOSTILE), draw(st.one_of(st.none(), HOSTILE))
    steps: list[Step] = [Step(0, None, "call", name, file, 1, 10, 7, detail, role=Role.REQUEST)]
    if body is not None:
        steps.append(Step(1, 0, "note", draw(HOSTILE), file, 2, 20, 7, {"x": draw(HOSTILE)},
                          role=Role.FINALIZE, facts={"request_data": body}))
    steps.append(Step(len(steps), 0, "return", name, file, 3, 30, 7,
                      {"result": draw(HOSTILE)}))
    return Request(
        id=number, method=draw(METHOD),
        path="/" + draw(HOSTILE), status=draw(st.one_of(st.none(), st.integers(100, 599))),
        endpoint=draw(st.one_of(st.none(), HOSTILE)), rule=draw(st.one_of(st.none(), HOSTILE)),
        view_args={}, outcome=draw(st.sampled_from(["ok", "not_found", "error"])),
        steps=tuple(steps), query=draw(st.one_of(HOSTILE, HOSTILE.map(lambda q: repr(q)[1:-1]))),
        error=draw(st.one_of(st.none(), HOSTILE, st.just("KeyError('x')"))),
    )


@st.composite
def hostile_traces(draw: st.DrawFn) -> tuple[Trace, str | None]:
    """A trace full of hostile values, and the live server a replay must target (or None)."""
    count = draw(st.integers(1, 3))
    requests = tuple(draw(hostile_requests(number)) for number in range(count))
    meta: dict[str, Any] = {"created": draw(HOSTILE), "python": draw(HOSTILE),
                            "app": draw(st.one_of(st.none(), HOSTILE)),
                            "flask": draw(HOSTILE), "redacted": draw(st.booleans())}
    server = draw(st.one_of(st.none(), st.sampled_from(sorted(SERVERS)),
                            st.sampled_from(BAD_SERVERS), HOSTILE))
    if server is not None:
        meta["server"] = server
    expected = SERVERS.get(server) if isinstance(server, str) else None
    return Trace(meta, (), Registration(), requests, {}), expected


def run_script(script: str, shell: str, where: Path) -> list[list[str]]:
    """Run a curl export with `curl` a shell function and PATH empty; the arguments of
    each curl call. Fails if anything else ran or was said."""
    calls = where / "calls"
    calls.unlink(missing_ok=True)
    prelude = ("curl() { for a in \"$@\"; do printf '%s\\0' \"$a\"; done >> \"$CALLS\"; "
               "printf 'END\\0' >> \"$CALLS\"; }\n")
    path = where / "replay.sh"
    path.write_text(prelude + script, encoding="utf-8")
    empty = where / "empty"
    empty.mkdir(exist_ok=True)
    result = subprocess.run([f"/bin/{shell}", str(path)], cwd=where, capture_output=True,
                            env={"PATH": str(empty), "CALLS": str(calls)}, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b""), result
    assert not (where / "pwned").exists(), "the script ran a recorded value as a command"
    words = calls.read_bytes().decode("utf-8", "surrogatepass").split("\0") \
        if calls.exists() else [""]
    assert words[-1] == ""
    calls_made: list[list[str]] = [[]]
    for word in words[:-1]:
        if word == "END":
            calls_made.append([])
        else:
            calls_made[-1].append(word)
    return calls_made[:-1]


def check_curl(trace: Trace, server: str | None, where: Path) -> None:
    """One curl call per request, with the words the exporter meant, to the right host."""
    script = curl_commands(trace).text
    assert "\x00" not in script
    script.encode("utf-8")  # writable as a file, printable on a terminal
    subprocess.run(["bash", "-n"], input=script.encode(), check=True, timeout=30)
    base = server or DEFAULT_BASE_URL
    replays = [replay_of(request) for request in trace.requests]
    for line in script.splitlines():
        if line.startswith("# request #"):
            assert line.isprintable()
    for shell in ("bash", "dash"):
        calls = run_script(script, shell, where)
        assert len(calls) == len(replays)
        for call, replay in zip(calls, replays, strict=True):
            meant = [word for group in command_words(replay, base) for word in group]
            assert call == meant[1:]
            assert call[-1] == base + replay.url_path
            assert "attacker.example" not in call[-1]


def check_pytest(trace: Trace, server: str | None) -> None:
    """The module parses to the expected statements, calling nothing but the client."""
    text = pytest_file(trace, str(trace.meta.get("app") or "app.py")).text
    text.encode("utf-8")
    tree = ast.parse(text)
    docstring, *imports, app, fixture = tree.body[:7]
    tests = tree.body[7:]
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert visible(str(trace.meta["created"] or "an unknown date")) in docstring.value.value
    assert [ast.unparse(node) for node in imports] == [
        "from __future__ import annotations", "import pytest",
        "from flask import Flask, request", "from flask.cli import ScriptInfo"]
    assert isinstance(app, ast.Assign) and ast.unparse(app.targets[0]) == "APP"
    assert ast.literal_eval(app.value) == str(trace.meta.get("app") or "app.py")
    assert ast.dump(fixture) == ast.dump(ast.parse(_FIXTURE).body[0])
    assert len(tests) == len(trace.requests)
    for test, request in zip(tests, trace.requests, strict=True):
        check_test(test, request, server)


def check_test(test: ast.stmt, request: Request, server: str | None) -> None:
    assert isinstance(test, ast.FunctionDef) and test.name.startswith("test_")
    assert test.name.isidentifier() and not test.decorator_list
    doc = ast.get_docstring(test, clean=False)
    assert doc is not None
    assert doc.startswith(f"Request #{request.id}: {visible(request.method)} "
                          f"{visible(request.path)} → ")
    assert "\n" not in doc.split("\n\n")[0]  # the recorded values stay on one line
    assert [type(node) for node in test.body] == [ast.Expr, ast.With]
    kinds = (ast.With, ast.Assign, ast.Assert)
    assert all(isinstance(node, kinds) for node in ast.walk(test.body[1]) if
               isinstance(node, ast.stmt))
    opened = []
    for node in ast.walk(test):
        if isinstance(node, ast.Call):
            assert ast.unparse(node.func) in TEST_CALLS, ast.unparse(node)
            if ast.unparse(node.func) == "client.open":
                opened.append(node)
    (call,) = opened
    replay = replay_of(request)
    [url] = [ast.literal_eval(arg) for arg in call.args]
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert url == replay.url_path and keywords["method"] == replay.method
    assert set(keywords) <= OPEN_KEYWORDS
    assert keywords.get("base_url") == server
    assert keywords.get("headers", []) == list(replay.headers)
    if replay.has_json:
        assert keywords["json"] == replay.json
    for node in ast.walk(test):
        if isinstance(node, ast.Assert):
            assert ast.unparse(node.test).startswith(("response.status_code == ",
                                                      "request.url_rule"))


def check_perfetto(trace: Trace) -> None:
    document = trace_events(trace)
    text = json_dumps(document, separators=(",", ":"))
    text.encode("utf-8")
    assert json.loads(text) == json.loads(json.dumps(document))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(drawn=hostile_traces())
def test_hostile_values_stay_data_in_every_export(drawn, tmp_path_factory) -> None:
    trace, server = drawn
    where = tmp_path_factory.mktemp("hostile")
    check_perfetto(trace)
    if any(replay_method_invalid(request.method) for request in trace.requests):
        with pytest.raises(ExportError, match="which is not an HTTP method") as error:
            curl_commands(trace)
        assert "\n" not in str(error.value)
        with pytest.raises(ExportError, match="which is not an HTTP method"):
            pytest_file(trace, "app.py")
        return
    check_curl(trace, server, where)
    check_pytest(trace, server)


def replay_method_invalid(method: str) -> bool:
    return not method or any(not (ch.isascii() and (ch.isalnum() or ch in "!#$%&'*+.^_`|~-"))
                             for ch in method)


def crafted(path: str = "/x", method: str = "GET", *, meta: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None, status: int | None = 200) -> Trace:
    """A one-request trace as a crafted file would hold it."""
    detail = {f"header {name}": value for name, value in (headers or {}).items()}
    step = Step(0, None, "call", "wsgi_app", None, None, 0, 1, detail, role=Role.REQUEST)
    request = Request(0, method, path, status, "x", "/x", {}, "ok", (step,))
    return Trace({"created": "today", "python": "3.11", "app": "app.py", **(meta or {})}, (),
                 Registration(), (request,), {})


def test_a_newline_in_the_path_cannot_end_the_curl_comment(tmp_path) -> None:
    trace = crafted("/x\n: > pwned\n$(: > pwned)`: > pwned`")
    script = curl_commands(trace).text
    assert "# request #0: GET /x\\n: > pwned\\n$(: > pwned)`: > pwned` → 200\n" in script
    [call] = run_script(script, "bash", tmp_path)
    assert call == [f"{DEFAULT_BASE_URL}/x%0A:%20%3E%20pwned%0A$(:%20%3E%20pwned)%60:%20%3E"
                    "%20pwned%60"]


def test_created_cannot_escape_the_pytest_docstring() -> None:
    created = 'now."""\nimport os\nos.system("touch pwned")\n"""'
    text = pytest_file(crafted(meta={"created": created}), "app.py").text
    tree = ast.parse(text)
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import)
                and node.names[0].name == "os"]
    assert "os.system" not in ast.unparse(tree.body[1:])
    assert visible(created) in ast.get_docstring(tree, clean=False)


def test_the_recorded_host_is_never_the_target() -> None:
    hostile = {"Host": repr("attacker.example:8000")}
    trace = crafted(headers=hostile)
    assert curl_commands(trace).text.endswith(f"curl \\\n  {DEFAULT_BASE_URL}/x\n")
    assert "base_url" not in pytest_file(trace, "app.py").text
    served = crafted(headers=hostile, meta={"server": "http://127.0.0.1:5123"})
    assert curl_commands(served).text.endswith("curl \\\n  http://127.0.0.1:5123/x\n")
    assert "base_url='http://127.0.0.1:5123'" in pytest_file(served, "app.py").text
    given_url = curl_commands(served, base_url="https://example.org/api/").text
    assert given_url.endswith("curl \\\n  https://example.org/api/x\n")
    for bad in BAD_SERVERS:
        text = curl_commands(crafted(headers=hostile, meta={"server": bad})).text
        assert text.endswith(f"curl \\\n  {DEFAULT_BASE_URL}/x\n"), bad


def test_headers_no_request_could_carry_are_left_out_and_said() -> None:
    trace = crafted(headers={"X-Ok": repr(""), "X-Break": repr("a\r\nSet-Cookie: x=1"),
                             "Bad Name": repr("v"), "Content-Length": repr("²")})
    exported = curl_commands(trace)
    assert "-H 'X-Ok;'" in exported.text and "Set-Cookie" not in exported.text
    assert "-H 'Bad Name" not in exported.text
    assert any("header 'X-Break' holds a line break" in note for note in exported.notes)
    assert any("header 'Bad Name' is not a valid header name" in note
               for note in exported.notes)


def test_a_field_curl_cannot_encode_is_sent_encoded(tmp_path) -> None:
    step = Step(0, None, "call", "wsgi_app", None, None, 0, 1, {}, role=Role.REQUEST)
    note = Step(1, 0, "note", "finalize", None, None, 1, 1, {}, role=Role.FINALIZE,
                facts={"request_data": {"form": {"a&b=c": repr("x"), "n": repr("nul\x00!")}}})
    request = Request(0, "POST", "/f", 200, "f", "/f", {}, "ok", (step, note))
    trace = Trace({"created": "today", "python": "3.11"}, (), Registration(), (request,), {})
    [call] = run_script(curl_commands(trace).text, "bash", tmp_path)
    assert call == ["--data-raw", "a%26b%3Dc=x", "--data-raw", "n=nul%00%21",
                    f"{DEFAULT_BASE_URL}/f"]


def test_a_json_body_json_cannot_hold_is_still_sent(tmp_path) -> None:
    step = Step(0, None, "call", "wsgi_app", None, None, 0, 1, {}, role=Role.REQUEST)
    note = Step(1, 0, "note", "finalize", None, None, 1, 1, {}, role=Role.FINALIZE,
                facts={"request_data": {"json": "{(1, 2): '\\ud800', 'k': [1, 2.5]}"}})
    request = Request(0, "POST", "/j", 200, "j", "/j", {}, "ok", (step, note))
    trace = Trace({"created": "today", "python": "3.11"}, (), Registration(), (request,), {})
    [call] = run_script(curl_commands(trace).text, "bash", tmp_path)
    assert call[-3:] == ["--data-raw", '{"(1, 2)":"\\ud800","k":[1,2.5]}', f"{DEFAULT_BASE_URL}/j"]
    assert json.loads(call[-2]) == {"(1, 2)": "\ud800", "k": [1, 2.5]}


def test_a_method_that_is_not_one_is_refused_in_one_line(tmp_path) -> None:
    with pytest.raises(ExportError, match=r"method 'GET\\n: > pwned', which is not an HTTP"):
        curl_commands(crafted(method="GET\n: > pwned"))
    saved = tracer.save(crafted(method="GET /x HTTP/1.1\nX"), tmp_path / "t.json")
    result = CliRunner().invoke(cli, ["export", str(saved), "--format", "curl"])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "not an HTTP method" in result.output


def test_a_base_url_that_is_not_one_is_refused_in_one_line(tmp_path) -> None:
    saved = tracer.save(crafted(), tmp_path / "t.json")
    for bad in ("127.0.0.1:5000", "http://a b", "http://x\n; : > pwned", "ftp://host"):
        result = CliRunner().invoke(cli, ["export", str(saved), "--format", "curl",
                                          "--base-url", bad])
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and "--base-url takes an http://" in result.output


def test_the_export_command_writes_hostile_traces_without_a_traceback(tmp_path) -> None:
    trace = crafted("/LONE\x00\u2028", meta={"created": '"""LONE', "app": "a\nb.py"})
    saved = tracer.save(trace, tmp_path / "t.json")
    # A file can hold what no recording makes: an unpaired surrogate, escaped in its JSON.
    saved.write_bytes(saved.read_bytes().replace(b"LONE", b"\\ud800"))
    assert tracer.load(saved).requests[0].path == "/\ud800\x00\u2028"
    for fmt in ("pytest", "curl", "perfetto"):
        out = tmp_path / f"out.{fmt}"
        result = CliRunner().invoke(cli, ["export", str(saved), "--format", fmt, "-o", str(out)])
        assert result.exit_code == 0, (fmt, result.output, result.exception)
        out.read_text(encoding="utf-8")
    ast.parse((tmp_path / "out.pytest").read_text(encoding="utf-8"))


PATH_APP = """
from flask import Flask, request

app = Flask(__name__)


@app.route("/files/<path:name>")
def files(name):
    return {"name": name, "args": request.args.to_dict()}
"""


def test_a_decoded_path_is_sent_again_as_the_same_path(tmp_path) -> None:
    app_file = tmp_path / "path_app_for_replay.py"
    app_file.write_text(textwrap.dedent(PATH_APP))
    recording = record_app(str(app_file), [RequestSpec("GET", "/files/a%3Fb%20c%25d?q=1")])
    [request] = recording.trace.requests
    assert request.path == "/files/a?b c%d" and request.status == 200
    replay = replay_of(request)
    assert unquote(replay.url_path.partition("?")[0]) == request.path
    assert curl_commands(recording.trace).text.endswith(
        f"'{DEFAULT_BASE_URL}/files/a%3Fb%20c%25d?q=1'\n")
    app = ScriptInfo(app_import_path=str(app_file), set_debug_flag=False).load_app()
    response = app.test_client().open(replay.url_path, method=replay.method)
    assert response.get_json() == {"name": "a?b c%d", "args": {"q": "1"}}
