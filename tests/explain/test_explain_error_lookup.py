"""An error handler found through the exception's class hierarchy is told as such: the
error handler note says which class of the MRO it was registered for."""

from __future__ import annotations

import pytest
from explain_helpers import recorded, recorded_source

from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role, Trace
from viewer.explain.render import plain

APP = """
    from flask import Flask, request

    app = Flask(__name__)

    @app.errorhandler(KeyError)
    def handle_key_error(error):
        return "missing field", 400

    @app.route("/form", methods=["POST"])
    def form():
        return request.form["missing"]
"""


@pytest.fixture(scope="module")
def key_error_trace(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    return recorded_source(tmp_path_factory.mktemp("mro"), "mro_app", APP,
                           RequestSpec("POST", "/form"))


def test_the_note_says_which_class_of_the_mro_the_handler_was_registered_for(
        key_error_trace: Trace) -> None:
    [note] = [s for s in key_error_trace.requests[0].steps
              if s.role == Role.ERROR_HANDLER and s.kind == "note"]
    assert note.facts["exception"] == "BadRequestKeyError"
    assert note.facts["registered_for"] == "KeyError" and note.facts["by_code"] is None
    assert note.facts["mro_position"] > 0 and note.facts["blueprint"] is None


@pytest.mark.parametrize(("lang", "told"), [
    ("en", "It was registered for `KeyError`, not for `BadRequestKeyError`: "
           "`_find_error_handler` walked `BadRequestKeyError`'s classes (`exc_class.__mro__`) "
           "and the first with a handler was `KeyError`."),
    ("zh", "它是为 `KeyError` 注册的，而不是为 `BadRequestKeyError`"),
])
def test_explain_tells_the_hierarchy_walk(key_error_trace: Trace, lang: str,
                                          told: str) -> None:
    assert told in plain(explain(key_error_trace), lang)


def test_a_handler_for_the_exact_code_needs_no_such_sentence() -> None:
    trace, _ = recorded("real_app", "GET", "/nowhere")
    assert "It was registered for" not in plain(explain(trace), "en")
