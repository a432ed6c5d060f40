"""Record the app the `flask` command found (its `ScriptInfo`), for `flask trace`, `flask
view` and `flask explain`.

Routes are registered when the app's modules are imported, and by the time a command runs
they may already have been imported without flaskscope's hooks. So the app is loaded
again under the hooks: every module from the app's directory is forgotten (`sys.modules`)
and a fresh `ScriptInfo` with the same settings imports it anew; a ``create_app``
callback is looked up again in its re-imported module. What still cannot be recorded (a
callback that cannot be found again, routes added by modules outside the app's directory
that were imported before) is said through `warn`, naming the endpoints whose
registration is missing.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask
from flask.cli import NoAppException, ScriptInfo

from tracer.api import default_scope, record, registering
from tracer.errors import AppLoadError
from tracer.frameworks.flask import anatomy
from tracer.frameworks.flask.loading import RequestSpec, one_line, send
from tracer.model import Role
from tracer.session import Recording, app_root

#: The directory holding the packages `tracer` and `viewer`.
_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 3))


def record_script_app(
    info: ScriptInfo,
    specs: Sequence[RequestSpec],
    *,
    redact: bool = True,
    lines: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    warn: Callable[[str], None],
) -> Recording:
    """Load the app `info` describes again under the recorder and send it `specs`.

    Returns the recording; an app that fails to load leaves its registration steps up to
    the failure and the reason in `app_error`. What could not be recorded is said through
    `warn`, as soon as it is known.
    """
    root = _app_directory(info)
    scope = default_scope([root], include, exclude) if lines else None
    with record(redact=redact, lines=lines, scope=scope) as recorder:
        forget_modules_under(root)
        try:
            with registering():
                app = _load_fresh(info, warn)
        except AppLoadError as exc:
            ref = info.app_import_path or root
            return Recording(recorder.trace(app=ref), str(exc))
        ref = info.app_import_path or _module_file(app) or root
        recorder.meta["app"] = ref
        for spec in specs:
            send(app, spec)
        trace = recorder.trace(app=ref)
    _say_what_is_missing(trace, warn)
    return Recording(trace)


def _app_directory(info: ScriptInfo) -> str:
    """The directory of the app's own modules: what is forgotten and imported again."""
    if info.app_import_path:
        return app_root(info.app_import_path)
    if info.create_app is not None:
        module = sys.modules.get(getattr(info.create_app, "__module__", "") or "")
        file = getattr(module, "__file__", None)
        if file:
            return os.path.dirname(os.path.abspath(file))
    return os.getcwd()


def _outside_app(file: str) -> bool:
    """Files that are never the app's: installed packages, the standard library, flaskscope."""
    if "site-packages" in file or "dist-packages" in file:
        return True
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.join(_ROOT, "tracer"),
                os.path.join(_ROOT, "viewer")}
    return any(file.startswith(os.path.join(prefix, "")) for prefix in prefixes)


def forget_modules_under(root: str) -> list[str]:
    """Drop from `sys.modules` every module whose file lives under `root`, so the next
    import runs its code (and registers its routes) again. Returns their names."""
    root = os.path.join(os.path.realpath(root), "")
    forgotten = []
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if not file or name == "__main__":
            continue
        path = os.path.realpath(file)
        if path.startswith(root) and not _outside_app(path):
            del sys.modules[name]
            forgotten.append(name)
    return forgotten


def _load_fresh(info: ScriptInfo, warn: Callable[[str], None]) -> Flask:
    """A new `ScriptInfo` with `info`'s settings loads the app (the old one caches it)."""
    create_app = _reimported(info.create_app, warn) if info.create_app is not None else None
    settings = {name: getattr(info, name) for name in anatomy.SCRIPT_INFO_SETTINGS}
    fresh = ScriptInfo(**{**settings, "create_app": create_app})
    fresh.data.update(info.data)
    where = info.app_import_path or "the app flask found"
    try:
        return fresh.load_app()
    except NoAppException as exc:
        raise AppLoadError(one_line(str(exc))) from None
    except SyntaxError as exc:
        raise AppLoadError(f"could not import {where}: SyntaxError in {exc.filename} line "
                           f"{exc.lineno}: {exc.msg}") from None
    except Exception as exc:
        raise AppLoadError(f"could not import {where}: {type(exc).__name__}: "
                           f"{one_line(str(exc))}") from None


def _reimported(callback: Callable[..., Flask], warn: Callable[[str], None]
                ) -> Callable[..., Flask]:
    """The same `create_app`, found again in its freshly imported module."""
    module_name = getattr(callback, "__module__", None)
    qualname = getattr(callback, "__qualname__", "")
    if module_name and "<" not in qualname:
        try:
            found: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                found = getattr(found, part)
            return found
        except Exception:
            pass
    warn(f"flaskscope: the create_app callback {qualname or callback!r} cannot be imported "
         "again, so the routes its module registered at import time have no registration "
         "steps")
    return callback


def _module_file(app: Flask) -> str | None:
    module = sys.modules.get(app.import_name)
    file = getattr(module, "__file__", None)
    return os.path.abspath(file) if file else None


def _say_what_is_missing(trace: Any, warn: Callable[[str], None]) -> None:
    """Name the endpoints whose registration happened before recording started."""
    missing = missing_registration(trace)
    if missing:
        warn("flaskscope: these endpoints were registered before recording started (by "
             "modules outside the app's directory, imported earlier), so their registration "
             f"steps are missing: {', '.join(missing)}")


def missing_registration(trace: Any) -> list[str]:
    """Endpoints of `trace.routes` whose rule was never seen being added.

    An app's own rule must have an `add_url_rule` step naming its endpoint; a blueprint's
    rule must also have been declared on the blueprint (its `add_url_rule` step, recorded
    when the blueprint's module ran), since registering the blueprint replays it later.
    """
    endpoints: set[str] = set()
    declared: dict[str, list[str]] = {}
    for step in trace.registration.steps:
        if step.kind != "call" or step.role != Role.ADD_URL_RULE:
            continue
        blueprint = step.facts.get("blueprint")
        if blueprint:
            declared.setdefault(blueprint, []).append(str(step.facts.get("rule") or ""))
        elif step.facts.get("endpoint"):
            endpoints.add(step.facts["endpoint"])
    missing = []
    for route in trace.routes:
        if route.endpoint == "static" or route.endpoint.endswith(".static"):
            continue
        if route.blueprint:
            rules = declared.get(route.blueprint.rsplit(".", 1)[-1], [])
            seen = any(route.rule.rstrip("/").endswith(rule.rstrip("/")) for rule in rules)
        else:
            seen = route.endpoint in endpoints
        if not seen:
            missing.append(route.endpoint)
    return sorted(set(missing))
