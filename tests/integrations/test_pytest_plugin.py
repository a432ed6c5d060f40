"""The pytest plugin, run the way users run it: pytest in a project of its own.

Each run is a separate `python -m pytest` process in a temporary project: the plugin
installs hooks for a whole run, which must not leak into this one. (pytester would need
``pytest_plugins = ["pytester"]`` in the rootdir's conftest: pytest refuses it in a
conftest below the rootdir when the whole suite runs.)
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

import tracer
from flaskscope.pytest_plugin import trace_file_name

APP = '''
import functools

from flask import Flask

app = Flask(__name__)


def audited(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)
    return wrapper


@app.get("/ok")
@audited
def ok():
    return "fine"


@app.get("/hello/<name>")
def hello(name):
    return f"hello {name}"
'''

CONFTEST = '''
import pytest

from app_under_test import app


@pytest.fixture
def client():
    return app.test_client()


@pytest.fixture
def broken(client):
    client.get("/ok")
    raise RuntimeError("fixture broke after a request")
'''

SUITE = '''
import pytest


def test_passes(client):
    assert client.get("/ok").status_code == 200


def test_fails(client):
    response = client.get("/hello/bob")
    assert response.get_data(as_text=True) == "hello alice"


@pytest.mark.parametrize("who", ["a b/1"])
def test_fails_param(client, who):
    assert client.get("/hello/" + who).status_code == 500


def test_errors_in_fixture(broken):
    pass


def test_fails_without_request():
    assert 1 == 2


def test_skipped(client):
    client.get("/ok")
    pytest.skip("not today")


@pytest.mark.xfail(reason="known")
def test_expected_failure(client):
    assert client.get("/nowhere").status_code == 200


def test_passes_too(client):
    assert client.get("/hello/x").get_data(as_text=True) == "hello x"
'''

FIXTURE_USE = '''
def test_sees_its_own_requests_and_the_layers(client, flaskscope_trace):
    client.get("/hello/first")
    client.get("/ok")
    trace = flaskscope_trace()
    assert [r.path for r in trace.requests] == ["/hello/first", "/ok"]
    steps = trace.requests[1].steps
    layers = [s.name for s in steps if s.kind == "call" and s.role == "layer"]
    assert layers == ["audited.<locals>.wrapper"]
    assert [s.name for s in steps if s.kind == "call" and s.role == "view"] == ["ok"]


def test_starts_empty(client, flaskscope_trace):
    assert flaskscope_trace().requests == ()
    client.get("/ok")
    assert len(flaskscope_trace().requests) == 1
'''


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "app_under_test.py").write_text(textwrap.dedent(APP))
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    (tmp_path / "test_suite.py").write_text(textwrap.dedent(SUITE))
    (tmp_path / "test_fixture_use.py").write_text(textwrap.dedent(FIXTURE_USE))
    return tmp_path


def run(project: Path, *runs: tuple[str, ...]
        ) -> list[tuple[subprocess.CompletedProcess[str], dict[str, str]]]:
    """pytest in `project`, once per argument list, side by side; each run's output and
    each test's outcome read from its JUnit report."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    started = []
    for number, args in enumerate(runs):
        report = project / f"report{number}.xml"
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA",
                   f"--junitxml={report}", *args]
        process = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        started.append((command, process, report))
    results = []
    for command, process, report in started:
        stdout, stderr = process.communicate(timeout=120)
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        outcomes = {}
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
            outcomes[f"{case.get('classname')}::{case.get('name')}"] = "+".join(kinds) or "passed"
        results.append((result, outcomes))
    return results


def test_outcomes_are_identical_and_only_failing_tests_leave_traces(project) -> None:
    (plain, plain_outcomes), (recorded, recorded_outcomes) = run(
        project, ("test_suite.py",), ("test_suite.py", "--flaskscope-dir", "traces"))
    assert recorded_outcomes == plain_outcomes
    assert plain_outcomes["test_suite::test_fails"] == "failure"
    assert plain_outcomes["test_suite::test_errors_in_fixture"] == "error"
    assert plain_outcomes["test_suite::test_passes"] == "passed"
    assert plain.returncode == recorded.returncode == 1
    summary = plain.stdout.strip().splitlines()[-1].split(" in ")[0]
    assert recorded.stdout.strip().splitlines()[-1].startswith(summary)

    expected = {trace_file_name("test_suite.py::test_fails"),
                trace_file_name("test_suite.py::test_fails_param[a b/1]"),
                trace_file_name("test_suite.py::test_errors_in_fixture")}
    assert {p.name for p in (project / "traces").iterdir()} == expected
    assert "test_suite.py__test_fails.json" in expected
    assert "flaskscope view traces/test_suite.py__test_fails.json" in recorded.stdout
    assert "made no request to a Flask app" in recorded.stdout  # test_fails_without_request
    assert "3 failing tests left a trace in traces" in recorded.stdout

    trace = tracer.load(project / "traces" / "test_suite.py__test_fails.json")
    assert [(r.method, r.path, r.status, r.endpoint) for r in trace.requests] == [
        ("GET", "/hello/bob", 200, "hello")]
    assert {route.endpoint for route in trace.routes} >= {"ok", "hello"}
    # The app was imported by the conftest: installed earlier, its registration is there.
    registered = {s.facts.get("endpoint") for s in trace.registration.steps
                  if s.role == "add_url_rule"}
    assert {"ok", "hello"} <= registered
    fixture_trace = tracer.load(project / "traces" / trace_file_name(
        "test_suite.py::test_errors_in_fixture"))
    assert [r.path for r in fixture_trace.requests] == ["/ok"]


def test_the_fixture_gives_the_requests_of_the_test(project) -> None:
    (result, outcomes), (without, without_outcomes) = run(
        project, ("test_fixture_use.py", "--flaskscope"), ("test_fixture_use.py",))
    assert set(outcomes.values()) == {"passed"}, result.stdout
    result = without
    assert set(without_outcomes.values()) == {"error"}
    assert "the flaskscope_trace fixture needs recording switched on: run pytest with " \
           "--flaskscope" in result.stdout


@pytest.mark.parametrize(("nodeid", "name"), [
    ("tests/test_app.py::test_login", "tests.test_app.py__test_login.json"),
    ("t.py::test_x[a b/1]", None),
    ("t.py::test_x[a-b-1]", None),
])
def test_trace_file_names_are_safe_and_distinct(nodeid, name) -> None:
    made = trace_file_name(nodeid)
    if name:
        assert made == name
    assert all(ch.isalnum() or ch in "_.-" for ch in made)
    assert trace_file_name("t.py::test_x[a b/1]") != trace_file_name("t.py::test_x[a-b-1]")
