"""Which web.py versions are recorded: a tested one silently, a newer one with a notice, an
older one refused in one line when its app is loaded, while a Flask app beside it records."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flaskscope_testing import fixture_path, forget_fixtures

from flaskscope.cli import cli
from tracer.errors import UnsupportedVersionError
from tracer.frameworks.webpy import support

pytest.importorskip("web")


def _installed(monkeypatch: pytest.MonkeyPatch, webpy: str) -> None:
    monkeypatch.setattr(support, "version", lambda name: webpy)


@pytest.mark.parametrize("webpy", ["0.40", "0.62", "0.76"])
def test_a_tested_version_says_nothing(monkeypatch: pytest.MonkeyPatch, webpy: str) -> None:
    _installed(monkeypatch, webpy)
    assert support.check_version() is None


def test_a_newer_version_is_a_one_line_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, "0.80\x1b[2J")
    notice = support.check_version()
    assert notice is not None and "\n" not in notice and "\x1b" not in notice
    assert notice.startswith("web.py 0.80??2J is newer") and "0.40 to 0.76" in notice


def test_an_older_web_py_refuses_its_app_and_leaves_flask_apps_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, "0.39")
    with pytest.raises(UnsupportedVersionError, match="web.py 0.39 is older"):
        support.check_version()
    forget_fixtures()
    try:
        refused = CliRunner().invoke(cli, ["trace", fixture_path("webpy_login"), "GET",
                                           "/login"])
        flask = CliRunner().invoke(cli, ["trace", fixture_path("seed_login"), "GET",
                                         "/login"])
    finally:
        forget_fixtures()
    assert refused.exit_code == 2 and refused.output.strip().count("\n") == 0
    assert refused.output.startswith("flaskscope: error: web.py 0.39 is older than flaskscope")
    assert flask.exit_code == 0 and "200" in flask.output
