"""Where the parts flaskscope hooks live in the Flask that is installed.

Flask 3.0 moved what an app and a blueprint do without a request into `flask.sansio`
(`Scaffold`, `App`, `Blueprint`, `BlueprintSetupState`); before it they lived in
`flask.scaffold`, `flask.app` (on `Flask` itself) and `flask.blueprints`. Each such
difference between the Flask versions flaskscope supports is answered here, once, so that
the hooks and the narrative name a part, never a version.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType
from typing import Any

import flask
import flask.app
import flask.blueprints
import flask.cli
import flask.helpers


def _first_module(*names: str) -> ModuleType:
    """The first of `names` that imports: the newer home of a part, then the older one."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return importlib.import_module(names[-1])


#: The module defining `Scaffold`, `setupmethod` and `_endpoint_from_view_func`.
SCAFFOLD_MODULE = _first_module("flask.sansio.scaffold", "flask.scaffold")
#: The module defining the class with `add_url_rule`, `make_config`, `register_blueprint`.
APP_MODULE = _first_module("flask.sansio.app", "flask.app")
#: The module defining `Blueprint` and `BlueprintSetupState`.
BLUEPRINTS_MODULE = _first_module("flask.sansio.blueprints", "flask.blueprints")

Scaffold: Any = SCAFFOLD_MODULE.Scaffold
#: The class whose methods registration runs: `App` (3.0+), `Flask` itself before.
App: Any = getattr(APP_MODULE, "App", flask.Flask)
Blueprint: Any = BLUEPRINTS_MODULE.Blueprint
BlueprintSetupState: Any = BLUEPRINTS_MODULE.BlueprintSetupState
setupmethod: Any = SCAFFOLD_MODULE.setupmethod

#: Every module that calls `_endpoint_from_view_func` by its own name (imported by name, it
#: is patched where it is called).
ENDPOINT_MODULES: tuple[ModuleType, ...] = tuple(dict.fromkeys(
    module for module in (SCAFFOLD_MODULE, APP_MODULE, BLUEPRINTS_MODULE, flask.app,
                          flask.blueprints)
    if "_endpoint_from_view_func" in vars(module)))

#: The `Config` methods that load configuration (`from_prefixed_env` came in Flask 2.1).
CONFIG_LOADERS: tuple[str, ...] = tuple(
    name for name in ("from_pyfile", "from_object", "from_mapping", "from_envvar",
                      "from_prefixed_env", "from_file")
    if hasattr(flask.Config, name))

#: `before_first_request` functions exist (Flask 2.0 to 2.2; 2.3 removed them). 2.0 and 2.1
#: run them in their own method, named here; 2.2 runs them inline in `full_dispatch_request`.
FIRST_REQUEST_FUNCTIONS: bool = hasattr(flask.Flask, "before_first_request")
FIRST_REQUEST_TRIGGER: str | None = (
    "try_trigger_before_first_request_functions"
    if hasattr(flask.Flask, "try_trigger_before_first_request_functions") else None)

#: A returned dict or list becomes JSON through the app's JSON provider, `app.json` (Flask
#: 2.2+); before, through `jsonify` and the app's `json_encoder` class.
JSON_PROVIDERS: bool = hasattr(flask.Flask, "json_provider_class")

#: What a `flask.cli.ScriptInfo` is made with, as its attributes are named
#: (`load_dotenv_defaults` came in Flask 2.3).
SCRIPT_INFO_SETTINGS: tuple[str, ...] = tuple(
    name for name in ("app_import_path", "create_app", "set_debug_flag", "load_dotenv_defaults")
    if name in inspect.signature(flask.cli.ScriptInfo).parameters)

#: Where `url_for` builds a URL, and the position of its `endpoint` argument: the app's
#: method (Flask 2.2+, which `flask.url_for` calls), else the helper itself, patched in
#: `flask` too as apps import it from there.
URL_FOR: tuple[tuple[Any, str, int], ...] = (
    ((flask.Flask, "url_for", 1),) if hasattr(flask.Flask, "url_for")
    else ((flask.helpers, "url_for", 0), (flask, "url_for", 0)))

#: The modules whose functions the narrative quotes (`quotable`).
QUOTED_MODULES: tuple[str, ...] = tuple(dict.fromkeys((
    SCAFFOLD_MODULE.__name__, APP_MODULE.__name__, BLUEPRINTS_MODULE.__name__, "flask.app",
    "flask.blueprints", "flask.views", "flask.ctx", "flask.templating", "flask.helpers",
    "flask.config")))


def flask_version() -> str:
    """The installed Flask's version, as its distribution says."""
    try:
        return version("flask")
    except PackageNotFoundError:
        return "?"
