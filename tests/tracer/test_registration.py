"""Registration steps recorded for the seed fixtures and the real-app cases."""

from __future__ import annotations

import os

import flask
from flaskscope_testing import APP_CLASS, REPO_ROOT, calls, end_of, notes, one, record_fixture

from tracer import Role

#: `Config.from_prefixed_env` came in Flask 2.1.
PREFIXED_ENV = hasattr(flask.Config, "from_prefixed_env")


def _registration(name: str):
    recording = record_fixture(name)
    assert recording.app_error is None
    return recording.trace


def _add_url_rule_for(steps, endpoint):
    return one([s for s in calls(steps, Role.ADD_URL_RULE, f"{APP_CLASS}.add_url_rule")
                if s.facts.get("endpoint") == endpoint])


def test_route_returns_decorator_whose_call_adds_the_rule() -> None:
    steps = _registration("seed_routes").registration.steps
    route = one([s for s in calls(steps, Role.ROUTE_DECORATOR) if s.facts["rule"] == "/"])
    assert route.name == "Scaffold.route"
    assert route.facts["endpoint"] == "n1"
    assert route.facts["returns"] == "Scaffold.route.<locals>.decorator"
    applied = one([s for s in calls(steps, Role.ROUTE_DECORATOR_CALL)
                   if s.facts["view"] == "index"])
    assert applied.name == "Scaffold.route.<locals>.decorator"
    assert applied.id > route.id
    add = _add_url_rule_for(steps, "n1")
    assert add.parent == applied.id, "add_url_rule runs inside the decorator's call"
    assert add.facts["endpoint_given"] is True
    assert add.facts["methods_given"] == ["GET", "POST"]
    assert add.facts["methods"] == ["GET", "HEAD", "OPTIONS", "POST"]
    assert add.facts["automatic_methods"] == ["HEAD", "OPTIONS"]


def test_add_url_rule_called_directly_with_an_endpoint() -> None:
    steps = _registration("seed_routes").registration.steps
    add = _add_url_rule_for(steps, "n2")
    assert add.parent is None, "called from module code, not from a route decorator"
    assert add.detail["rule"] == "'/login'"
    assert add.detail["endpoint"] == "'n2'"
    assert add.facts["view"] == "login"
    inferred = [s for s in steps if s.parent == add.id and s.role == Role.ENDPOINT_INFERRED]
    assert inferred == [], "an explicit endpoint is not inferred"
    registered = one([s for s in notes(steps, Role.VIEW_REGISTERED)
                      if s.facts["endpoint"] == "n2"])
    assert registered.facts["view"] == "login" and registered.parent == add.id


def test_endpoint_inferred_from_the_function_name_with_default_methods() -> None:
    steps = _registration("seed_routes").registration.steps
    add = _add_url_rule_for(steps, "about")
    assert add.facts["endpoint_given"] is False
    inferred = one([s for s in steps if s.parent == add.id and s.role == Role.ENDPOINT_INFERRED])
    assert inferred.name == "_endpoint_from_view_func"
    assert inferred.facts == {"endpoint": "about", "view": "about", "from": "__name__"}
    assert end_of(steps, inferred).detail["result"] == "'about'"
    assert add.facts["methods_source"] == "default"
    assert add.facts["methods"] == ["GET", "HEAD", "OPTIONS"]
    rule_added = one([s for s in steps if s.parent == add.id and s.role == Role.RULE_ADDED])
    assert rule_added.name == "Map.add"
    assert rule_added.facts["rule"] == "/about"


def test_as_view_names_the_endpoint_and_applies_class_decorators() -> None:
    trace = _registration("seed_views")
    steps = trace.registration.steps
    as_view = one(calls(steps, Role.CLASS_VIEW))
    assert as_view.name == "View.as_view"
    assert as_view.facts["view_class"] == "IndexView"
    assert as_view.facts["name"] == "index"
    assert as_view.facts["decorators"] == ["auth"]
    assert as_view.facts["methods"] == ["GET"]
    assert as_view.facts["view"] == "View.as_view.<locals>.view"
    decorator = one(notes(steps, Role.CLASS_DECORATOR))
    assert decorator.parent == as_view.id
    assert decorator.facts["decorator"] == "auth"
    assert decorator.facts["outermost"] is True
    assert decorator.facts["produced"] == "auth.<locals>.inner"
    add = _add_url_rule_for(steps, "index")
    assert add.facts["methods_source"] == "view_func.methods"
    assert add.facts["methods"] == ["GET", "HEAD", "OPTIONS"]
    route = one([r for r in trace.routes if r.endpoint == "index"])
    assert [(link.kind, link.qualname) for link in route.chain] == [
        ("decorator", "auth.<locals>.inner"),
        ("view", "View.as_view.<locals>.view"),
        ("view_class", "IndexView"),
        ("method", "MethodView.dispatch_request"),
        ("method", "IndexView.get"),
        ("method", "IndexView.post"),
    ]
    assert route.chain[0].origin == "class_decorators"
    assert route.chain[0].wraps is True


