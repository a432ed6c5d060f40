"""Secrets sent through every channel of a request never reach a trace or an output.

Each secret is a distinctive marker. The app (`fixtures/secrets_app.py`) receives them as
headers, Basic credentials, cookies, form and JSON fields, a query string, a path,
config values; echoes one back; keeps one in a local; and carries a signed session
cookie that only Flask's code reads. The recording, in hook and in line mode, is then
written as JSON and gzip and shown by every command; no output may hold a marker
(the app's own embedded source is the one place it may: the app wrote it there).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
from pathlib import Path

import flask
import pytest
from click.testing import CliRunner

import tracer
from flaskscope.cli import cli

SECRETS = {
    "bearer": "tok-AUTH-MARK-7f3a9c",
    "basic": "pw-BASIC-MARK-91c2e",
    "api_header": "xk-HEADER-MARK-4d10",
    "cookie": "ck-COOKIE-MARK-55d1",
    "form": "pw-FORM-MARK-a8e2",
    "json": "tk-JSON-MARK-c41b",
    "raw_json": "tk-RAW-MARK-0be3",
    "query": "ak-QUERY-MARK-e07d",
    "path": "rt-PATH-MARK-b9f6",
}
CONFIG_SECRETS = ("sk-CONFIG-MARK-d2a4", "cfg-TOKEN-MARK-71e0")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _record(fresh_import, lines: bool) -> tracer.Trace:
    with tracer.record(lines=lines) as recorder:
        app = fresh_import("fixtures.secrets_app").app
        client = app.test_client()
        client.get("/echo", headers={"Authorization": f"Bearer {SECRETS['bearer']}",
                                     "X-Api-Key": SECRETS["api_header"]})
        client.get("/echo", headers={"Authorization": _basic("alice", SECRETS["basic"])})
        client.set_cookie("tracking", SECRETS["cookie"])
        client.post("/login", data={"user": "alice", "pwd": SECRETS["form"]})
        client.get("/me")  # sends the signed session cookie /login set
        client.post("/api", json={"token": SECRETS["json"], "n": 1})
        client.get("/raw", data=json.dumps({"auth_token": SECRETS["raw_json"]}),
                   content_type="application/json")
        client.get("/search?" + "q=" + "x" * 300 + f"&api_key={SECRETS['query']}")
        client.get(f"/reset/{SECRETS['path']}")
        return recorder.trace(app="fixtures/secrets_app.py")


def _markers(text: str) -> list[str]:
    lowered = text.lower()
    return [marker for marker in (*SECRETS.values(), *CONFIG_SECRETS)
            if marker.lower() in lowered]


def _without_app_source(document: str, trace: tracer.Trace) -> str:
    """The text of a trace file minus the app's own embedded source lines."""
    for path, source in trace.sources.items():
        if path.endswith("secrets_app.py"):
            for line in source.lines.values():
                document = document.replace(json.dumps(line)[1:-1], "")
    return document


@pytest.fixture(params=[False, True], ids=["hooks", "lines"])
def recorded(request, fresh_import, tmp_path: Path) -> tuple[tracer.Trace, Path]:
    trace = _record(fresh_import, lines=request.param)
    path = tmp_path / "secrets.json"
    tracer.save(trace, path)
    return trace, path


def test_the_trace_file_holds_no_secret(recorded) -> None:
    trace, path = recorded
    gz = path.with_suffix(".json.gz")
    tracer.save(trace, gz)
    for text in (path.read_text(), gzip.decompress(gz.read_bytes()).decode()):
        assert _markers(_without_app_source(text, trace)) == []
    assert trace.meta["redacted"] is True
    assert [r.status for r in trace.requests] == [200] * 8


def test_the_path_and_the_query_are_redacted_where_the_secret_was(recorded) -> None:
    trace, _ = recorded
    reset = trace.requests[-1]
    assert reset.path == "/reset/***"
    assert reset.view_args == {"token": "***"}
    search = trace.requests[-2]
    assert search.query.endswith("api_key=***")


def test_the_echoed_header_is_hidden_in_the_views_return_value(recorded) -> None:
    trace, _ = recorded
    returns = [s.detail.get("result", "") for s in trace.requests[0].steps
               if s.kind == "return" and s.name == "echo"]
    assert returns == ["'hello *** (None)'"]


