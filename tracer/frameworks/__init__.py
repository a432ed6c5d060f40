"""The registry of framework adapters: one package per framework (`flask`, `werkzeug`,
`bottle`, `webpy`, `django`, `tornado`, `wsgi`), all feeding the same recorder and model
(see README.md).

Each package knows one framework and nothing else; `ADAPTERS` has one line per package:
its hooks class, what must be importable, its narrators and what it is built on. This
registry says which are available, installs them together on one recorder and watcher,
tells which adapter owns a loaded app object, by what the object is (a vendored Bottle's
app is Bottle's), and gives `explain` the narrators of the framework that recorded a
trace. Adding a framework is a new package plus its line here.

Import rule: this module imports no framework's package at import time; it loads one when
asked (`Adapter.load`, `Adapter.narrators`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from tracer.errors import UnsupportedVersionError
from tracer.frameworks.pending import PendingInstalls
from tracer.paths import module_dir

if TYPE_CHECKING:
    from tracer.lines import LineEngine
    from tracer.model import Trace
    from tracer.recorder import Recorder
    from tracer.watch import CodeWatcher


class Hooks(Protocol):
    """What every adapter's install object offers (`FlaskHooks` is the model)."""

    active: bool

    def install(self) -> None: ...

    def uninstall(self) -> None: ...


