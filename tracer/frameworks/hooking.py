"""The one way the Werkzeug, plain WSGI and Bottle adapters patch a function.

`AdapterHooks.patch` replaces an attribute with a stand-in that opens a call step, runs
the original and closes the step with its result or exception, exactly as the Flask
adapter does. Adapters of frameworks that sit below or beside Flask add one thing: a
`when` test, so a patch records only inside the requests it is meant for and stays a
plain pass-through everywhere else (the Werkzeug patches never add steps to a Flask
request). Nothing here knows a framework.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from types import CodeType
from typing import TYPE_CHECKING, Any

from tracer.model import ChainLink
from tracer.patching import PatchSet
from tracer.paths import OWN_DIRS
from tracer.recorder import bookkeeping
from tracer.saferepr import safe_value
from tracer.unwrap import code_of, layers
from tracer.watch import HAS_MONITORING

if TYPE_CHECKING:
    from tracer.lines import LineEngine
    from tracer.recorder import Recorder
    from tracer.watch import CodeWatcher

Facts = dict[str, Any]
Describe = Callable[[tuple, dict], Facts | None]
After = Callable[[int | None, tuple, dict, Any], None]
OnError = Callable[[int | None, tuple, dict, BaseException], None]
RoleOf = str | None | Callable[[tuple, dict], str | None]
When = Callable[[tuple, dict], bool]
Enter = Callable[[int | None, tuple, dict], None]


#: flaskscope's own code: the frames its wrappers add to a traceback.
_OWN_FILES = OWN_DIRS


def hide_own_frames(error: BaseException) -> None:
    """Take flaskscope's wrapper frames out of `error`'s traceback (in place), so that a
    traceback the app logs or a server prints is the one it would show without recording.

    A wrapper cannot remove its own frame while it is running: this is called where a
    traceback is about to be read (Flask's error handling, an exception leaving the app),
    and removes every frame of ours below that point.
    """
    head = error.__traceback__
    while head is not None and head.tb_frame.f_code.co_filename.startswith(_OWN_FILES):
        head = head.tb_next
    if head is not error.__traceback__:
        error.__traceback__ = head
    entry = head
    while entry is not None:
        following = entry.tb_next
        while following is not None and following.tb_frame.f_code.co_filename.startswith(
                _OWN_FILES):
            following = following.tb_next
        if following is not entry.tb_next:
            entry.tb_next = following
        entry = following


def qualname(obj: Any) -> str:
    """The qualified name of a callable as its code object has it (or its type's)."""
    code = code_of(obj)
    if code is not None:
        return code.co_qualname
    if isinstance(obj, type):
        return obj.__qualname__
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__


def argument(args: tuple, kwargs: dict, index: int, name: str, default: Any = None) -> Any:
    """Argument `name` at position `index` (0 is self), however it was passed."""
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def arguments(recorder: Recorder, code: CodeType | None, args: tuple,
              kwargs: dict) -> dict[str, str]:
    """Stored forms of a call's arguments by parameter name (`self`/`cls` left out).

    A WSGI environ is stored as its method and path: the request's own call step holds
    its details, and rendering the whole dict again at every step would cost more than
    the request.
    """
    names = code.co_varnames[: code.co_argcount] if code is not None else ()
    redact = recorder.redact
    stored: dict[str, str] = {}
    for position, value in enumerate(args):
        name = names[position] if position < len(names) else f"arg{position}"
        if name != "self" and name != "cls":
            stored[name] = _stored_argument(name, value, redact)
    for name, value in kwargs.items():
        stored[name] = _stored_argument(name, value, redact)
    return stored


def _stored_argument(name: str, value: Any, redact: bool) -> str:
    if type(value) is dict and "wsgi.version" in value:
        return environ_summary(value)
    return safe_value(name, value, redact=redact)


def environ_summary(environ: dict) -> str:
    """`<environ GET /path>`: how a WSGI environ argument is shown."""
    method = environ.get("REQUEST_METHOD", "?")
    path = (environ.get("SCRIPT_NAME") or "") + (environ.get("PATH_INFO") or "/")
    return f"<environ {method} {path[:200]}>"


def chain_links(view: Any, *, stop: Callable[[Any], bool] = lambda _: False
                ) -> list[tuple[Any, ChainLink]]:
    """(callable, link) pairs of a view and the decorators around it, outermost first."""
    objects = list(layers(view, stop=stop))
    return [
        (obj, link(obj, "view" if index == len(objects) - 1 else "decorator"))
        for index, obj in enumerate(objects)
    ]


def link(obj: Any, kind: str, *, origin: str | None = None,
         decorator: str | None = None) -> ChainLink:
    """The chain link of one callable: its name, where it starts, how it wraps."""
    code = code_of(obj)
    name_ = qualname(obj)
    if decorator is None and kind == "decorator" and "<locals>" in name_:
        decorator = name_.split(".<locals>")[0]
    return ChainLink(
        kind=kind,  # type: ignore[arg-type]
        name=getattr(obj, "__name__", name_),
        qualname=name_,
        file=code.co_filename if code else None,
        line=code.co_firstlineno if code else None,
        wraps=hasattr(obj, "__wrapped__") if kind == "decorator" else None,
        origin=origin,
        decorator=decorator,
    )


class AdapterHooks:
    """Installs and removes one adapter's patches for one recorder.

    Subclasses set `name`, implement `_install` with `patch`/`patches.replace`, and may
    override `versions`. `active` turns every stand-in into a pass-through the moment
    the adapter is uninstalled, so objects made while it was installed stay harmless.
    """

    name = "?"

    def __init__(self, recorder: Recorder, watcher: CodeWatcher,
                 lines: LineEngine | None = None) -> None:
        self.recorder = recorder
        self.watcher = watcher
        self.lines = lines
        self.patches = PatchSet()
        self.active = False

    def versions(self) -> dict[str, str]:
        """Package versions for the trace's `meta`."""
        return {}

    def install(self) -> None:
        """Patch the framework; idempotent."""
        if self.active:
            return
        self.active = True
        self.recorder.meta.update(self.versions())
        self._install()

    def uninstall(self) -> None:
        """Put every original back (the identical objects)."""
        self.active = False
        self.patches.restore()

    def _install(self) -> None:
        raise NotImplementedError

    def watch_chain(self, pairs: Iterable[tuple[Any, ChainLink]], layer_role: str,
                    view_role: str) -> None:
        """Catch the calls of a view's layers and of the view during requests."""
        for obj, link_ in pairs:
            code = code_of(obj)
            if code is not None:
                self.watcher.watch(code, view_role if link_.kind == "view" else layer_role)

    def patch(
        self,
        owner: Any,
        attr: str,
        role: RoleOf,
        *,
        describe: Describe | None = None,
        after: After | None = None,
        on_error: OnError | None = None,
        when: When | None = None,
        enter: Enter | None = None,
        returns: Callable[[Any], Any] | None = None,
        catch: bool = False,
    ) -> None:
        """Record every call of `owner.attr` (only those for which `when(args, kwargs)`
        holds); with `catch`, watched code it calls is caught (3.11 switches catching on
        for the call)."""
        self.patches.replace(
            owner, attr,
            lambda original: self.traced(original, role, describe=describe, after=after,
                                         on_error=on_error, when=when, enter=enter,
                                         returns=returns, catch=catch),
        )

    def traced(
        self,
        original: Callable,
        role: RoleOf,
        *,
        describe: Describe | None = None,
        after: After | None = None,
        on_error: OnError | None = None,
        when: When | None = None,
        enter: Enter | None = None,
        returns: Callable[[Any], Any] | None = None,
        catch: bool = False,
    ) -> Callable:
        """A stand-in for `original` that records a call step around it.

        `describe` gives the step's first facts, `enter` runs once the step is open (to note
        what is decided inside it), `after`/`on_error` see how it ended. `returns` may swap
        the result for a recording proxy of it (a decorator that a registration function
        hands back, whose call is a registration step too).
        """
        code = code_of(inspect.unwrap(original))
        role_of = role if callable(role) else None
        fixed_role = None if callable(role) else role
        # 3.11 traces the call to see watched code, or the lines of it worth recording;
        # `sys.monitoring` (3.12+) sees both with no tracing, and catching is a no-op there.
        catching = (None if HAS_MONITORING
                    else self.watcher.catching if catch
                    else self.watcher.catching_lines if self.watcher.watches_lines(code)
                    else None)
        core = self.recorder.steps_core
        if core is None:
            stand_in = self._python_stand_in(original, code, fixed_role, role_of, describe,
                                             after, on_error, when, enter, returns, catching)
        else:
            # What the compiled stand-ins share with this side (the same objects each time).
            core.hook_helpers(bookkeeping, environ_summary)
            names = code.co_varnames[: code.co_argcount] if code is not None else ()
            stand_in = core.Hook(original, code, names, self, self.recorder, fixed_role,
                                 role_of, describe, after, on_error, when, enter, returns,
                                 catching)
        return functools.update_wrapper(stand_in, original)

    def _python_stand_in(
        self,
        original: Callable,
        code: CodeType | None,
        fixed_role: str | None,
        role_of: Callable[[tuple, dict], str | None] | None,
        describe: Describe | None,
        after: After | None,
        on_error: OnError | None,
        when: When | None,
        enter: Enter | None,
        returns: Callable[[Any], Any] | None,
        catching: Callable[[], Any] | None,
    ) -> Callable:
        """`traced` in pure Python: what the compiled core's `Hook` does, step for step."""
        hooks = self
        recorder = self.recorder
        pause, resume = recorder.pause_tracing, recorder.resume_tracing

        # Opening and closing a step are one call each, guarded inline: this runs at every
        # step of every request, and a `with` block costs two more calls.
        def open_step(args: tuple, kwargs: dict) -> int | None:
            bookkeeping.muted += 1
            pause()
            step = None
            try:
                facts = describe(args, kwargs) if describe is not None else None
                step = recorder.call(code, arguments(recorder, code, args, kwargs),
                                     role=fixed_role if role_of is None else role_of(args, kwargs),
                                     facts=facts)
                if enter is not None:
                    enter(step, args, kwargs)
            except Exception as failure:
                recorder.failed(failure)
            finally:
                resume()
                bookkeeping.muted -= 1
            return step

        def close_step(step: int | None, args: tuple, kwargs: dict, result: Any,
                       error: BaseException | None) -> Any:
            bookkeeping.muted += 1
            pause()
            try:
                if error is not None:
                    try:
                        if on_error is not None:
                            on_error(step, args, kwargs, error)
                    finally:
                        recorder.leave(step, error=error)
                    return None
                try:
                    if after is not None:
                        after(step, args, kwargs, result)
                finally:
                    recorder.leave(step, result=result)
                if returns is not None:
                    return returns(result)
            except Exception as failure:
                recorder.failed(failure)
            finally:
                resume()
                bookkeeping.muted -= 1
            return result

        def traced(*args: Any, **kwargs: Any) -> Any:
            if (not hooks.active or bookkeeping.muted
                    or (when is not None and not when(args, kwargs))):
                return original(*args, **kwargs)
            step = open_step(args, kwargs)
            try:
                if catching is None:
                    result = original(*args, **kwargs)
                else:
                    with catching():
                        result = original(*args, **kwargs)
            except BaseException as error:
                close_step(step, args, kwargs, None, error)
                raise
            return close_step(step, args, kwargs, result, None)

        return traced

    def run_then_leave(self, step: int | None, function: Callable, *args: Any,
                       **kwargs: Any) -> Any:
        """Call `function` and close `step` with its result or its exception."""
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            with self.recorder.guard():
                self.recorder.leave(step, error=error)
            raise
        with self.recorder.guard():
            self.recorder.leave(step, result=result)
        return result


def settle_outcome(info: dict) -> None:
    """The outcome of a request the match did not already classify, from what the client
    got: `error` (an exception other than an HTTP error), `http_error` (an HTTP error
    raised, as `abort(403)` does), `error_status` (a 4xx/5xx response returned), `redirect`
    (a 3xx with a Location), else `ok`."""
    outcome = info.get("outcome")
    if outcome in ("not_found", "method_not_allowed", "redirect"):
        return
    status = info.get("status") or 0
    if info.get("error") is not None:
        info["outcome"] = "error"
    elif status >= 400:
        info["outcome"] = "http_error" if info.get("http_exception") else "error_status"
    elif 300 <= status < 400 and info.get("redirect_to"):
        info["outcome"] = "redirect"
    else:
        info["outcome"] = "ok"
