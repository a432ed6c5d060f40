"""Which Flask versions are recorded: tested ones silently, newer ones with one line, older
ones refused with one line and exit 2 (before anything is patched)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flaskscope_testing import fixture_path

from flaskscope.cli import cli
from tracer.frameworks.flask import support


def _installed(monkeypatch: pytest.MonkeyPatch, flask: str, werkzeug: str = "3.1.0") -> None:
    versions = {"flask": flask, "werkzeug": werkzeug}
    monkeypatch.setattr(support, "version", lambda name: versions[name])


@pytest.mark.parametrize("flask", ["2.0.3", "2.1.3", "2.2.5", "2.3.3", "3.0.3", "3.1.3"])
def test_a_tested_version_says_nothing(monkeypatch: pytest.MonkeyPatch, flask: str) -> None:
    _installed(monkeypatch, flask)
    assert support.check_versions() is None


def test_a_newer_version_is_a_one_line_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, "3.2.0", "3.2.1")
    notice = support.check_versions()
    assert notice is not None and "\n" not in notice
    assert "Flask 3.2.0" in notice and "Werkzeug 3.2.1" in notice and "2.0 to 3.1" in notice


def test_an_older_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, "1.1.4", "2.0.3")
    with pytest.raises(support.UnsupportedVersionError, match="Flask 1.1.4 is older"):
        support.check_versions()


def test_the_command_line_refuses_an_older_flask_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _installed(monkeypatch, "1.1.4", "1.0.1")
    result = CliRunner().invoke(cli, ["trace", fixture_path("seed_views"), "GET", "/index"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert result.output.startswith("flaskscope: error: Flask 1.1.4 is older")


def test_the_command_line_records_a_newer_flask_and_says_so_once(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _installed(monkeypatch, "3.9.0", "3.1.0")
    from tracer.frameworks import _noticed
    _noticed.clear()
    from flaskscope_testing import forget_fixtures

    from tracer.frameworks.flask.loading import RequestSpec
    from tracer.session import record_app

    forget_fixtures()
    try:
        trace = record_app(fixture_path("seed_views"), [RequestSpec("GET", "/index")]).trace
    finally:
        forget_fixtures()
    assert trace.requests[0].status == 200
    assert trace.meta["untested"] == [support.check_versions()]
    assert capsys.readouterr().err.count("flaskscope: warning: Flask 3.9.0") == 1


def test_a_version_string_is_shown_without_its_control_characters(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Distribution metadata is text anyone can write: the notice keeps it printable."""
    _installed(monkeypatch, "3.9.0\x1b[2J\u202e", "3.1.0")
    notice = support.check_versions()
    assert notice is not None and "\x1b" not in notice and "\u202e" not in notice
    assert "Flask 3.9.0?" in notice
