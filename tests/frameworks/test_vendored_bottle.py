"""A copy of Bottle an app ships under another name is Bottle: recognised by what it holds.

The copies here are the installed `bottle.py` run again as another module (so they are
distinct modules with their own classes), and pypiserver's `pypiserver.bottle_wrapper.bottle`
(Bottle 0.12) when pypiserver is installed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shutil
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flaskscope_testing import calls, notes, one
from werkzeug.test import Client

import tracer
from tracer import Role, record_app
from tracer.frameworks import framework_of
from tracer.frameworks.bottle.hooks import copy_version
from tracer.frameworks.flask.loading import RequestSpec
from tracer.frameworks.loading import load
from tracer.unwrap import is_stand_in

bottle = pytest.importorskip("bottle")

#: The routes both apps below register on their copy of Bottle.
ROUTES = """
    @app.route("/hello/<name>")
    def hello(name):
        return "hello " + name

    @app.post("/items", name="add_item")
    def add_item():
        return {{"added": True}}
"""

#: An app that loads its own copy of Bottle while it is imported, then registers on it.
LOADED_BY_SPEC = """
    import importlib.util
    import sys

    import bottle as installed

    spec = importlib.util.spec_from_file_location("{copy}", installed.__file__)
    vendored = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = vendored
    spec.loader.exec_module(vendored)

    app = vendored.Bottle()
""" + ROUTES

#: The same app importing Bottle from a package it ships, as pypiserver does.
VENDORED_PACKAGE = """
    from {package}._vendor import bottle

    app = bottle.Bottle()
""" + ROUTES


def _attribute_table(*modules: Any) -> dict[tuple[int, str], object]:
    owners = [getattr(m, name) for m in modules for name in ("Bottle", "Router", "Route")]
    return {(id(owner), name): value for owner in owners for name, value in vars(owner).items()}


def _original(value: object) -> object:
    """What one of flaskscope's stand-ins replaced (anything else is itself)."""
    return value.__wrapped__ if is_stand_in(value) else value  # type: ignore[attr-defined]