def test_class_decorators_order_last_is_outermost(tmp_path) -> None:
    app_file = tmp_path / "ordered_app.py"
    app_file.write_text(
        "import functools\n"
        "from flask import Flask, views\n"
        "def first(f):\n"
        "    @functools.wraps(f)\n"
        "    def first_layer(**kw):\n"
        "        return f(**kw)\n"
        "    return first_layer\n"
        "def second(f):\n"
        "    def second_layer(**kw):\n"
        "        return f(**kw)\n"
        "    return second_layer\n"
        "class V(views.MethodView):\n"
        "    decorators = [first, second]\n"
        "    def get(self):\n"
        "        return 'ok'\n"
        "app = Flask(__name__)\n"
        "app.add_url_rule('/v', view_func=V.as_view('v'))\n"
    )
    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    recording = record_app(str(app_file), [RequestSpec("GET", "/v")])
    steps = recording.trace.registration.steps
    applied = [s.facts for s in notes(steps, Role.CLASS_DECORATOR)]
    assert [(f["decorator"], f["position"], f["outermost"], f["produced"]) for f in applied] == [
        ("first", 0, False, "first.<locals>.first_layer"),
        ("second", 1, True, "second.<locals>.second_layer"),
    ]
    assert applied[1]["wraps"] is False
    route = one([r for r in recording.trace.routes if r.endpoint == "v"])
    assert [link.qualname for link in route.chain[:3]] == [
        "second.<locals>.second_layer", "first.<locals>.first_layer", "View.as_view.<locals>.view",
    ]
    request = recording.trace.requests[0]
    entered = [s.name for s in calls(request.steps) if s.role in (Role.LAYER, Role.VIEW)]
    assert entered == [
        "second.<locals>.second_layer", "first.<locals>.first_layer", "View.as_view.<locals>.view",
    ]
    import sys

    sys.modules.pop("ordered_app", None)


def test_config_paths_resolved_against_the_instance_folder() -> None:
    steps = _registration("seed_config").registration.steps
    root = one(calls(steps, Role.CONFIG_ROOT))
    instance = str(REPO_ROOT / "fixtures" / "instance")
    assert root.facts["instance_relative"] is True
    assert root.facts["config_root"] == instance
    assert root.facts["root_path"] == str(REPO_ROOT / "fixtures")
    pyfile = one(calls(steps, Role.CONFIG, "Config.from_pyfile"))
    assert pyfile.facts["filename"] == "settings.py"
    assert pyfile.facts["resolved"] == os.path.join(instance, "settings.py")
    assert pyfile.facts["exists"] is True
    assert "SETTINGS_FROM" in pyfile.facts["keys"]
    assert pyfile.facts["values"]["SETTINGS_FROM"] == "'instance_path'"
    assert pyfile.facts["values"]["DATABASE_PASSWORD"] == "***"
    nested = [s for s in calls(steps, Role.CONFIG, "Config.from_object") if s.parent == pyfile.id]
    assert len(nested) == 1, "from_pyfile loads the file's globals through from_object"
    from_object = one([s for s in calls(steps, Role.CONFIG, "Config.from_object")
                       if s.parent is None])
    assert from_object.facts["object"].endswith("Config")
    assert from_object.facts["values"]["SECRET_KEY"] == "***"
    item = one([s for s in notes(steps, Role.CONFIG) if s.facts.get("key") == "DEBUG"])
    assert item.facts["style"] == "item" and item.detail == {"DEBUG": "True"}


def test_endpoint_collision_is_recorded_with_both_views() -> None:
    recording = record_fixture("seed_collision")
    assert "overwriting an existing endpoint function: index" in recording.app_error
    steps = recording.trace.registration.steps
    collision = one(notes(steps, Role.VIEW_COLLISION))
    assert collision.facts["endpoint"] == "index"
    assert collision.facts["existing"]["qualname"] == "index"
    assert collision.facts["existing"]["file"].endswith("seed_collision.py")
    assert collision.facts["new"]["qualname"] == "auth.<locals>.inner"
    add = steps[collision.parent]
    assert add.name == f"{APP_CLASS}.add_url_rule"
    assert "overwriting" in end_of(steps, add).detail["exception"]


def test_blueprint_prefix_and_explicit_endpoint() -> None:
    trace = _registration("real_app")
    steps = trace.registration.steps
    register = one(calls(steps, Role.BLUEPRINT, f"{APP_CLASS}.register_blueprint"))
    assert register.facts["blueprint"] == "shop"
    setup = [s for s in calls(steps, Role.BLUEPRINT_RULE) if s.facts["rule"] == "/products"]
    assert one(setup).facts["url_prefix"] == "/shop"
    add = _add_url_rule_for(steps, "shop.product_list")
    assert add.parent == setup[0].id
    assert add.detail["rule"] == "'/shop/products'"
    deferred = [s for s in calls(steps, Role.ADD_URL_RULE, "Blueprint.add_url_rule")]
    assert {s.facts["rule"] for s in deferred} >= {"/products"}
    route = one([r for r in trace.routes if r.endpoint == "shop.product_list"])
    assert route.blueprint == "shop" and route.rule == "/shop/products"


