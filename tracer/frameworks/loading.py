"""Load any WSGI app (a Flask app, a Bottle app, a Werkzeug or plain callable) and send it
requests, under the recorder.

APP is named the way `flask --app` names it: a module or a file, optionally followed by
`:name`. Flask apps (and `module:create_app()` factories) keep going through
`tracer.frameworks.flask.loading`, Flask's own discovery. Anything else is found here:

1. `module:name` names it;
2. otherwise a Flask app in the module (or a `create_app`/`make_app` factory) wins, then a
   single Bottle app, then a callable called `application` or `app`, then the one WSGI
   callable the module defines;
3. two or more candidates and no name is an error naming them.

`plain=True` (the CLI's `--wsgi`) skips Flask and Bottle discovery: it loads what APP names
as a plain WSGI callable, for a module holding a framework app *and* the WSGI callable to
serve (middleware around it); a Bottle app it names is then recorded from the WSGI call
inwards. A Flask app is always recorded by the Flask adapter, which begins its own
request record: middleware around a Flask app therefore records two requests per request
sent, the outer WSGI exchange and Flask's. Apps no framework adapter owns are wrapped by
the plain WSGI recorder (`tracer.frameworks.wsgi.hooks`). Requests go through Werkzeug's
test client, so nothing listens on a port; an app that is no WSGI app (Tornado's) is sent
requests by its adapter (`SERVES_ITSELF`, `send`), and a `make_app()`/`create_app()` factory
of a module that does not use Flask is called here, with no arguments.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from werkzeug.test import Client

from tracer.errors import AppLoadError, UnsupportedVersionError
from tracer.frameworks import (
    active_hooks,
    adapter,
    available,
    framework_of,
    install_imported,
    refusal,
)
from tracer.frameworks.flask.loading import RequestSpec, open_request

_FACTORY_NAMES = ("create_app", "make_app")
_PREFERRED_NAMES = ("application", "app")


@dataclass(frozen=True)
class LoadedApp:
    """A loaded app: the object to send requests to and the adapter that records it."""

    app: Any
    framework: str
    name: str


def load(app_ref: str, *, plain: bool = False) -> LoadedApp:
    """Import APP and find the WSGI app in it (see the module docstring).

    Raises:
        AppLoadError: The module cannot be imported, names nothing callable, or holds
            several candidates and no name says which.
    """
    target, name = _split(app_ref)
    module = _import(target, app_ref)
    install_imported()  # a framework the app imported through a loader not watched
    called = False  # a factory flaskscope called (Flask's discovery calls Flask apps' own)
    if name is not None and "(" in name and not plain:
        if _uses_flask(module):
            return _flask(app_ref)
        (name, obj), called = _call_factory(module, name, app_ref), True
    elif name is not None:
        obj = _attribute(module, name, app_ref)
    elif not plain and _looks_like_flask(module):
        return _flask(app_ref)
    elif not plain and (factory := _own_factory(module)) and not _candidates(module):
        (name, obj), called = _call_factory(module, f"{factory}()", app_ref), True
    else:
        name, obj = (None if plain else _framework_app(module)) or _discover(
            module, app_ref, plain=plain)
    framework = framework_of(obj)
    why = refusal(framework)
    if why is not None:
        raise UnsupportedVersionError(why)
    if framework == "flask":  # Flask's adapter records it, --wsgi or not
        return LoadedApp(obj, "flask", getattr(obj, "name", name)) if called else (
            _flask(app_ref))
    if serves_itself(framework):  # no WSGI app (Tornado's): its adapter sends requests
        return LoadedApp(obj, framework, name)
    # A framework's app object that is not itself the WSGI callable (web.py's) says which is.
    obj = getattr(adapter(framework).load(), "wsgi_callable", lambda app: app)(obj)
    if not callable(obj):
        raise AppLoadError(
            f"{app_ref!r} names {type(obj).__name__} {name!r}, which is not callable; "
            "name the WSGI app (a callable taking environ and start_response) instead"
        )
    if framework == "bottle":
        bottle_hooks = active_hooks("bottle")
        if bottle_hooks is not None:
            bottle_hooks.adopt_app(obj)
        if not plain:
            return LoadedApp(obj, framework, name)
        framework = "wsgi"
    hooks = active_hooks("wsgi")
    wrapped = hooks.wrap(obj, framework) if hooks is not None else obj
    return LoadedApp(wrapped, framework, name)


def send(loaded: LoadedApp, spec: RequestSpec) -> int | None:
    """Send one request through Werkzeug's test client; the app's failures are traced.

    The body is read and closed the way a server does (buffered), so the trace holds the
    body's iteration and its `close()`. Returns the status, or None when the app raised.
    """
    if loaded.framework == "flask":
        from tracer.frameworks.flask.loading import send as flask_send

        return flask_send(loaded.app, spec)
    if serves_itself(loaded.framework):
        return adapter(loaded.framework).load().send(loaded.app, spec)
    return open_request(Client(loaded.app, use_cookies=False), spec, buffered=True)


def serves_itself(framework: str) -> bool:
    """Whether the framework's apps are no WSGI apps (Tornado's): its adapter sends them
    requests, and no WSGI server can serve them."""
    return bool(getattr(adapter(framework).load(), "SERVES_ITSELF", False))


def _flask(app_ref: str) -> LoadedApp:
    from tracer.frameworks.flask.loading import load_app

    app = load_app(app_ref)
    return LoadedApp(app, "flask", getattr(app, "name", "app"))


def _framework_app(module: ModuleType) -> tuple[str, Any] | None:
    """The app an adapter recognises a module to be though it holds no app object yet
    (a Django settings module: `app_in(module)` of the adapter's hooks module)."""
    for each in available():
        app_in = getattr(each.load(), "app_in", None)
        found = app_in(module) if app_in is not None else None
        if found is not None:
            return found
    return None


def _split(app_ref: str) -> tuple[str, str | None]:
    """`path:name` → (path, name); a colon followed by a slash is a Windows drive."""
    parts = re.split(r":(?![\\/])", app_ref, maxsplit=1)
    if len(parts) == 2:
        return parts[0], parts[1] or None
    return parts[0], None


def _module_name(path: str) -> str:
    """The module name of a file or dotted name, its package root put on `sys.path`,
    exactly as `flask --app` computes it (so a module is never imported twice)."""
    path = os.path.realpath(path)
    fname, ext = os.path.splitext(path)
    if ext == ".py":
        path = fname
    if os.path.basename(path) == "__init__":
        path = os.path.dirname(path)
    names = []
    while True:
        path, name = os.path.split(path)
        names.append(name)
        if not os.path.exists(os.path.join(path, "__init__.py")):
            break
    if sys.path[0] != path:
        sys.path.insert(0, path)
    return ".".join(reversed(names))


def _import(target: str, app_ref: str) -> ModuleType:
    module_name = _module_name(target)
    try:
        __import__(module_name)
    except SyntaxError as exc:
        raise AppLoadError(
            f"could not import app {app_ref!r}: SyntaxError in {exc.filename} line "
            f"{exc.lineno}: {exc.msg}"
        ) from None
    except ImportError as exc:
        if exc.name == module_name or (exc.name and module_name.startswith(exc.name + ".")):
            raise AppLoadError(
                f"could not import {module_name!r} for app {app_ref!r}: no such module or "
                "file; give a path to a .py file or an importable module name"
            ) from None
        raise AppLoadError(f"could not import app {app_ref!r}: {type(exc).__name__}: "
                           f"{exc}") from None
    except Exception as exc:
        raise AppLoadError(f"could not import app {app_ref!r}: {type(exc).__name__}: "
                           f"{exc}") from None
    return sys.modules[module_name]


def _attribute(module: ModuleType, name: str, app_ref: str) -> Any:
    obj: Any = module
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            known = ", ".join(_candidates(module)) or "none"
            raise AppLoadError(
                f"{module.__name__!r} has no attribute {name!r} (from {app_ref!r}); "
                f"WSGI callables defined there: {known}"
            ) from None
    return obj


def _looks_like_flask(module: ModuleType) -> bool:
    """A Flask app, or a Flask-style factory in a module using Flask: Flask's discovery
    decides."""
    values = list(vars(module).items())
    if any(framework_of(value) == "flask" for _, value in values):
        return True
    return _own_factory(module) is not None and _uses_flask(module)


def _own_factory(module: ModuleType) -> str | None:
    """The name of the module's own `create_app`/`make_app` function, if it has one."""
    return next((name for name in _FACTORY_NAMES
                 if inspect.isfunction(value := vars(module).get(name))
                 and value.__module__ == module.__name__), None)


def _uses_flask(module: ModuleType) -> bool:
    """Whether the module holds Flask (the module or anything from it): a factory there
    is Flask's to call; elsewhere (a Tornado app's `make_app`) flaskscope calls it."""
    for value in list(vars(module).values()):
        owner = value.__name__ if isinstance(value, ModuleType) else getattr(
            value, "__module__", None)
        if isinstance(owner, str) and owner.split(".")[0] == "flask":
            return True
    return False


def _call_factory(module: ModuleType, call: str, app_ref: str) -> tuple[str, Any]:
    """`name()` called with no arguments: the app a factory of a module without Flask
    makes (Flask's own discovery calls the factories of Flask apps)."""
    name = call.partition("(")[0].strip()
    if call.replace(" ", "") != f"{name}()":
        raise AppLoadError(f"{app_ref!r}: flaskscope calls a factory with no arguments "
                           f"only; write {name}() or name the app object itself")
    function = _attribute(module, name, app_ref)
    try:
        return name, function()
    except Exception as exc:
        raise AppLoadError(f"calling {name}() for app {app_ref!r} raised "
                           f"{type(exc).__name__}: {exc}") from None


def _discover(module: ModuleType, app_ref: str, *, plain: bool) -> tuple[str, Any]:
    """The one WSGI app of a module, by the rules in the module docstring."""
    namespace = vars(module)
    if not plain:
        bottles = _unique([(n, v) for n, v in namespace.items()
                           if not n.startswith("_") and framework_of(v) == "bottle"])
        if len(bottles) == 1:
            return bottles[0]
    for preferred in _PREFERRED_NAMES:
        value = namespace.get(preferred)
        if preferred in _candidates_named(module, preferred):
            return preferred, value
    found = _unique([(n, namespace[n]) for n in _candidates(module)])
    if len(found) == 1:
        return found[0]
    if not found:
        raise AppLoadError(
            f"found no WSGI app in {module.__name__!r} (from {app_ref!r}): define a callable "
            "taking (environ, start_response), or name one with APP:NAME"
        )
    names = ", ".join(n for n, _ in found)
    raise AppLoadError(
        f"{module.__name__!r} holds several WSGI callables ({names}); say which with "
        f"{app_ref}:NAME, e.g. {app_ref}:{found[0][0]}"
    )


def _candidates_named(module: ModuleType, name: str) -> list[str]:
    """`[name]` when the module's `name` is callable (and not a class or module)."""
    value = vars(module).get(name)
    try:
        ok = value is not None and (callable(value) or framework_of(value) != "wsgi") and (
            not isinstance(value, type | ModuleType))
    except Exception:
        ok = False
    return [name] if ok else []


def _unique(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """One (name, object) pair per distinct object (`app = hello` is one app)."""
    seen: dict[int, tuple[str, Any]] = {}
    for name, value in pairs:
        seen.setdefault(id(value), (name, value))
    return list(seen.values())


def _candidates(module: ModuleType) -> list[str]:
    """Names of the module's own WSGI-shaped callables: framework apps, callables taking
    (environ, start_response), instances of the module's classes with such `__call__`."""
    names = []
    for name, value in list(vars(module).items()):
        try:
            if name.startswith("_") or isinstance(value, type | ModuleType):
                continue
            if framework_of(value) != "wsgi" or _wsgi_shaped(value, module):
                names.append(name)
        except Exception:  # a proxy bound to a context that is not there
            continue
    return names


def _wsgi_shaped(value: Any, module: ModuleType) -> bool:
    function: Callable | None = None
    if inspect.isfunction(value):
        if value.__module__ != module.__name__:
            return False
        function = inspect.unwrap(value) if framework_of(value) != "werkzeug" else None
        if function is None:
            return True  # Request.application made it: a WSGI app by construction
    elif callable(value) and type(value).__module__ == module.__name__:
        function = type(value).__call__
    if function is None:
        return False
    try:
        parameters = list(inspect.signature(value).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters)