@dataclass(frozen=True)
class Adapter:
    """One framework adapter: its module, its install object and how to ask about it."""

    name: str
    module: str
    hooks_class: str
    requirement: str | None  # the module that must be importable; None: always installed
    #: "module:function" (under this package) of its registration's and a request's
    #: narrators: `(trace, endpoints=None) -> items` and `(trace, request) -> items`.
    narration: tuple[str, str]
    #: the frameworks it is built on, whose packages its own may import (Flask: Werkzeug, WSGI)
    built_on: tuple[str, ...] = ()
    #: "module:function" (under this package) asked before the framework is imported: it
    #: raises for a version that cannot be hooked, returns a notice for an untested one
    check: str | None = None
    #: installed when the app imports the framework, not before (`pending`): a framework
    #: no core adapter needs, which many environments have without the app using it
    deferred: bool = False

    def available(self) -> bool:
        """Whether the framework can be there: installed, or (Bottle, which apps also ship
        copies of under other names) possibly imported by the app under any name."""
        if self.requirement is None:
            return True
        return self.requirement in sys.modules or (
            importlib.util.find_spec(self.requirement) is not None)

    def load(self) -> ModuleType:
        """The adapter module (imports the framework)."""
        return importlib.import_module(f"{__name__}.{self.module}")

    def narrators(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """Its registration's and a request's narrators (imports no framework)."""
        found = []
        for reference in self.narration:
            module, _, function = reference.partition(":")
            found.append(getattr(importlib.import_module(f"{__name__}.{module}"), function))
        return found[0], found[1]

    def versions(self) -> dict[str, str]:
        """Versions for the trace's `meta`."""
        return dict(self.load().versions())

    def make_hooks(self, recorder: Recorder, watcher: CodeWatcher,
                   lines: LineEngine | None = None) -> Hooks:
        hooks_class: Callable[..., Hooks] = getattr(self.load(), self.hooks_class)
        return hooks_class(recorder, watcher, lines)


#: In install order: Werkzeug's patches first (Flask reads what `Map.add` saw).
ADAPTERS = (
    Adapter("werkzeug", "werkzeug.hooks", "WerkzeugHooks", "werkzeug",
            ("werkzeug.narrate_registration:narrate_registration",
             "werkzeug.narrate_request:narrate_request"), ("wsgi",)),
    Adapter("flask", "flask.hooks", "FlaskHooks", "flask",
            ("flask.narrate_registration:narrate_registration",
             "flask.narrate_request:narrate_request"), ("werkzeug", "wsgi"),
            "flask.support:check_versions"),
    Adapter("bottle", "bottle.hooks", "BottleHooks", None,
            ("bottle.narrate_registration:narrate_registration",
             "bottle.narrate_request:narrate_request"), ("wsgi",)),
    Adapter("webpy", "webpy.hooks", "WebpyHooks", "web",
            ("webpy.narrate_registration:narrate_registration",
             "webpy.narrate_request:narrate_request"), ("wsgi",), "webpy.support:check_version",
            deferred=True),
    Adapter("django", "django.hooks", "DjangoHooks", "django",
            ("django.narrate_registration:narrate_registration",
             "django.narrate_request:narrate_request"), ("wsgi",), deferred=True),
    Adapter("tornado", "tornado.hooks", "TornadoHooks", "tornado",
            ("tornado.narrate_registration:narrate_registration",
             "tornado.narrate_request:narrate_request"), (), "tornado.support:check_version",
            deferred=True),
    Adapter("wsgi", "wsgi.hooks", "WsgiHooks", "wsgiref",
            ("wsgi.narrate_registration:narrate_wsgi_registration",
              "wsgi.narrate_request:narrate_wsgi_request")),
)

_active: dict[str, Hooks] = {}


def adapter(name: str) -> Adapter:
    """The adapter called `name`; `KeyError` lists the names there are."""
    for each in ADAPTERS:
        if each.name == name:
            return each
    raise KeyError(f"no adapter {name!r} (adapters: {', '.join(a.name for a in ADAPTERS)})")


def available() -> list[Adapter]:
    """The adapters whose framework is installed, in install order."""
    return [each for each in ADAPTERS if each.available()]


def install_adapters(recorder: Recorder, watcher: CodeWatcher,
                     lines: LineEngine | None = None) -> list[Hooks]:
    """Install every available adapter on one recorder; returns them in install order.

    A deferred adapter whose framework is not imported yet is installed when it is
    (`pending`), and joins the list then.
    """
    installed: list[Hooks] = []

    def install_one(each: Adapter) -> None:
        if not _check(each, recorder):
            return
        hooks = each.make_hooks(recorder, watcher, lines)
        try:
            hooks.install()
        except BaseException:
            hooks.uninstall()  # what it patched before failing goes back
            raise
        installed.append(hooks)
        _active[each.name] = hooks

    try:
        waiting = []
        for each in available():
            if each.deferred and each.requirement not in sys.modules:
                waiting.append(each)
            else:
                install_one(each)
        if waiting:
            pending = PendingInstalls(waiting, install_one, recorder)
            pending.install()
            installed.append(pending)
            _active[_PENDING] = pending
    except BaseException:
        uninstall_adapters(installed)
        raise
    return installed


#: The key of the installation's `PendingInstalls` among the active hooks.
_PENDING = "pending"


def install_imported() -> None:
    """Install now the deferred adapters whose framework has been imported (by a loader
    `pending` does not wrap): loading an app calls it before asking who owns the app."""
    pending = _active.get(_PENDING)
    if isinstance(pending, PendingInstalls):
        pending.install_imported()


#: The notices already printed in this process (one line each, once).
_noticed: set[str] = set()
#: Frameworks installed in a version that cannot be hooked: name -> the line saying so.
_refused: dict[str, str] = {}


def refusal(framework: str) -> str | None:
    """Why `framework`'s adapter was not installed (its version), if it was refused."""
    return _refused.get(framework)


def _check(adapter: Adapter, recorder: Recorder) -> bool:
    """Ask the adapter whether its framework's version can be hooked. An older Flask
    raises (before anything is patched); an older other framework is left uninstalled,
    its reason kept for loading an app of it (`refusal`): a Flask app must still record
    beside an old web.py. A newer, untested one is said once, on stderr, and in the
    trace's `meta`."""
    _refused.pop(adapter.name, None)
    if adapter.check is None:
        return True
    module, _, function = adapter.check.partition(":")
    try:
        notice = getattr(importlib.import_module(f"{__name__}.{module}"), function)()
    except UnsupportedVersionError as error:
        if adapter.name == "flask":
            raise
        _refused[adapter.name] = str(error)
        return False
    if notice:
        recorder.meta.setdefault("untested", []).append(notice)
        if notice not in _noticed:
            _noticed.add(notice)
            print(f"flaskscope: warning: {notice}", file=sys.stderr)
    return True


def uninstall_adapters(installed: list[Hooks]) -> None:
    """Remove adapters, newest first, restoring every patched attribute; emptied as it
    goes, so an adapter that another thread's import installs meanwhile goes too."""
    while installed:
        hooks = installed.pop()
        hooks.uninstall()
        for name, active in list(_active.items()):
            if active is hooks:
                del _active[name]


def active_hooks(name: str) -> Any | None:
    """The installed install object of adapter `name`, if it is installed."""
    return _active.get(name)


def framework_of(app: Any) -> str:
    """The adapter that owns a loaded app object (its module's `owns(app)`): Flask's first,
    as a Flask app is a WSGI app too, plain WSGI last, for any other callable.

    Never fails: an object that cannot even be inspected (a context-bound proxy such as
    `flask.request` outside a request) belongs to no framework.
    """
    try:
        flask = sys.modules.get("flask")
        if flask is not None and isinstance(app, flask.Flask):
            return "flask"
        for each in ADAPTERS:
            if each.name not in ("flask", "wsgi") and _imported(each) and (
                    each.load().owns(app)):
                return each.name
    except Exception:
        return "wsgi"
    return "wsgi"


def _imported(adapter: Adapter) -> bool:
    """Whether an app object could be of this adapter's framework: only if the framework
    is imported (asking an adapter imports its framework)."""
    return adapter.requirement is None or adapter.requirement in sys.modules


def narrators(trace: Trace) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """The narrators of the adapter that recorded a trace (`meta["framework"]`); Flask's
    for a trace that does not say (every trace before other frameworks were recorded).

    A plain WSGI app may use a framework built on WSGI by hand (a Werkzeug `Map`, a Bottle
    app behind other WSGI code): its trace is told by the first such framework whose
    narration finds its steps there (`uses_parts(trace)` of its request narrator's module).
    """
    framework = trace.meta.get("framework")
    names = {each.name for each in ADAPTERS}
    chosen = adapter(framework if framework in names else "flask")
    if chosen.name == "wsgi":
        for each in ADAPTERS:
            module = importlib.import_module(f"{__name__}.{each.narration[1].partition(':')[0]}")
            if "wsgi" in each.built_on and getattr(module, "uses_parts", None) is not None \
                    and module.uses_parts(trace):
                return each.narrators()
    return chosen.narrators()


def transparent_codes() -> tuple[CodeType, ...]:
    """The thin wrappers every available adapter wants line tracing to pass through."""
    return tuple(code for each in available()
                 for code in getattr(each.load(), "transparent_codes", tuple)())


def scope_roots() -> tuple[str, ...]:
    """Directories every available adapter wants traced line by line in line mode (a
    deferred framework not imported yet: its package's directory, found without running
    it)."""
    roots: list[str] = []
    for each in available():
        if each.deferred and each.requirement not in sys.modules:
            where = module_dir(each.requirement) if each.requirement else None
            found = (where,) if where else ()
        else:
            found = getattr(each.load(), "scope_roots", lambda: ())()
        for root in found:
            if root not in roots:
                roots.append(root)
    return tuple(roots)

