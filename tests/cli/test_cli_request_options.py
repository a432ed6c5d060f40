"""`-H`, `-d`, `--json`, the method and the path: what the test client would refuse or drop
without a word is one line on stderr and exit 2, before anything is recorded."""

from __future__ import annotations

import subprocess
import sys

import pytest
from flaskscope_testing import REPO_ROOT

import tracer
from flaskscope.source import parse_request
from tracer.errors import RequestSpecError


def _one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == "", "nothing is recorded or printed"
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("flaskscope: error: ")
    return result.stderr


@pytest.mark.parametrize(("options", "quoted"), [
    (("-H", "X-Evil: a\nb"), r"'a\nb'"),
    (("-H", "X-Evil: a\rb"), r"'a\rb'"),
    (("-H", "X-Evil: a\x00b"), r"'a\x00b'"),
    (("-H", "X-Evil: ab\n"), r"'ab\n'"),
    (("-H", "X Evil: ab"), "'X Evil'"),
    (("-H", "\nX-Evil: ab"), r"'\nX-Evil'"),
    (("-H", "Content-Length: 3"), "Content-Length"),
    (("-H", "transfer-encoding: chunked"), "transfer-encoding"),
])
def test_a_header_the_test_client_refuses_or_drops(run, options, quoted) -> None:
    message = _one_error_line(run("trace", "fixtures/seed_views.py", "GET", "/index", *options))
    assert quoted in message


@pytest.mark.parametrize("content_type", ["application/json", "text/plain",
                                          "Application/X-WWW-Form-Urlencoded"])
def test_form_data_under_a_content_type_it_would_be_dropped_for(run, content_type) -> None:
    message = _one_error_line(run("trace", "fixtures/seed_login.py", "POST", "/login",
                                  "-d", "user=admin", "-H", f"Content-Type: {content_type}"))
    assert repr(content_type) in message and "--json" in message


@pytest.mark.parametrize(("path", "quoted"), [
    ("/in\ndex", "%0A"),
    ("/in\tdex", "%09"),
    ("/index\r", "%0D"),
    ("/index#top", "'#top'"),
    ("//evil/index", "'evil'"),
])
def test_a_path_the_test_client_would_change(run, path, quoted) -> None:
    message = _one_error_line(run("trace", "fixtures/seed_views.py", "GET", path))
    assert repr(path) in message and quoted in message


def test_the_same_checks_guard_every_command_that_records(run) -> None:
    target = ("fixtures/seed_views.py", "GET", "/index")
    for command in (("explain", *target), ("graph", "--kind", "calls", *target),
                    ("export", "--format", "curl", *target),
                    ("compare", "fixtures/seed_login.py", "fixtures/werkzeug_login.py",
                     "-r", "GET /login")):
        message = _one_error_line(run(*command, "-H", "X-Evil: a\nb"))
        assert r"'a\nb'" in message


def test_what_the_test_client_sends_as_given_is_accepted(run, tmp_path) -> None:
    out = tmp_path / "t.json"
    result = run("trace", "fixtures/seed_login.py", "POST", "/login", "-d", "user=admin",
                 "-d", "pwd=password", "-H", "Content-Type: multipart/form-data",
                 "-H", "X-Note: a\tb", "-o", str(out), "--no-registration")
    assert result.exit_code == 0, result.output
    assert tracer.load(out).requests[0].status == 302  # the form reached the view
    encoded = run("trace", "fixtures/seed_views.py", "GET", "/in%0Adex", "--no-registration")
    assert encoded.exit_code == 0 and "→ 404" in encoded.output


def test_parse_request_keeps_values_and_only_trims_spaces_and_tabs() -> None:
    spec = parse_request(["post", "/x?a=1"], ["k=v\nw"], [" X-A :\t1 2 ", "Content-Type: "
                         "application/x-www-form-urlencoded; charset=utf-8"])
    assert spec.method == "POST" and spec.path == "/x?a=1"
    assert spec.data == (("k", "v\nw"),)  # form fields are encoded, newlines included
    assert spec.headers[0] == ("X-A", "1 2")
    with pytest.raises(RequestSpecError, match="control character"):
        parse_request(["/x"], headers=["X-A: 1\r\n"])


def test_the_header_from_the_issue_in_a_real_process(tmp_path) -> None:
    script = REPO_ROOT / ".venv" / "bin" / "flaskscope"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flaskscope.cli"]
    done = subprocess.run(
        [*command, "trace", str(REPO_ROOT / "fixtures" / "seed_views.py"), "GET", "/index",
         "-H", "X-Evil: a\nb"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "header 'X-Evil'" in done.stderr and r"'a\nb'" in done.stderr