@pytest.mark.parametrize("arguments", [
    ["trace-file"],
    ["explain", "--lang", "en", "--source"],
    ["explain", "--lang", "zh"],
    ["explain", "--format", "json"],
    ["graph", "--kind", "calls", "-o", "OUT.dot"],
    ["graph", "--kind", "routes", "-o", "OUT.dot"],
    ["graph", "--kind", "decorators", "-o", "OUT.dot"],
    ["export", "--format", "perfetto", "-o", "OUT.json"],
    ["export", "--format", "pytest", "-o", "OUT.py"],
    ["export", "--format", "curl", "-o", "OUT.sh"],
], ids=lambda a: "-".join(a[:3]))
def test_no_command_shows_a_secret(recorded, arguments, tmp_path: Path) -> None:
    trace, path = recorded
    if arguments == ["trace-file"]:  # the tree `flaskscope trace` prints
        from rich.console import Console

        from viewer.render import request_title, step_tree

        console = Console(record=True, width=300, file=io.StringIO())
        console.print(step_tree(trace.registration.steps, "registration"))
        for request in trace.requests:
            console.print(step_tree(request.steps, request_title(request)))
        assert _markers(console.export_text()) == []
        return
    requests = range(len(trace.requests)) if arguments[0] in ("explain", "graph") else [None]
    for number in requests:
        out = tmp_path / f"out-{number}{Path(arguments[-1]).suffix}"
        argv = [arguments[0], str(path),
                *[str(out) if a.startswith("OUT") else a for a in arguments[1:]]]
        if number is not None:
            argv += ["--request", str(number)]
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == 0, result.output
        shown = result.output + (out.read_text() if out.exists() else "")
        assert _markers(shown) == [], argv


def test_a_secret_inside_a_long_value_is_hidden_before_the_value_is_cut(fresh_import) -> None:
    """Cut first, the secret's tail would survive the cut and no longer match."""
    secret = SECRETS["bearer"]
    with tracer.record() as recorder:
        app = fresh_import("fixtures.secrets_app").app

        @app.get("/long")
        def long() -> str:
            return "x" * 70 + secret + "y" * 300  # the cut falls inside the secret

        app.test_client().get("/long", headers={"Authorization": f"Bearer {secret}"})
        trace = recorder.trace()
    (result,) = [s.detail["result"] for s in trace.requests[0].steps
                 if s.kind == "return" and s.name.endswith("long")]
    assert "***" in result
    fragments = {secret[i:i + 5] for i in range(len(secret) - 4)}
    assert not [f for f in fragments if f in result]


