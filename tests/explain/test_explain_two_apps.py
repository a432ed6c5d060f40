"""explain on fixtures/two_apps.py, whose helper module makes an app of its own (issue #15).

The narrative tells the config, instance folder and routes of the app that was asked for;
the helper app's steps are left out, and one sentence names that app.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from explain_helpers import item_with, recorded, told

import tracer
from tracer.frameworks.narration.apps import AppOwners
from tracer.frameworks.narration.narrative import explain
from tracer.frameworks.narration.steps import Steps
from tracer.model import Role
from viewer.explain.render import plain, to_json

LEFT_OUT = {
    "en": "Loading `fixtures.two_apps`, the app asked for, also made another app, "
          "`fixtures.two_apps_helper`: its registration steps are left out.",
    "zh": "加载所请求的应用 `fixtures.two_apps` 时，还创建了另一个应用 "
          "`fixtures.two_apps_helper`：它的注册步骤在这里略去不讲。",
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_other_app_is_named_once_and_its_config_left_out(lang: str) -> None:
    text = told("two_apps", "GET", "/index", lang)
    assert item_with(text, LEFT_OUT[lang]).strip().startswith("1. ")
    assert "ADMIN_LABEL" not in text and "AdminConfig" not in text
    assert "admin_instance" not in text
    made = item_with(text, "make_config")
    assert "instance_relative_config=True" in made and "`fixtures/instance`" in made


def test_the_config_file_is_told_relative_to_the_asked_apps_instance_folder() -> None:
    text = told("two_apps", "GET", "/about")
    read = item_with(text, "from_pyfile('settings.py')")
    assert "the instance folder (because `instance_relative_config=True`)" in read
    assert "`fixtures/instance/settings.py`" in read


def test_only_the_asked_apps_index_route_is_told() -> None:
    # Both apps have the rule '/index' with the endpoint 'index'.
    text = told("two_apps", "GET", "/index", sources=True)
    item_with(text, "`decorator(index)`")
    item_with(text, "`app.view_functions['index'] = index`")
    assert "two_apps_helper.py" not in text and "admin index" not in text


def test_the_whole_registration_leaves_out_the_helpers_routes() -> None:
    text = told("two_apps", "GET", "/index", registration_only=True)
    assert "@app.route('/about')" in text
    assert "/health" not in text
    assert text.count("Flask itself registered '/static/<path:filename>'") == 1


def test_the_left_out_item_points_at_every_step_of_the_helper_app() -> None:
    trace, _ = recorded("two_apps", "GET", "/index")
    top = [step for step in trace.registration.steps if step.parent is None]
    main_made = [step for step in top if step.role == Role.CONFIG_ROOT][1]
    helper_steps = [step.id for step in top if step.id < main_made.id]
    (registration, _) = to_json(explain(trace), "en", trace.sources)["sections"]
    first = registration["items"][0]
    assert first["text"] == LEFT_OUT["en"]
    assert first["steps"] == helper_steps
    told_steps = {step for item in registration["items"][1:] for step in item["steps"]}
    assert not told_steps & set(helper_steps)


def test_a_trace_file_keeps_which_app_was_asked_for(tmp_path: Path) -> None:
    trace, _ = recorded("two_apps", "GET", "/index")
    tracer.save(trace, str(tmp_path / "two_apps.json"))
    loaded = tracer.load(str(tmp_path / "two_apps.json"))
    assert plain(explain(loaded), "en") == plain(explain(trace), "en")
    assert LEFT_OUT["en"] in plain(explain(loaded), "en")


def test_without_the_app_asked_for_nothing_is_left_out() -> None:
    """A trace that does not say which app was asked for (recorded with `tracer.record()`)
    is told whole: no step is guessed to be another app's."""
    trace, _ = recorded("two_apps", "GET", "/index")
    meta = {k: v for k, v in trace.meta.items() if k not in ("app_name", "apps")}
    unnamed = replace(trace, meta=meta)
    text = plain(explain(unnamed), "en")
    assert "left out" not in text and "ADMIN_LABEL" in text
    owners = AppOwners(unnamed, Steps(unnamed.registration.steps))
    assert owners.others == []
    assert not any(owners.is_other(step) for step in unnamed.registration.steps)


SHARED_ROOT_HELPER = '''
from flask import Flask

admin = Flask(__name__)
admin.config["ADMIN_ONLY"] = "helper"
'''

SHARED_ROOT_MAIN = '''
from flask import Flask

from shared_root_helper import admin

app = Flask(__name__)
app.config["MAIN_ONLY"] = "main"


@app.route("/")
def index():
    return "index"
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


def test_a_key_set_on_another_apps_config_with_the_same_root_is_left_out(
        module_dir: Path) -> None:
    (module_dir / "shared_root_helper.py").write_text(SHARED_ROOT_HELPER, "utf-8")
    (module_dir / "shared_root_main.py").write_text(SHARED_ROOT_MAIN, "utf-8")
    trace = tracer.record_app(str(module_dir / "shared_root_main.py"), []).trace
    text = plain(explain(trace), "en")
    assert "MAIN_ONLY" in text
    assert "ADMIN_ONLY" not in text
