"""A returned dict or list is told as the installed Flask turns it into JSON: the app's JSON
provider (`app.json`, Flask 2.2+) or `jsonify` with the app's `json_encoder` (before)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from tracer.frameworks.flask import anatomy
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.narration.narrative import explain
from tracer.model import Role
from tracer.session import record_app
from viewer.explain.render import to_json

APP = """
    import json

    from flask import Flask

    app = Flask(__name__)
    {customize}

    @app.route("/data")
    def data():
        return {{"items": [1, 2]}}, 201

    @app.route("/text")
    def text():
        return "plain"
"""

if anatomy.JSON_PROVIDERS:
    CUSTOMIZE = textwrap.dedent("""
        from flask.json.provider import DefaultJSONProvider

        class SortedProvider(DefaultJSONProvider):
            sort_keys = True

        app.json = SortedProvider(app)
    """)
else:
    CUSTOMIZE = textwrap.dedent("""
        from flask.json import JSONEncoder

        class SortedEncoder(JSONEncoder):
            pass

        app.json_encoder = SortedEncoder
    """)


@pytest.mark.parametrize("custom", [False, True], ids=["default", "custom"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_returned_dict_is_told_through_what_serialized_it(tmp_path: Path, custom: bool,
                                                            lang: str) -> None:
    name = f"json_app_{custom}_{lang}"
    app_file = tmp_path / f"{name}.py"
    app_file.write_text(textwrap.dedent(APP).format(customize=CUSTOMIZE if custom else ""),
                        encoding="utf-8")
    try:
        recording = record_app(str(app_file), [RequestSpec("GET", "/data"),
                                               RequestSpec("GET", "/text")])
        app = sys.modules[name].app
        # What the app really has, read without the recorder.
        serializer = (type(app.json).__name__ if anatomy.JSON_PROVIDERS
                      else app.json_encoder.__name__)
    finally:
        sys.modules.pop(name, None)
    assert recording.app_error is None
    trace = recording.trace
    assert serializer == ("Sorted" + ("Provider" if anatomy.JSON_PROVIDERS else "Encoder")
                          if custom else
                          ("DefaultJSONProvider" if anatomy.JSON_PROVIDERS else "JSONEncoder"))
    document = to_json(explain(trace), lang, trace.sources)
    data, text = [s["items"] for s in document["sections"] if s["kind"] == "request"]
    [made] = [i for i in data if i["messages"][0]["msgid"].startswith("`make_response` turned")]
    assert f"`{serializer}`" in made["text"]
    codes = [source["code"] for source in made["sources"]]
    if anatomy.JSON_PROVIDERS:
        assert "rv = self.json.response(rv)" in codes
        assert ("`app.json` 是一个" if lang == "zh" else "`app.json` is a") in made["text"]
    else:
        assert "rv = jsonify(rv)" in codes
        assert "json_encoder" in made["text"]
    [plain] = [i for i in text if i["messages"][0]["msgid"].startswith("`make_response` turned")]
    assert len(plain["messages"]) == 1  # no JSON sentence for a string
    [step] = [s for s in trace.requests[0].steps
              if s.role == Role.MAKE_RESPONSE and s.kind == "call"]
    assert step.facts["from_type"] == "tuple" and step.facts["status"] == 201
