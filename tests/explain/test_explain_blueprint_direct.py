"""`add_url_rule` called directly on a blueprint is told as the blueprint's deferred
record, not as the app's own call."""

from __future__ import annotations

import pytest
from explain_helpers import recorded_source

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Trace
from viewer.explain.render import plain

APP = """
    from flask import Blueprint, Flask

    api = Blueprint("api", __name__, url_prefix="/api")


    def ping():
        return "pong"


    api.add_url_rule("/ping", view_func=ping)
    app = Flask(__name__)
    app.register_blueprint(api)
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return recorded_source(tmp_path_factory.mktemp("bp"), "bp_direct_app", APP,
                           RequestSpec("GET", "/api/ping"))


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "1. `api.add_url_rule('/ping', view_func=ping)` was called directly on the blueprint "
           "`api`, without `@api.route`. On a blueprint, `add_url_rule` only records what to "
           "do: the rule '/ping' reaches the app when `api` is registered with "
           "`register_blueprint`."),
    ("zh", "`api.add_url_rule('/ping', view_func=ping)` 是直接在蓝图 `api` 上调用的"),
])
def test_a_blueprints_own_add_url_rule_is_told_as_its_record(trace: Trace, lang: str,
                                                            told: str) -> None:
    text = plain(explain(trace), lang)
    assert told in text
    assert "app.add_url_rule('/ping'" not in text
