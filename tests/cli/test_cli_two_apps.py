"""`routes` and `check` on a module whose import makes more than one app (issue #15).

The app asked for (the one Flask's discovery returns) comes first, every route says whose
it is, and a finding read from another app's steps names that app.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flaskscope_testing import REPO_ROOT

import flaskscope.trace_command
from flaskscope.cli import cli

MAIN = "fixtures.two_apps"
HELPER = "fixtures.two_apps_helper"


def _routes(*args: str, terminal: bool = False,
            monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.setattr(flaskscope.trace_command, "stdout_is_terminal", lambda: terminal)
    result = CliRunner().invoke(cli, ["routes", *args], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_piped_routes_have_an_app_column_and_the_app_asked_for_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    header, dashes, *rows = _routes("fixtures/two_apps.py", monkeypatch=monkeypatch).splitlines()
    assert header.split()[:4] == ["App", "Rule", "Methods", "Endpoint"]
    assert set(dashes.replace(" ", "")) == {"-"}
    assert [row.split()[:2] for row in rows] == [
        [MAIN, "/static/<path:filename>"], [MAIN, "/index"], [MAIN, "/about"],
        [HELPER, "/static/<path:filename>"], [HELPER, "/health"], [HELPER, "/index"],
    ]
    rule_column = header.index("Rule")
    assert all(row[rule_column - 2:rule_column] == "  " for row in rows)


def test_json_routes_say_their_app(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = json.loads(_routes("fixtures/two_apps.py", "--format", "json",
                                monkeypatch=monkeypatch))
    assert [(r["app"], r["rule"], r["endpoint"]) for r in routes][1:] == [
        (MAIN, "/index", "index"), (MAIN, "/about", "about"),
        (HELPER, "/static/<path:filename>", "static"), (HELPER, "/health", "health"),
        (HELPER, "/index", "index"),
    ]
    main_index, helper_index = (r for r in routes if r["rule"] == "/index")
    assert main_index["chain"][-1]["file"].endswith("two_apps.py")
    assert helper_index["chain"][-1]["file"].endswith("two_apps_helper.py")


def test_json_of_one_app_names_it_too(monkeypatch: pytest.MonkeyPatch) -> None:
    routes = json.loads(_routes("fixtures/seed_routes.py", "--format", "json",
                                monkeypatch=monkeypatch))
    assert {r["app"] for r in routes} == {"fixtures.seed_routes"}


def test_the_terminal_table_has_an_app_column_only_for_several_apps(
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = _routes("fixtures/two_apps.py", terminal=True, monkeypatch=monkeypatch)
    header = next(line for line in out.splitlines() if "Rule" in line)
    assert header.split("┃")[1].strip() == "App"
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert [row.split("│")[1].strip() for row in rows] == [MAIN] * 3 + [HELPER] * 3
    assert [row.split("│")[2].strip() for row in rows][:3] == [
        "/static/<path:filename>", "/index", "/about"]
    single = _routes("fixtures/seed_routes.py", terminal=True, monkeypatch=monkeypatch)
    header = next(line for line in single.splitlines() if "Rule" in line)
    assert header.split("┃")[1].strip() == "Rule"


SAME_NAME = '''
from flask import Flask

app = Flask(__name__)
app.add_url_rule("/main", "main", lambda: "main")

metrics = Flask(__name__)
metrics.add_url_rule("/metrics", "metrics", lambda: "metrics")
'''


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder for app modules written by a test, forgotten again afterwards."""
    path, modules = list(sys.path), set(sys.modules)
    yield tmp_path
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_apps_of_one_module_are_numbered_in_the_table(module_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (module_dir / "one_module_apps.py").write_text(SAME_NAME, "utf-8")
    _, _, *rows = _routes(str(module_dir / "one_module_apps.py"),
                          monkeypatch=monkeypatch).splitlines()
    assert [row.split("  ")[0].strip() for row in rows] == ["one_module_apps"] * 2 + [
        "one_module_apps #2"] * 2
    assert rows[1].split()[1] == "/main" and rows[3].split()[2] == "/metrics"


AUDIT_HELPER = '''
from flask import Flask

audit = Flask(__name__)


def audited(view):
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)
    return wrapper


@audit.route("/audit")
@audited
def audit_log():
    return "audit"
'''

AUDIT_MAIN = '''
from flask import Flask

from audit_helper_app import audit

app = Flask(__name__)


@app.route("/")
def index():
    return "index"
'''


@pytest.mark.parametrize(("lang", "sentence"), [
    ("en", "This is in another app, `audit_helper_app`, made while loading `audit_main_app`, "
           "the app checked."),
    ("zh", "这出现在另一个应用 `audit_helper_app` 里，它是在加载被检查的应用 `audit_main_app` "
           "时创建的。"),
])
def test_check_names_the_other_app_a_finding_is_in(module_dir: Path, lang: str,
                                                   sentence: str) -> None:
    (module_dir / "audit_helper_app.py").write_text(AUDIT_HELPER, "utf-8")
    (module_dir / "audit_main_app.py").write_text(AUDIT_MAIN, "utf-8")
    result = CliRunner().invoke(cli, ["check", str(module_dir / "audit_main_app.py"),
                                      "--lang", lang, "--format", "json"])
    assert result.exit_code == 1, result.output
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["check"] == "wrapper_without_wraps"
    assert finding["file"].endswith("audit_helper_app.py")
    assert sentence in finding["problem"]