@pytest.fixture
def vendored(tmp_path: Path, module_file: Callable[[str, str], str],
             request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """`vendored(kind)`: the path of an app using its own copy of Bottle, loaded `by_spec`
    or imported from a `package`; forgets the copy (and the finder Bottle adds) after."""
    meta_path = list(sys.meta_path)
    prefix = "vendored_" + request.node.name.split("[")[0][-20:].strip("_")

    def write(kind: str) -> str:
        if kind == "by_spec":
            return module_file(prefix + "_app", LOADED_BY_SPEC.format(copy=prefix + ".bottle"))
        package = tmp_path / (prefix + "_pkg")
        (package / "_vendor").mkdir(parents=True)
        (package / "__init__.py").write_text("", encoding="utf-8")
        (package / "_vendor" / "__init__.py").write_text("", encoding="utf-8")
        shutil.copyfile(bottle.__file__, package / "_vendor" / "bottle.py")
        return module_file(prefix + "_app", VENDORED_PACKAGE.format(package=package.name))

    yield write
    for name in [n for n in sys.modules if n.startswith(prefix)]:
        del sys.modules[name]
    sys.meta_path[:] = meta_path


@pytest.mark.parametrize("kind", ["by_spec", "package"])
def test_routes_and_registration_of_a_vendored_copy(vendored, kind: str) -> None:
    recording = record_app(vendored(kind), [])
    assert recording.app_error is None, recording.app_error
    trace = recording.trace
    assert trace.meta["framework"] == "bottle"
    (copy_name, version), = trace.meta["vendored_bottle"].items()
    assert copy_name.endswith(".bottle") and copy_name != "bottle"
    assert version == bottle.__version__
    assert [(r.rule, r.methods, r.endpoint) for r in trace.routes] == [
        ("/hello/<name>", ("GET", "HEAD"), "hello"), ("/items", ("POST",), "add_item")]
    steps = trace.registration.steps
    routes = calls(steps, Role.ROUTE_DECORATOR, "Bottle.route")
    assert [r.facts["rule"] for r in routes] == ["/hello/<name>", "/items"]  # post → route
    adds = calls(steps, Role.ADD_URL_RULE)
    assert [(a.name, a.facts["rule"], a.facts["endpoint"]) for a in adds] == [
        ("Bottle.add_route", "/hello/<name>", "hello"), ("Bottle.add_route", "/items", "add_item")]
    stored = [s for s in calls(steps, Role.RULE_ADDED) if s.parent == adds[0].id]
    assert one(stored).facts["stored_in"] == "router.dyna_routes['GET']"
    assert [n.facts["index"] for n in notes(steps, Role.VIEW_REGISTERED)] == [0, 1]


def test_a_request_to_a_vendored_copy_has_bottles_steps(vendored) -> None:
    path = vendored("by_spec")
    recording = record_app(path, [RequestSpec("GET", "/hello/ann")])
    request, = recording.trace.requests
    assert (request.status, request.endpoint, request.rule) == (200, "hello", "/hello/<name>")
    steps = request.steps
    assert one(calls(steps, Role.REQUEST)).name == "Bottle.wsgi"
    dispatch = one(calls(steps, Role.DISPATCH))
    assert dispatch.name == "Bottle._handle" and dispatch.facts["endpoint"] == "hello"
    match = one(calls(steps, Role.MATCH))
    assert match.name == "Router.match" and match.parent == dispatch.id
    assert (match.facts["matched"], match.facts["rule"]) == (True, "/hello/<name>")
    assert [p.facts["plugin"] for p in calls(steps, Role.PLUGIN)] == ["template", "json"]
    assert one(calls(steps, Role.VIEW)).name == "hello"


def test_a_copy_is_recorded_where_bottle_itself_is_not_installed(
        vendored, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tracer.frameworks.bottle.hooks.available", lambda: False)
    path = vendored("package")
    monkeypatch.delitem(sys.modules, "bottle")
    recording = record_app(path, [RequestSpec("POST", "/items")])
    trace = recording.trace
    assert "bottle" not in trace.meta and len(trace.meta["vendored_bottle"]) == 1
    assert trace.meta["framework"] == "bottle"
    assert [r.endpoint for r in trace.routes] == ["hello", "add_item"]
    request, = trace.requests
    assert (request.status, request.endpoint) == (200, "add_item")
    assert "bottle" not in sys.modules


def test_the_installed_bottle_is_left_as_it_was(vendored) -> None:
    path = vendored("by_spec")
    before = _attribute_table(bottle)
    recording = record_app(path, [RequestSpec("GET", "/hello/ann")])
    assert recording.trace.requests[0].status == 200
    assert sys.modules["bottle"] is bottle
    after = _attribute_table(bottle)
    assert after.keys() == before.keys()
    assert [key for key, value in before.items() if after[key] is not value] == []
    copy = sys.modules[next(iter(recording.trace.meta["vendored_bottle"]))]
    assert copy is not bottle and copy.Bottle is not bottle.Bottle


def test_the_installed_bottle_and_a_copy_each_get_their_own_patches(vendored) -> None:
    copy = sys.modules[type(load(vendored("by_spec")).app).__module__]  # before recording
    bottle.Bottle()  # resolves Bottle's own lazy class attributes, as the copy's app did
    before = _attribute_table(bottle, copy)
    with tracer.record() as recorder:
        for module in (bottle, copy):
            original = before[(id(module.Bottle), "wsgi")]
            assert vars(module.Bottle)["wsgi"].__wrapped__ is original
        installed_app, vendored_app = bottle.Bottle(), copy.Bottle()
        installed_app.route("/here")(lambda: "installed")
        vendored_app.route("/there")(lambda: "vendored")
        assert Client(installed_app).get("/here").get_data() == b"installed"
        assert Client(vendored_app).get("/there").get_data() == b"vendored"
        trace = recorder.trace()
    after = _attribute_table(bottle, copy)
    assert after.keys() == before.keys()
    assert [key for key, value in before.items() if after[key] is not value] == []
    assert [r.rule for r in trace.routes] == ["/here", "/there"]
    for request, rule in zip(trace.requests, ["/here", "/there"], strict=True):
        assert one(calls(request.steps, Role.DISPATCH)).facts["rule"] == rule
        assert request.status == 200


def test_uninstall_restores_every_copy_and_the_loaders(vendored) -> None:
    path = vendored("package")
    loaders = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader)
    loader_tables = [dict(vars(loader)) for loader in loaders]
    tracer.install()
    try:
        loaded = load(path)
        copy = sys.modules[type(loaded.app).__module__]
        patched = _attribute_table(copy)
    finally:
        tracer.uninstall()
    restored = _attribute_table(copy)
    originals = {key: _original(value) for key, value in patched.items()}
    assert any(originals[key] is not value for key, value in patched.items())
    assert [key for key, value in restored.items() if value is not originals[key]] == []
    assert [dict(vars(loader)) for loader in loaders] == loader_tables


def test_a_copy_imported_before_recording_is_patched_when_it_starts(vendored) -> None:
    path = vendored("by_spec")
    module = load(path).app.__class__.__module__
    copy = sys.modules[module]
    with tracer.record() as recorder:
        app = copy.Bottle()
        app.get("/late")(lambda: "late")
        Client(app).get("/late")
        trace = recorder.trace()
    assert trace.meta["vendored_bottle"] == {module: bottle.__version__}
    assert [a.facts["rule"] for a in calls(trace.registration.steps, Role.ADD_URL_RULE)] == [
        "/late"]
    assert one(calls(trace.requests[0].steps, Role.DISPATCH)).facts["rule"] == "/late"


def test_an_app_whose_copy_nobody_can_find_is_adopted_when_loaded(vendored) -> None:
    """The copy was loaded before recording and is not in `sys.modules`: only the app
    object leads to it."""
    path = vendored("by_spec")
    load(path)  # imported now, unrecorded
    copy_name = next(n for n, m in sys.modules.items() if copy_version(m) and n != "bottle")
    del sys.modules[copy_name]
    recording = record_app(path, [RequestSpec("GET", "/hello/cy")])
    trace = recording.trace
    assert trace.meta["framework"] == "bottle"
    assert [r.rule for r in trace.routes] == ["/hello/<name>", "/items"]
    assert one(calls(trace.requests[0].steps, Role.MATCH)).facts["rule"] == "/hello/<name>"


@pytest.fixture
def scratch_modules() -> Iterator[Callable[[str, str], types.ModuleType]]:
    """`scratch_modules(name, source)`: a module run from source; forgets what each run
    of Bottle's source leaves behind (its `NAME.ext` module and import finder)."""
    meta_path, names = list(sys.meta_path), set(sys.modules)

    def make(name: str, source: str) -> types.ModuleType:
        module = types.ModuleType(name)
        module.__file__ = bottle.__file__
        exec(compile(source, f"<{name}>", "exec"), vars(module))
        return module

    yield make
    for name in set(sys.modules) - names:
        del sys.modules[name]
    sys.meta_path[:] = meta_path


def test_only_a_module_defining_bottles_objects_is_a_copy(scratch_modules) -> None:
    _module = scratch_modules
    source = Path(bottle.__file__).read_text(encoding="utf-8")
    assert copy_version(bottle) == bottle.__version__
    reexport = types.ModuleType("reexport")
    vars(reexport).update({k: v for k, v in vars(bottle).items() if not k.startswith("__")})
    reexport.__version__ = bottle.__version__
    assert copy_version(reexport) is None  # imports Bottle's classes, does not define them
    newer = _module("newer", source.replace(f"__version__ = '{bottle.__version__}'",
                                            "__version__ = '0.14.0'"))
    assert newer.__version__ == "0.14.0" and copy_version(newer) is None
    assert framework_of(newer.Bottle()) == "wsgi"
    no_match = _module("no_match", source + "\ndel Router.match\n")
    assert copy_version(no_match) is None
    assert framework_of(no_match.Bottle()) == "wsgi"
    same = _module("same", source)
    assert copy_version(same) == bottle.__version__ and framework_of(same.Bottle()) == "bottle"
    assert framework_of(type("Mine", (same.Bottle,), {})()) == "bottle"


# -- pypiserver: a real app shipping Bottle 0.12 ------------------------------------------


def _old_bottle_warns(test: Callable) -> Callable:
    """pypiserver's Bottle 0.12 imports the deprecated `cgi` module, and its import finder
    (no `find_spec`) warns at every import that falls through to it."""
    test = pytest.mark.filterwarnings("ignore:'cgi' is deprecated:DeprecationWarning")(test)
    return pytest.mark.filterwarnings("ignore:_ImportRedirect.find_spec:ImportWarning")(test)


PYPISERVER_APP = """
    import pypiserver

    app = pypiserver.app(roots=[{root!r}])
"""


def _forget_pypiserver() -> None:
    for name in [n for n in sys.modules if n == "pypiserver" or n.startswith("pypiserver.")]:
        del sys.modules[name]


@pytest.fixture
def pypiserver_app(tmp_path: Path, module_file: Callable[[str, str], str]) -> Iterator[str]:
    """An app serving one package through pypiserver, imported afresh by each test; the
    import finder its Bottle 0.12 adds (which warns on every failed import) goes after."""
    if importlib.util.find_spec("pypiserver") is None:
        pytest.skip("pypiserver is not installed (the corpus extra)")
    packages = tmp_path / "packages"
    packages.mkdir()
    (packages / "demo-1.0.tar.gz").write_bytes(b"")
    meta_path = list(sys.meta_path)
    _forget_pypiserver()
    yield module_file("pypiserver_app", PYPISERVER_APP.format(root=str(packages)))
    _forget_pypiserver()
    sys.meta_path[:] = meta_path


@_old_bottle_warns
def test_pypiserver_routes_through_the_command_line(run, pypiserver_app) -> None:
    result = run("routes", pypiserver_app, "--format", "json")
    assert result.exit_code == 0, result.output
    routes = {(r["rule"], tuple(r["methods"])): r["endpoint"] for r in json.loads(result.output)}
    assert routes[("/simple/", ("GET", "HEAD"))] == "simpleindex"
    assert routes[("/", ("POST",))] == "update"


@_old_bottle_warns
def test_pypiserver_request_is_traced_as_bottle(run, pypiserver_app, tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    result = run("trace", pypiserver_app, "GET", "/simple/", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "Router.match [match]" in result.output
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    meta = header["meta"]
    assert meta["framework"] == "bottle"
    assert meta["vendored_bottle"]["pypiserver.bottle_wrapper.bottle"].startswith("0.12")
    request, = tracer.load(out).requests
    assert (request.status, request.endpoint, request.rule) == (200, "simpleindex", "/simple/")
    assert one(calls(request.steps, Role.DISPATCH)).name == "Bottle._handle"


def _responses(app: Any) -> list[tuple]:
    client = Client(app)
    out = []
    for method, path in [("GET", "/simple/"), ("GET", "/simple/demo/"), ("GET", "/"),
                         ("GET", "/packages/"), ("HEAD", "/simple/"), ("PUT", "/simple/"),
                         ("GET", "/nowhere/at/all")]:
        response = client.open(path, method=method, buffered=True)
        headers = sorted((k, v) for k, v in response.headers.items() if k != "Date")
        out.append((response.status, response.get_data(), headers))
        response.close()
    return out


@_old_bottle_warns
def test_recording_leaves_pypiservers_responses_unchanged(pypiserver_app) -> None:
    """Bottle 0.12 asks each plugin for its `api` before applying it."""
    untraced = _responses(load(pypiserver_app).app)
    sys.modules.pop("pypiserver_app", None)
    with tracer.record() as recorder:
        traced = _responses(load(pypiserver_app).app)
        assert recorder.errors == 0, recorder.error_samples
        requests = recorder.trace().requests
    assert [len(calls(r.steps, Role.DISPATCH)) for r in requests] == [1] * 7
    assert traced == untraced
