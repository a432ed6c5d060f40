"""What ran, seen by a `sys.settrace` function of the oracle's own, and the explain claims
held to it.

`Ran` watches an app replayed WITHOUT flaskscope: the same module imported afresh and the
same requests sent through a test client, each phase (registration, then every request)
under its own label. It keeps every Flask, Werkzeug, web.py, Django and Tornado line that ran
and every call edge (caller code -> callee code) of each phase. `disagreements` then reads
the JSON that `flaskscope explain --source --format json` wrote for the recorded run and
checks:

- every quoted Flask, Werkzeug, web.py, Django or Tornado line ran in the phase its section
  tells;
- every sentence that says a function called another (`CLAIMS`) matches a call edge of
  that phase, and every sentence that says one returned without calling another matches
  none.

Nothing here imports flaskscope: the replay runs after the recording, uninstalled.
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any

import flask
import werkzeug

try:
    import web  # web.py, when its extra is installed
except ImportError:
    web = None
try:
    import django  # Django, when its extra is installed
except ImportError:
    django = None
try:
    import tornado  # Tornado, when its extra is installed
except ImportError:
    tornado = None

#: Where Flask, Werkzeug (and web.py, Django) live; a quote's `at` is relative to the
#: directory above them.
_LIBRARY_DIRS = tuple(os.path.dirname(package.__file__) + os.sep
                      for package in (flask, werkzeug, web, django, tornado)
                      if package is not None)
_SITE = {directory: os.path.dirname(directory.rstrip(os.sep)) for directory in _LIBRARY_DIRS}
#: How a quote of one of them begins: `flask/`, `werkzeug/`, `web/`, `django/`, `tornado/`.
_QUOTED = tuple(os.path.basename(directory.rstrip(os.sep)) + "/" for directory in _LIBRARY_DIRS)

#: (qualname, file, first line) of a code object.
Code = tuple[str, str, int]
#: Frames between a caller and the function it means to call: wrappers that only pass the
#: call on (Flask's `setupmethod`, functools, contextlib) and the machinery that runs a
#: coroutine function on an event loop thread (asgiref, asyncio, concurrent.futures).
_PLUMBING_PARTS = tuple(os.sep + part for part in (
    "functools.py", "contextlib.py", "threading.py", f"asgiref{os.sep}",
    f"asyncio{os.sep}", f"concurrent{os.sep}"))
_PLUMBING_NAMES = frozenset({"setupmethod.<locals>.wrapper_func"})


def _library_path(file: str) -> str | None:
    for directory, site in _SITE.items():
        if file.startswith(directory):
            return os.path.relpath(file, site)
    return None


@dataclass
class Phase:
    """What ran while one label was current."""

    lines: set[tuple[str, int]] = field(default_factory=set)  # (flask/app.py, 902)
    edges: set[tuple[Code, Code]] = field(default_factory=set)  # direct calls
    #: (caller, callee) where the callee ran one or two calls further in (a wrapper, an
    #: extension's helper between them): what "a layer called the next one" may mean.
    through: set[tuple[Code, Code]] = field(default_factory=set)


class Ran:
    """`with Ran() as ran:` then `ran.label = "request 0"` before each phase."""

    def __init__(self) -> None:
        self.phases: dict[str, Phase] = {}
        self.label = "registration"
        self._thread = threading.get_ident()  # the thread sending the requests
        self._codes: dict[int, tuple[Code, str | None]] = {}
        self._keep: list[CodeType] = []

    def __enter__(self) -> Ran:
        threading.settrace(self._global)
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]

    def phase(self, label: str) -> Phase:
        return self.phases.setdefault(label, Phase())

    def _code(self, code: CodeType) -> tuple[Code, str | None]:
        known = self._codes.get(id(code))
        if known is None:
            known = ((code.co_qualname, code.co_filename, code.co_firstlineno),
                     _library_path(code.co_filename))
            self._codes[id(code)] = known
            self._keep.append(code)
        return known

    def _caller(self, frame: FrameType | None) -> FrameType | None:
        """The nearest frame that is not plumbing; for a call at the bottom of another
        thread (an event loop running a coroutine), the frame of the sending thread that
        is waiting for it."""
        frame = _past_plumbing(frame)
        if frame is None and threading.get_ident() != self._thread:
            frame = _past_plumbing(sys._current_frames().get(self._thread))
        return frame

    def _global(self, frame: FrameType, event: str, arg: Any) -> Callable | None:
        if event != "call":
            return None
        callee, library = self._code(frame.f_code)
        phase = self.phase(self.label)
        caller = self._caller(frame.f_back)
        if caller is not None:
            phase.edges.add((self._code(caller.f_code)[0], callee))
            further = caller
            for _ in range(2):
                further = self._caller(further.f_back)
                if further is None:
                    break
                phase.through.add((self._code(further.f_code)[0], callee))
        if library is None:
            return None
        phase.lines.update((library, line) for line in _header(frame.f_code))

        def local(frame: FrameType, event: str, arg: Any) -> Callable:
            if event == "line":
                self.phase(self.label).lines.add((library, frame.f_lineno))
            return local

        return local


def _past_plumbing(frame: FrameType | None) -> FrameType | None:
    while frame is not None and (frame.f_code.co_filename.endswith(_PLUMBING_PARTS)
                                 or any(part in frame.f_code.co_filename
                                        for part in _PLUMBING_PARTS[3:])
                                 or frame.f_code.co_qualname in _PLUMBING_NAMES):
        frame = frame.f_back
    return frame


def _header(code: CodeType) -> range:
    """The lines a call of `code` stands for: its decorators and its `def` line (a
    generator resuming runs none of them; quoting them for it is still the call)."""
    first = last = code.co_firstlineno
    while last < first + 8:
        text = linecache.getline(code.co_filename, last).lstrip()
        if not text.startswith("@"):
            break
        last += 1
    return range(first, last + 1)


# -- the claims --------------------------------------------------------------------------

#: A claim's parts: who called (or did not call) whom, from one message's params, and
#: whether the call may pass through a wrapper or helper (`Phase.through`).
Claim = tuple[Callable[[Code], bool], Callable[[Code], bool], bool, bool]


def _named(name: Any) -> Callable[[Code], bool]:
    text = str(name).strip("`")
    return lambda code: code[0] == text or code[0].endswith("." + text)


def _at(name: Any, at: Any) -> Callable[[Code], bool]:
    """The code named `name` whose first line is where `at` (file:line) says."""
    named = _named(name)
    file, _, line = str(at).rpartition(":")

    def matches(code: Code) -> bool:
        return named(code) and str(code[2]) == line and (
            os.path.abspath(file) == code[1] or code[1].endswith(os.sep + file))

    return matches


def _layer(name: Any) -> Any:
    """The function a layer's name names: the name, or the `layer` of the phrase that tells
    it apart from its namesakes (`` `tagged` made by `tag("first")` ``)."""
    return name["params"]["layer"] if isinstance(name, Mapping) else name


def _leaf(suffix: str) -> Callable[[Code], bool]:
    return lambda code: code[0] == suffix or code[0].endswith("." + suffix)


def _one_of(*names: str) -> Callable[[Code], bool]:
    return lambda code: code[0] in names


def _on_app(method: str) -> tuple[str, ...]:
    """The qualnames of an app's registration method: `App.x` from Flask 3.0, `Flask.x`
    before (`Scaffold.x` for what both apps and blueprints have)."""
    return (f"App.{method}", f"Flask.{method}", f"Scaffold.{method}")


#: msgid (a part of it that no other has) -> the claim its params make.
CLAIMS: dict[str, Callable[[Mapping[str, Any]], Claim]] = {
    # A layer calls the next through whatever it wraps the call in (flask-caching's
    # `_call_fn`, `decorator`'s caller).
    "ran and called the next layer, `{next}`":
        lambda p: (_at(p["layer"], p["at"]), _named(p["next"]), True, True),
    "early, without calling `{next}`":
        lambda p: (_at(p["layer"], p["at"]), _named(p["next"]), False, True),
    # The same where the chain has layers of one name: each is a phrase naming what made it.
    "ran and called the next layer, {next};":
        lambda p: (_at(_layer(p["layer"]), p["at"]), _named(_layer(p["next"])), True, True),
    "early, without calling {next}:":
        lambda p: (_at(_layer(p["layer"]), p["at"]), _named(_layer(p["next"])), False, True),
    "`dispatch_request` called `self.view_functions[{endpoint}](**view_args)`":
        lambda p: (_one_of("Flask.dispatch_request"), _named(p["view"]), True, False),
    "`view`, the function `as_view` made, created an instance of `{cls}`":
        lambda p: (_one_of("View.as_view.<locals>.view"), _leaf("dispatch_request"), True,
                   False),
    "registered with `errorhandler`, and Flask called it":
        lambda p: (_leaf(p["method"]), _named(p["handler"]), True, False),
    "called `url_for({endpoint})`":
        lambda p: (_named(p["caller"]), _one_of("url_for", "Flask.url_for"), True, False),
    "`{caller}` called `make_response` itself":
        lambda p: (_named(p["caller"]), _one_of("make_response", "Flask.make_response"), True,
                   False),
    "`stream_with_context` called `iter()` on the app's iterable at once":
        lambda p: (_one_of("stream_with_context"), _named(p["function"]), True, False),
    "so `process_response` called `self.session_interface.save_session(":
        lambda p: (_one_of("Flask.process_response"), _named(p["function"]), True, False),
    "As the request context was pushed, Flask called":
        lambda p: (_one_of("RequestContext.push"), _named(p["function"]), True, False),
    "No endpoint was given, so `add_url_rule` called":
        lambda p: (_one_of(*_on_app("add_url_rule")), _one_of("_endpoint_from_view_func"), True,
                   False),
    "`app.register_blueprint({blueprint})` (url_prefix {url_prefix}) called":
        lambda p: (_one_of(*_on_app("register_blueprint")), _one_of("Blueprint.register"), True,
                   False),
    # web.py: a decorator on the handler method calls the method (or the next decorator)
    # through whatever it wraps the call in; the reloader, a load hook, calls init_mapping.
    "around the handler method ran first and called `{next}`":
        lambda p: (_at(p["layer"], p["at"]), _named(p["next"]), True, True),
    "web.py's reloader (`reload_mapping`":
        lambda p: (_one_of("application.__init__.<locals>.reload_mapping"),
                   _named(p["function"]), True, False),
    # `app.add_url_rule` is whatever the app has under that name (flasgger wraps it).
    "prefixed the endpoint with `{prefix}.`, and called":
        lambda p: (_one_of("BlueprintSetupState.add_url_rule"),
                   _one_of(*_on_app("add_url_rule")), True, True),
}

#: Sentences with "called" in them that claim no call edge of one phase, and why.
NOT_EDGES = {
    "without calling the function it wraps": "a layer the chain has no next link for, that "
                                             "made no call: it names no callee to look for",
    "The WSGI server called": "the server's call into the app: the request itself",
    "Then the server called the body's `close()`": "the server, after the app returned",
    "The server never called the body's `close()`": "the server, after the app returned",
    "the app's URL converter": "a converter werkzeug calls, a step the oracle of calls holds",
    "answers {missing} with 405 without calling {handlers}": "a 405 no handler ran for",
    "None of them wrapped it": "a fact of registration: the view is called as it is",
    "Python then applied it": "the decorator call `route` returned, a registration step",
    "was called directly": "how the app registered the rule, read from its source",
    "was called on a blueprint": "a deferred record, told by the registration steps",
    "Plugin layer": "Bottle: not replayed by this oracle",
    "`Bottle._cast` got": "Bottle: not replayed by this oracle",
    "`app.add_route` took": "Bottle: not replayed by this oracle",
    "`application` built a": "Werkzeug's Request.application: not replayed by this oracle",
    "`dispatch` called `{view_func}": "a plain Werkzeug app: not replayed by this oracle",
    "called `MapAdapter.dispatch": "a plain Werkzeug app: not replayed by this oracle",
    "`{caller}` called `start_response(": "the status handed to the server",
    "as a WSGI app": "Werkzeug's response or exception answering the server",
    "`stream_with_context` ({at}) was given the function": "told with the generator's steps",
    "`preprocess_request` first ran the URL value preprocessors": "the callbacks' own steps",
    "around the handler method returned {result} without calling": "a layer that made no "
                                                                   "call: it names no callee",
}


def claims(message: Mapping[str, Any]) -> list[Claim]:
    msgid = message.get("msgid", "")
    params = message.get("params") or {}
    return [make(params) for part, make in CLAIMS.items() if part in msgid]


def _items(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        yield item
        yield from _items(item.get("children") or [])


def disagreements(document: Mapping[str, Any], phases: Mapping[str, Phase]
                  ) -> tuple[list[str], int, int]:
    """(what explain said that did not happen, quoted library lines checked, call claims
    checked) for one `explain --format json` document."""
    wrong: list[str] = []
    quoted = told = 0
    for section in document["sections"]:
        label = ("registration" if section["kind"] == "registration"
                 else f"request {section['request']}")
        phase = phases.get(label, Phase())
        for item in _items(section["items"]):
            for source in item.get("sources") or []:
                file, _, line = source["at"].rpartition(":")
                if not file.startswith(_QUOTED):
                    continue
                quoted += 1
                if (file, int(line)) not in phase.lines:
                    wrong.append(f"{label} {item['number']}: quoted {source['at']} "
                                 f"{source['code']!r}, which did not run")
            for message in item.get("messages") or []:
                for caller, callee, called, through in claims(message):
                    told += 1
                    edges = phase.edges | phase.through if through else phase.edges
                    seen = any(caller(a) and callee(b) for a, b in edges)
                    if seen != called:
                        verb = "called" if called else "did not call"
                        wrong.append(f"{label} {item['number']}: says {verb}: "
                                     f"{item['text'][:200]}")
    return wrong, quoted, told
