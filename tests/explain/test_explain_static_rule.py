"""Flask's own static rule, told with its endpoint even when registering it failed."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tracer.frameworks.narration.narrative import explain
from tracer.session import record_app
from viewer.explain.render import plain

APP = """
    from flask import Flask
    from werkzeug.routing import Rule

    class NoStaticRule(Rule):
        def __init__(self, string, **options):
            if string.startswith("/static"):
                raise ValueError("no static files here")
            super().__init__(string, **options)

    class ShopApp(Flask):
        url_rule_class = NoStaticRule

    app = ShopApp(__name__)
"""


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "Flask itself tried to register '/static/<path:filename>' with the endpoint "
           "'static' in `Flask.__init__`, to serve the files of the static folder, and "
           "`add_url_rule` raised ValueError('no static files here')."),
    ("zh", "Flask 自己在 `Flask.__init__` 中尝试以端点 'static' 注册 '/static/<path:filename>'，"
           "用来提供静态文件夹里的文件，而 `add_url_rule` 抛出了 "
           "ValueError('no static files here')。"),
])
def test_a_static_rule_that_raised_is_told_with_its_endpoint(tmp_path: Path, lang: str,
                                                             told: str) -> None:
    app_file = tmp_path / f"no_static_{lang}.py"
    app_file.write_text(textwrap.dedent(APP), encoding="utf-8")
    try:
        recording = record_app(str(app_file), [])
    finally:
        sys.modules.pop(app_file.stem, None)
    assert "no static files here" in str(recording.app_error)
    text = plain(explain(recording.trace, registration_only=True), lang)
    assert told in text