def test_a_body_too_long_to_search_makes_the_trace_say_it_is_not_fully_redacted(
        fresh_import, monkeypatch) -> None:
    from tracer import secret_values

    monkeypatch.setattr(secret_values, "MAX_BODY", 64)
    monkeypatch.setattr("tracer.frameworks.wsgi.hooks.MAX_BODY", 64)
    with tracer.record() as recorder:
        app = fresh_import("fixtures.secrets_app").app
        app.test_client().post("/login", data={"user": "a" * 100, "pwd": SECRETS["form"]})
        trace = recorder.trace()
    assert trace.meta["redacted"] is False
    (gap,) = trace.meta["redaction_gaps"]
    assert gap.startswith("request 0: its body (of ") and gap.endswith(
        "bytes) was not searched for secrets (limit: 64 bytes)")


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_names_of_code_are_not_taken_for_secrets(fresh_import, lines: bool) -> None:
    """A function whose name holds a secret's text is the app's source, not a value."""
    with tracer.record(lines=lines) as recorder:
        app = fresh_import("fixtures.secrets_app").app
        app.config["SECRET_KEY"] = "reports_2024"

        @app.get("/monthly")
        def monthly_reports_2024_view() -> str:
            return "reports_2024"

        app.test_client().get("/monthly")
        trace = recorder.trace()
    request = trace.requests[0]
    (dispatch,) = [s for s in request.steps if s.role == "dispatch" and s.kind == "call"]
    assert dispatch.facts["view"].endswith("monthly_reports_2024_view")
    assert any(name.endswith("monthly_reports_2024_view") for name in dispatch.facts["entered"])
    (returned,) = [s for s in request.steps if s.kind == "return"
                   and s.name.endswith("monthly_reports_2024_view")]
    assert returned.detail["result"] == "'***'"


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_settings_about_secrets_are_not_taken_for_secrets(fresh_import, lines: bool) -> None:
    """Flask's `SESSION_COOKIE_NAME` ("session") and Flask-WTF's CSRF header and field
    names sit under secret-looking keys but are settings: hiding them hid the word
    "session", a cookie domain and header names in every value of every trace."""
    pytest.importorskip("flask_wtf")
    from flask_wtf.csrf import CSRFProtect

    with tracer.record(lines=lines) as recorder:
        app = fresh_import("fixtures.secrets_app").app
        app.config["SESSION_COOKIE_DOMAIN"] = "shop.example.test"
        app.config["WTF_CSRF_ENABLED"] = False  # the protection's settings, not its checks
        CSRFProtect(app)

        @app.get("/settings-words")
        def settings_words() -> dict:
            return {"note": "session started", "host": "shop.example.test",
                    "header": "X-CSRFToken", "field": "csrf_token",
                    "signed with": app.config["SECRET_KEY"]}

        app.test_client().get("/settings-words")
        trace = recorder.trace()
    (returned,) = [s for s in trace.requests[0].steps if s.kind == "return"
                   and s.name.endswith("settings_words")]
    result = returned.detail["result"]
    for word in ("session started", "shop.example.test", "X-CSRFToken", "csrf_token"):
        assert word in result, result
    assert CONFIG_SECRETS[0] not in result  # the key itself is still a secret


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_short_cookie_settings_are_not_hidden_everywhere(fresh_import, lines: bool) -> None:
    """`consent=true` and `theme=dark` are no secrets: hidden by value, they turned every
    True and every "dark" of the trace into ***. A long cookie is still hidden."""
    with tracer.record(lines=lines) as recorder:
        app = fresh_import("fixtures.secrets_app").app

        @app.get("/prefs")
        def prefs() -> dict:
            return {"dark": True, "note": "true story", "seen": flask.request.cookies}

        client = app.test_client()
        client.set_cookie("consent", "true")
        client.set_cookie("theme", "dark")
        client.set_cookie("tracking", SECRETS["cookie"])
        client.get("/prefs")
        trace = recorder.trace()
    (returned,) = [s for s in trace.requests[0].steps if s.kind == "return"
                   and s.name.endswith("prefs")]
    result = returned.detail["result"]
    assert "'dark': True" in result and "'true story'" in result, result
    assert "'consent', 'true'" in result and "'theme', 'dark'" in result, result
    assert SECRETS["cookie"] not in result


def test_the_password_of_a_database_url_in_config_is_hidden_everywhere(fresh_import) -> None:
    """A URL with credentials is a secret under any config key (the database's, a broker's):
    its password is hidden in the config step and wherever the app shows the URL."""
    password = "db-PW-MARK-3e91"
    with tracer.record() as recorder:
        app = fresh_import("fixtures.secrets_app").app
        app.config["SQLALCHEMY_DATABASE_URI"] = f"postgresql://app:{password}@db/app"

        @app.get("/dsn")
        def dsn() -> str:
            return app.config["SQLALCHEMY_DATABASE_URI"]

        app.test_client().get("/dsn")
        trace = recorder.trace()
    text = json.dumps([dict(s.detail) for s in (*trace.registration.steps,
                                                *trace.requests[0].steps)])
    assert password not in text
    assert "postgresql://app:***@db/app" in text


def test_config_steps_show_settings_and_hide_secrets(fresh_import) -> None:
    """A config step hides a value by its key only when the key names the secret: a
    cookie's domain is shown, a mail password is not (set one by one, or the values a
    `from_mapping` changed)."""
    password = "mail-PW-MARK-0c4d"
    with tracer.record() as recorder:
        app = fresh_import("fixtures.secrets_app").app
        app.config["SESSION_COOKIE_DOMAIN"] = "shop.example.test"
        app.config["MAIL_PASSWORD"] = password
        app.config.from_mapping({"JWT_TOKEN_LOCATION": ["headers"],
                                 "JWT_SECRET_KEY": password + "2"})
        trace = recorder.trace()
    config_steps = [step for step in trace.registration.steps if step.role == "config"]
    set_one = {name: value for step in config_steps for name, value in step.detail.items()}
    assert set_one["SESSION_COOKIE_DOMAIN"] == "'shop.example.test'"
    assert set_one["MAIL_PASSWORD"] == "***"
    (mapped,) = [step.facts["values"] for step in config_steps if "values" in step.facts]
    assert mapped == {"JWT_TOKEN_LOCATION": "['headers']", "JWT_SECRET_KEY": "***"}
    assert password not in json.dumps([[s.detail, s.facts] for s in config_steps])
