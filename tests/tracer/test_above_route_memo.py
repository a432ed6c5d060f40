"""The decorators above routes are remembered between traces while recording (a live
server builds a trace for every few requests), and worked out again whenever what they
are read from changed: a module's names, the registered views, the quoted source lines."""

from __future__ import annotations

import functools
import linecache
import sys
import textwrap

import pytest
from flask import Flask

from tracer.frameworks.flask.above_route import AboveRouteMemo, decorators_above_route

APP_SOURCE = textwrap.dedent('''
    import functools
    from flask import Flask

    app = Flask(__name__)


    def guard(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            return view(*args, **kwargs)
        return guarded


    @guard
    @app.route("/admin")
    def admin():
        return "admin"


    @app.route("/open")
    def open_page():
        return "open"
''')


@pytest.fixture
def module(tmp_path, monkeypatch):
    path = tmp_path / "memo_app.py"
    path.write_text(APP_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "memo_app", raising=False)
    import memo_app

    yield memo_app
    sys.modules.pop("memo_app", None)


def _same(memo: AboveRouteMemo, app: Flask) -> dict:
    remembered = memo(app)
    assert remembered == decorators_above_route(app)
    return remembered


def test_an_unchanged_app_is_read_once(module) -> None:
    memo = AboveRouteMemo()
    first = _same(memo, module.app)
    assert [above.decorator for above in first["admin"]] == ["guard"]
    assert memo(module.app) is first


def test_a_rebound_name_a_new_view_and_a_changed_file_are_read_again(module) -> None:
    memo = AboveRouteMemo()
    app = module.app
    _same(memo, app)

    module.open_page = module.guard(app.view_functions["open_page"])  # a new wrapper
    assert set(_same(memo, app)) == {"admin", "open_page"}

    app.view_functions["admin"] = module.admin  # the wrapper is registered now
    assert set(_same(memo, app)) == {"open_page"}

    del module.open_page
    assert _same(memo, app) == {}

    module.open_page = functools.wraps(app.view_functions["open_page"])(
        lambda: "wrapped again")
    module.open_page.__wrapped__ = app.view_functions["open_page"]
    assert set(_same(memo, app)) == {"open_page"}

    path = module.__file__
    line_before = memo(app)["open_page"][0].line
    with open(path, "w") as file:  # two lines more above every function
        file.write("# moved\n# down\n" + APP_SOURCE)
    linecache.checkcache(path)
    linecache.getlines(path)
    moved = _same(memo, app)["open_page"][0].line
    assert moved == line_before + 2


def test_two_apps_in_turn_each_get_their_own(module) -> None:
    other = Flask("other")
    other.add_url_rule("/x", "x", lambda: "x")
    memo = AboveRouteMemo()
    for _ in range(2):
        assert set(_same(memo, module.app)) == {"admin"}
        assert _same(memo, other) == {}
