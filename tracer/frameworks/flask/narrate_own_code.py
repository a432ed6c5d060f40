"""The app's own code that Flask reaches by other ways than its hooks, told where it ran.

A signal receiver, a method of the app's own session interface, one of its URL converters,
a view class's own `__init__`, a method the app's class (or the app itself) defines in
place of Flask's and the `__iter__` of an iterable the app streams are steps under whatever
ran them. Each is told as one item: where it ran
(the step with a role above it says which part of the request that was), the function
(its qualified name and where it is defined) and what it returned or raised. Nothing the
steps do not show is said: the arguments are the recorded ones, and a sentence that
names the Flask statement that made the call is chosen only where Flask has no other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tracer.frameworks.flask import source_lines as lines
from tracer.frameworks.narration.items import N_, Message, clip
from tracer.frameworks.narration.steps import Steps, body_lines, leaf, step_lines, where
from tracer.model import Role, SourceFile, Step

#: The roles of the app's own code (`tracer.model.Role`), told by `tell`.
OWN_CODE_ROLES = (Role.SIGNAL_RECEIVER, Role.SESSION, Role.CONVERTER, Role.VIEW_INIT,
                  Role.APP_METHOD, Role.RESPONSE_ITERABLE)

#: An argument value shown in a rebuilt call is cut to this many characters.
_MAX_ARGUMENT = 40

Sources = list[tuple[str, int]]


def tell(steps: Steps, sources: Mapping[str, SourceFile], step: Step
         ) -> tuple[list[Message], Sources]:
    """The sentences about one call of the app's own code (a step with one of
    `OWN_CODE_ROLES`), and the lines `--source` quotes.

    The first sentence says where it ran and whose function it is; the second, what came
    of it.
    """
    context = _context(steps, step)
    parent = steps.parent(step)
    params: dict[str, Any] = {"function": step.name, "at": where(step.file, step.line),
                              "caller": parent.name if parent is not None else "?"}
    found = step_lines(sources, steps, step)
    first, needles = _TELLERS[step.role or ""](steps, step, context, params)
    if parent is not None and needles:
        found.extend(body_lines(sources, steps, parent, needles))
    return [first, _outcome(steps, step)], found


def signal_sent(sources: Mapping[str, SourceFile], steps: Steps, step: Step,
                caller: Step | None) -> Sources:
    """The line of `caller` that sent the signal `step` stands for, when its body holds one."""
    if caller is None or not step.facts.get("signal"):
        return []
    needle = lines.SIGNAL_SEND.format(signal=step.facts["signal"])
    return body_lines(sources, steps, caller, (needle,))


# -- one sentence per role ----------------------------------------------------------------

_Told = tuple[Message, tuple[str, ...]]


def _receiver(steps: Steps, step: Step, context: Step | None, params: dict[str, Any]
              ) -> _Told:
    if context is not None and context.role == Role.SIGNAL and context.facts.get("signal"):
        params["signal"] = context.facts["signal"]
        return Message(N_("`{function}` ({at}), a receiver connected to the signal "
                          "`{signal}`, received it."), params), ()
    return Message(N_("While `{caller}` ran, the signal receiver `{function}` ({at}) ran."),
                   params), ()


def _session(steps: Steps, step: Step, context: Step | None, params: dict[str, Any]
             ) -> _Told:
    method = leaf(step.name)
    role = context.role if context is not None else None
    if method == "open_session" and role == Role.REQUEST:
        # Recorded with hooks, `wsgi_app` is the step above (`RequestContext.push` is not one).
        pushed = context is steps.parent(step)
        return Message(N_("As the request context was pushed, Flask called "
                          "`session_interface.open_session(self.app, self.request)`: the app's "
                          "own session interface has `{function}` ({at})."),
                       params), (lines.REQUEST_CONTEXT_PUSH if pushed else lines.SESSION_OPEN) + (
            lines.SESSION_NULL if steps.result(step) == "None" else ())
    if method == "save_session" and role == Role.AFTER_REQUEST:
        return Message(N_("The session is not a null session, so `process_response` called "
                          "`self.session_interface.save_session(self, ctx._session, "
                          "response)`: the app's own session interface has `{function}` "
                          "({at})."), params), lines.SESSION_SAVE
    return Message(N_("While `{caller}` ran, a method of the app's own session interface "
                      "ran: `{function}` ({at})."), params), ()


def _converter(steps: Steps, step: Step, context: Step | None, params: dict[str, Any]
               ) -> _Told:
    role = context.role if context is not None else None
    params["call"] = _call(step)
    built_for = step.facts.get("built_for")
    if role == Role.MATCH and built_for == "merge_slashes":
        return Message(N_("Matching the path, werkzeug built it back from the converted values "
                          "to look for repeated slashes to merge (`merge_slashes`; Werkzeug "
                          "before 2.2 does this for every match), and so called the app's URL "
                          "converter: `{call}` ({at})."), params), ()
    if role == Role.MATCH and built_for == "redirect_defaults":
        return Message(N_("Matching the path, werkzeug built the URL of an earlier rule of the "
                          "endpoint whose defaults the values fill, to redirect there "
                          "(`redirect_defaults`), and so called the app's URL converter: "
                          "`{call}` ({at})."), params), ()
    if role == Role.MATCH:
        return Message(N_("Matching the path, werkzeug called the app's URL converter: "
                          "`{call}` ({at})."), params), ()
    if role == Role.URL_BUILD:
        return Message(N_("Building the URL, werkzeug called the app's URL converter: "
                          "`{call}` ({at})."), params), ()
    return Message(N_("While `{caller}` ran, the app's URL converter ran: `{call}` ({at})."),
                   params), ()


def _view_init(steps: Steps, step: Step, context: Step | None, params: dict[str, Any]
               ) -> _Told:
    params["call"] = _call(step)
    if context is not None and context.role == Role.VIEW:
        return Message(N_("Making the instance, `view.view_class(*class_args, "
                          "**class_kwargs)` ran the view class's own `__init__`: `{call}` "
                          "({at})."), params), lines.VIEW_INSTANCE
    return Message(N_("While `{caller}` ran, a view class's own `__init__` ran: `{call}` "
                      "({at})."), params), ()


def _app_method(steps: Steps, step: Step, context: Step | None, params: dict[str, Any]
                ) -> _Told:
    return Message(N_("While `{caller}` ran, `{function}` ({at}) ran: a method the app's "
                      "class (or the app object itself) defines, not Flask."), params), ()


def _response_iterable(steps: Steps, step: Step, context: Step | None,
                       params: dict[str, Any]) -> _Told:
    if context is not None and context.role == Role.STREAM_WITH_CONTEXT:
        return Message(N_("`stream_with_context` called `iter()` on the app's iterable at "
                          "once, so its own `__iter__`, `{function}` ({at}), ran there, inside "
                          "the request."), params), lines.STREAM_ITER
    return Message(N_("While `{caller}` ran, the `__iter__` of the app's own iterable ran: "
                      "`{function}` ({at})."), params), ()


_TELLERS: dict[str, Callable[[Steps, Step, Step | None, dict[str, Any]], _Told]] = {
    Role.SIGNAL_RECEIVER: _receiver,
    Role.SESSION: _session,
    Role.CONVERTER: _converter,
    Role.VIEW_INIT: _view_init,
    Role.APP_METHOD: _app_method,
    Role.RESPONSE_ITERABLE: _response_iterable,
}


# -- what came of it ------------------------------------------------------------------------


def _outcome(steps: Steps, step: Step) -> Message:
    raised = steps.raised(step)
    if raised is not None:
        return Message(N_("It raised {exception}."), {"exception": clip(raised)})
    result = steps.result(step)
    if result is None:
        return Message(N_("The trace does not say how it ended."))
    if leaf(step.name) == "open_session" and step.role == Role.SESSION:
        if result == "None":
            return Message(N_("It returned None, so Flask made a null session with "
                              "`make_null_session` instead."))
        return Message(N_("It returned {result}: the `session` of this request."),
                       {"result": clip(result)})
    return Message(N_("It returned {result}."), {"result": clip(result)})


# -- reading the steps --------------------------------------------------------------------


def _context(steps: Steps, step: Step) -> Step | None:
    """The nearest step above `step` with a role: the part of the request it ran in
    (recorded with `--lines`, Flask's and werkzeug's own calls lie between)."""
    parent = steps.parent(step)
    while parent is not None and parent.role is None:
        parent = steps.parent(parent)
    return parent


def _call(step: Step) -> str:
    """`Name.method(argument=value, ...)` from the recorded argument reprs (values cut)."""
    arguments = ", ".join(f"{name}={_short(value)}" for name, value in step.detail.items())
    return f"{step.name}({arguments})"


def _short(value: str) -> str:
    return value if len(value) <= _MAX_ARGUMENT else value[: _MAX_ARGUMENT - 1] + "…"
