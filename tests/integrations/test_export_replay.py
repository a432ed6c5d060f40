"""`export --format pytest|curl`: the recorded request, sent again."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT, fixture_path, warnings_told
from integration_helpers import recorded

import tracer
from flaskscope.cli import cli
from tracer.frameworks.flask.loading import RequestSpec
from tracer.session import record_app
from viewer.export import curl_commands, pytest_file, replay_of
from viewer.export.replay import ExportError

ECHO_APP = '''
from flask import Flask, request

app = Flask(__name__)


@app.route("/items/<int:n>", methods=["PUT"])
def put_item(n):
    body = request.get_json()
    if body == {"name": "lamp", "tags": ["a", "b"]} and request.args.get("q") == "x y" \\
            and request.headers.get("X-Mode") == "fast":
        return {"n": n}, 201
    return {"got": body}, 400


@app.route("/form", methods=["POST"])
def form():
    return ("ok", 202) if request.form.get("city") == "Zürich" else ("bad", 400)


@app.route("/raw", methods=["POST"])
def raw():
    # Reads the bytes, never get_json(): the replay must still send this exact body.
    return ("ok", 203) if request.data == b'{"a": [1, 2], "b": "c d"}' else ("bad", 400)
'''


@pytest.fixture
def run_pytest(pytestconfig) -> Callable[..., subprocess.CompletedProcess[str]]:
    """pytest on a file or directory in its own process, as a user would run it: every
    warning an error, but for those this run was told to ignore (`-W`, as the version
    matrix ignores old Werkzeug's DeprecationWarnings on Python 3.12+)."""
    told = [f"-W{option}" for option in warnings_told(pytestconfig)]

    def run(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider",
             "-W", "error", *told, *args],
            cwd=path if path.is_dir() else path.parent, capture_output=True, text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def echo_app(tmp_path) -> Path:
    path = tmp_path / "echo_app_for_replay.py"
    path.write_text(textwrap.dedent(ECHO_APP))
    return path


RAISING_APP = """
from flask import Flask

app = Flask(__name__)
app.config["PROPAGATE_EXCEPTIONS"] = True


@app.get("/fail")
def fail():
    raise KeyError("missing")
"""


def test_the_generated_pytest_files_run_and_pass(tmp_path, echo_app, run_pytest) -> None:
    real = recorded("real_app", "GET /shop/products/7", "GET /nowhere", "GET /docs",
                    "GET /boom", "GET /crash", "HEAD /stacked")
    echo = record_app(str(echo_app), [
        RequestSpec("PUT", "/items/3?q=x+y", headers=(("X-Mode", "fast"),),
                    json={"name": "lamp", "tags": ["a", "b"]}, has_json=True),
        RequestSpec("POST", "/form", data=(("city", "Zürich"),)),
        RequestSpec("POST", "/raw", json={"a": [1, 2], "b": "c d"}, has_json=True),
    ]).trace
    assert [r.status for r in echo.requests] == [201, 202, 203]
    views = recorded("seed_views", "GET /index", "POST /index",
                     RequestSpec("GET", "/index", headers=(("X-Deny", "1"),)))
    raising_app = tmp_path / "raising_app_for_replay.py"
    raising_app.write_text(RAISING_APP)
    raising = record_app(str(raising_app), [RequestSpec("GET", "/fail")]).trace
    assert raising.requests[0].status is None
    tests = tmp_path / "generated"
    tests.mkdir()
    total = 0
    for name, trace, app in (("real", real, fixture_path("real_app")),
                             ("echo", echo, str(echo_app)),
                             ("views", views, fixture_path("seed_views")),
                             ("raising", raising, str(raising_app))):
        exported = pytest_file(trace, app)
        assert exported.notes == ()
        path = tests / f"test_replay_{name}.py"
        path.write_text(exported.text)
        compile(exported.text, str(path), "exec")
        total += len(trace.requests)
    assert "with pytest.raises(KeyError):" in (tests / "test_replay_raising.py").read_text()
    result = run_pytest(tests)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{total} passed" in result.stdout


def test_the_generated_test_really_checks_status_and_endpoint(tmp_path, run_pytest) -> None:
    trace = recorded("real_app", "GET /shop/products/7", "GET /nowhere")
    text = pytest_file(trace, fixture_path("real_app")).text
    assert "assert request.url_rule.endpoint == 'shop.product_detail'" in text
    assert "assert response.status_code == 404" in text
    assert "assert request.url_rule is None" in text
    wrong = tmp_path / "test_wrong.py"
    wrong.write_text(text.replace("== 'shop.product_detail'", "== 'shop.product_list'")
                     .replace("status_code == 404", "status_code == 200"))
    result = run_pytest(wrong)
    assert "2 failed" in result.stdout, result.stdout
    assert "'shop.product_detail' == 'shop.product_list'" in result.stdout


def test_secrets_stay_redacted_and_say_so() -> None:
    spec = RequestSpec("POST", "/login", data=(("user", "admin"), ("pwd", "password")),
                       headers=(("Authorization", "Bearer abc"),))
    redacted = recorded("seed_login", spec)
    kept = recorded("seed_login", spec, redact=False)
    text = curl_commands(redacted).text
    assert "--data-binary 'user=admin&pwd=***'" in text and "'Authorization: ***'" in text
    assert "# note: the body holds '***' where the recording hid a secret" in text
    shown = curl_commands(kept).text
    assert "'user=admin&pwd=***'" in shown and "pass --no-redact to send" in shown
    plain = curl_commands(kept, redact=False).text
    assert "--data-binary 'user=admin&pwd=password'" in plain
    assert "-H 'Authorization: Bearer abc'" in plain
    with pytest.raises(ExportError, match="recorded redacted"):
        curl_commands(redacted, redact=False)
    with pytest.raises(ExportError, match="recorded redacted"):
        pytest_file(redacted, "app.py", redact=False)


def test_curl_commands_quote_what_was_sent(echo_app) -> None:
    trace = record_app(str(echo_app), [
        RequestSpec("PUT", "/items/3?q=x+y", headers=(("X-Mode", "fast"),),
                    json={"name": "lamp", "tags": ["a", "b"]}, has_json=True),
        RequestSpec("POST", "/form", data=(("city", "Zürich"),)),
    ]).trace
    commands = curl_commands(trace, base_url="http://127.0.0.1:8000/").text
    first, second = [c for c in commands.split("# request ")[1:]]
    words = shlex.split(first.split("\n", 1)[1].replace("\\\n", " "))
    assert words == ["curl", "-X", "PUT", "-H", "X-Mode: fast", "-H",
                     "Content-Type: application/json", "--data-binary",
                     '{"name": "lamp", "tags": ["a", "b"]}',  # byte for byte as sent
                     "http://127.0.0.1:8000/items/3?q=x+y"]
    words = shlex.split(second.split("\n", 1)[1].replace("\\\n", " "))
    assert words == ["curl", "-H", "Content-Type: application/x-www-form-urlencoded",
                     "--data-binary", "city=Z%C3%BCrich", "http://127.0.0.1:8000/form"]
    head = curl_commands(recorded("seed_views", "HEAD /index")).text
    assert "curl --head \\\n  http://127.0.0.1:5000/index" in head


def test_a_body_the_app_never_read_is_replayed_all_the_same() -> None:
    trace = recorded("seed_views", RequestSpec("POST", "/index", data=(("a", "1"),)))
    replay = replay_of(trace.requests[0])
    assert replay.body == b"a=1"
    assert ("Content-Type", "application/x-www-form-urlencoded") in replay.headers


def test_the_export_command_for_pytest_and_curl(tmp_path, monkeypatch, run_pytest) -> None:
    monkeypatch.chdir(REPO_ROOT)
    runner = CliRunner()
    out = tmp_path / "test_exported.py"
    result = runner.invoke(cli, ["export", "fixtures/seed_views.py", "GET", "/index",
                                 "--format", "pytest", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"run it with `pytest {out}`" in result.output
    assert f"APP = {str(REPO_ROOT / 'fixtures' / 'seed_views.py')!r}" in out.read_text()
    assert "1 passed" in run_pytest(out).stdout
    result = runner.invoke(cli, ["export", "fixtures/real_app.py", "GET", "/dashboard", "-H",
                                 "Cookie: user=alice", "--format", "curl", "--no-redact"])
    assert result.exit_code == 0, result.output
    assert "-H 'Cookie: user=alice'" in result.output
    saved = tmp_path / "t.json"
    tracer.save(recorded("seed_views", "GET /index"), saved)
    result = runner.invoke(cli, ["export", str(saved), "--format", "curl", "--no-redact"])
    assert result.exit_code == 2
    assert "recorded redacted" in result.output


def test_a_body_the_app_read_as_bytes_is_replayed_byte_for_byte(echo_app) -> None:
    trace = record_app(str(echo_app), [
        RequestSpec("POST", "/raw", json={"a": [1, 2], "b": "c d"}, has_json=True)]).trace
    (request,) = trace.requests
    assert request.status == 203
    assert replay_of(request).body == b'{"a": [1, 2], "b": "c d"}'
    words = shlex.split(curl_commands(trace).text.split("\n", 1)[1].replace("\\\n", " "))
    assert words == ["curl", "-H", "Content-Type: application/json", "--data-binary",
                     '{"a": [1, 2], "b": "c d"}', "http://127.0.0.1:5000/raw"]
