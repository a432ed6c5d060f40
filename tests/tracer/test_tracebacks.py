"""The traceback an app logs is the one it would log without flaskscope: no frame of the
recorder's wrappers in it."""

from __future__ import annotations

import logging
import traceback

import pytest

import tracer

APP = """
from flask import Flask

app = Flask(__name__)


def helper():
    return {}["missing"]


@app.get("/boom")
def boom():
    return helper()
"""


def _logged_frames(tmp_path, record: bool, lines: bool = False) -> list[str]:
    """(file name, function) of each frame of the traceback Flask logs for /boom."""
    path = tmp_path / "logged_app.py"
    path.write_text(APP)
    namespace: dict = {"__name__": "logged_app", "__file__": str(path)}
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    def run() -> None:
        exec(compile(APP, str(path), "exec"), namespace)
        app = namespace["app"]
        app.logger.addHandler(Keep())
        assert app.test_client().get("/boom").status_code == 500

    if record:
        with tracer.record(lines=lines):
            run()
    else:
        run()
    (logged,) = records
    assert logged.exc_info is not None
    return [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.name}"
            for frame in traceback.extract_tb(logged.exc_info[2])]


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_the_logged_traceback_is_the_one_without_recording(tmp_path, lines: bool) -> None:
    plain = _logged_frames(tmp_path, record=False)
    assert plain[-2:] == ["logged_app.py:boom", "logged_app.py:helper"]
    assert _logged_frames(tmp_path, record=True, lines=lines) == plain