def test_stacked_decorators_with_and_without_wraps() -> None:
    route = one([r for r in _registration("real_app").routes if r.endpoint == "stacked"])
    assert [(link.kind, link.qualname, link.wraps) for link in route.chain] == [
        ("decorator", "log_calls.<locals>.logged", True),
        ("decorator", "add_header_no_wraps.<locals>.wrapper", False),
        ("view", "stacked_view", None),
    ]
    assert [link.decorator for link in route.chain[:2]] == ["log_calls", "add_header_no_wraps"]


def test_other_config_styles_and_the_endpoint_decorator(tmp_path, monkeypatch) -> None:
    settings = tmp_path / "env_settings.py"
    settings.write_text("FROM_ENV_FILE = 'yes'\n")
    monkeypatch.setenv("MYAPP_SETTINGS", str(settings))
    monkeypatch.setenv("MYAPP_LIMIT", "10")
    app_file = tmp_path / "styles_app.py"
    app_file.write_text(
        "from flask import Flask\n"
        "app = Flask(__name__)\n"
        "app.config.from_mapping(GREETING='hi', API_TOKEN='abc')\n"
        "app.config.from_envvar('MYAPP_SETTINGS')\n"
        + ("app.config.from_prefixed_env('MYAPP')\n" if PREFIXED_ENV else "")
        + "app.add_url_rule('/ex', endpoint='example')\n"
        "@app.endpoint('example')\n"
        "def example():\n"
        "    return 'ex'\n"
    )
    import sys

    from tracer import record_app
    from tracer.frameworks.flask.loading import RequestSpec

    recording = record_app(str(app_file), [RequestSpec("GET", "/ex")])
    sys.modules.pop("styles_app", None)
    steps = recording.trace.registration.steps
    mapping = one(calls(steps, Role.CONFIG, "Config.from_mapping"))
    assert mapping.facts["keys"] == ["API_TOKEN", "GREETING"]
    assert mapping.facts["values"] == {"API_TOKEN": "***", "GREETING": "'hi'"}
    envvar = one(calls(steps, Role.CONFIG, "Config.from_envvar"))
    assert envvar.facts["variable"] == "MYAPP_SETTINGS" and envvar.facts["value"] == str(settings)
    nested = [s for s in calls(steps, Role.CONFIG, "Config.from_pyfile") if s.parent == envvar.id]
    assert one(nested).facts["resolved"] == str(settings)
    if PREFIXED_ENV:
        prefixed = one(calls(steps, Role.CONFIG, "Config.from_prefixed_env"))
        assert prefixed.facts["prefix"] == "MYAPP" and prefixed.facts["values"]["LIMIT"] == "10"
    endpoint = one(calls(steps, Role.ENDPOINT_DECORATOR))
    assert endpoint.name == "Scaffold.endpoint" and endpoint.detail["endpoint"] == "'example'"
    applied = one([s for s in calls(steps, Role.ROUTE_DECORATOR_CALL)
                   if s.name == "Scaffold.endpoint.<locals>.decorator"])
    assert applied.facts["view"] == "example"
    assert recording.trace.requests[0].status == 200


def test_called_from_names_the_registering_line_in_a_long_module() -> None:
    """A module registering many routes is one long code object, whose lines are looked
    up from a table (reading `f_lineno` there costs time proportional to its length)."""
    import types

    import tracer
    from tracer.frameworks.flask.hooks import _LONG_CODE

    routes = 400
    source = "from flask import Flask\napp = Flask(__name__)\n" + "".join(
        f"@app.route('/r{i}')\ndef view_{i}():\n    return 'x'\n" for i in range(routes))
    code = compile(source, os.path.join(REPO_ROOT, "generated_routes.py"), "exec")
    assert len(code.co_code) >= _LONG_CODE, "the table is in use here"
    with tracer.record() as recorder:
        exec(code, types.ModuleType("generated_routes").__dict__)
    steps = recorder.trace().registration.steps
    applied = calls(steps, Role.ROUTE_DECORATOR_CALL)
    assert len(applied) == routes
    source_lines = source.splitlines()
    for step in applied:
        where = step.facts["called_from"]
        assert where["file"].endswith("generated_routes.py")
        view = step.facts["view"]
        # the decorator is applied at its `@app.route(...)` line on 3.11/3.12, at the
        # `def` line on 3.13: either way the line that registers this view
        assert source_lines[where["line"] - 1] in (
            f"@app.route('/r{view.removeprefix('view_')}')", f"def {view}():")


def test_current_line_agrees_with_f_lineno(monkeypatch) -> None:
    import sys

    import tracer.frameworks.flask.hooks as flask_adapter

    monkeypatch.setattr(flask_adapter, "_LONG_CODE", 0)  # the table for every code object
    source = "".join(
        f"x{i} = frame(\n  )\nassert line(x{i}) == x{i}.f_lineno, (line(x{i}), x{i}.f_lineno)\n"
        f"y{i} = [frame() for _ in range(2)][0]\nassert line(y{i}) == y{i}.f_lineno\n"
        for i in range(200))
    exec(compile(source, "generated.py", "exec"),
         {"frame": lambda: sys._getframe(1), "line": flask_adapter.current_line})
