"""A hooked function's stand-in behaves as the function it replaces, and both engines'
stand-ins (the compiled core's `Hook`, the pure engine's closure) record the same steps.

The stand-in sits on every hooked attribute of Flask, Werkzeug and the other frameworks,
so an app sees it wherever it reads one: as a method, a classmethod, a staticmethod, a
module function; by name, docstring, signature and repr; in the tracebacks of what the
original raises. Errors of the recorder's own callbacks are counted and never reach the
app, except what must never be swallowed (KeyboardInterrupt).
"""

from __future__ import annotations

import functools
import inspect
import traceback
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tracer.engine import ENVIRONMENT_VARIABLE, compiled_steps
from tracer.frameworks.hooking import AdapterHooks
from tracer.recorder import Recorder, bookkeeping
from tracer.saferepr import safe_repr, safe_value
from tracer.unwrap import is_stand_in, layers
from tracer.watch import CodeWatcher

ENGINES = ["compiled", "python"]


class Sample:
    """The class whose attributes get hooked."""

    def method(self, a: Any, b: Any = 2, *, key: Any = None) -> tuple:
        """Gives back what it was given."""
        return (a, b, key)

    @classmethod
    def make(cls, value: Any) -> tuple:
        return (cls, value)

    @staticmethod
    def double(value: int) -> int:
        return value * 2

    def fails(self, value: Any) -> None:
        raise ValueError(f"bad {value}")

    def spread(self, *values: Any, **named: Any) -> int:
        return len(values) + len(named)


class Child(Sample):
    def method(self, a: Any, b: Any = 2, *, key: Any = None) -> tuple:
        return ("child", *super().method(a, b, key=key))


class Sampled(AdapterHooks):
    """Hooks `Sample` with the callbacks a test gives."""

    name = "sample"

    def __init__(self, recorder: Recorder, **callbacks: Any) -> None:
        super().__init__(recorder, CodeWatcher(recorder))
        self.callbacks = callbacks

    def _install(self) -> None:
        for attr in ("method", "make", "double", "fails", "spread"):
            self.patch(Sample, attr, "sample", **self.callbacks)

    def uninstall(self) -> None:
        super().uninstall()
        self.watcher.close()  # its `sys.monitoring` tool id back (3.12+): there are few


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "python":
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    elif compiled_steps() is None:
        pytest.skip("the compiled core is not built")
    return request.param


@pytest.fixture
def originals() -> Iterator[dict[str, Any]]:
    raw = dict(vars(Sample))
    yield raw
    for attr in ("method", "make", "double", "fails", "spread"):
        assert vars(Sample)[attr] is raw[attr], "uninstall puts the very originals back"


def hooked(**callbacks: Any) -> tuple[Recorder, Sampled]:
    recorder = Recorder()
    hooks = Sampled(recorder, **callbacks)
    hooks.install()
    return recorder, hooks


def steps(recorder: Recorder) -> list[tuple]:
    """(kind, name, detail, role, facts) of every step recorded (outside a request)."""
    return [(row[2], row[3], row[8], row[9], row[10]) for row in recorder.registration.rows()]


def test_the_stand_ins_are_the_engines(engine: str, originals: dict) -> None:
    recorder, hooks = hooked()
    try:
        kind = type(vars(Sample)["method"])
        assert (kind.__module__ == "tracer._stepcore") == (engine == "compiled")
    finally:
        hooks.uninstall()


def test_a_stand_in_binds_and_reads_as_the_function_it_replaces(engine: str,
                                                                 originals: dict) -> None:
    recorder, hooks = hooked()
    try:
        sample = Sample()
        assert sample.method(1) == (1, 2, None)
        assert sample.method(1, b=3, key="k") == (1, 3, "k")
        assert Sample.method(sample, 5) == (5, 2, None)
        assert Sample.make(3) == (Sample, 3)
        assert sample.make(4) == (Sample, 4)
        assert Child.make(5) == (Child, 5)
        assert Sample.double(2) == 4
        assert sample.double(3) == 6
        assert Child().method(7) == ("child", 7, 2, None)
        assert sample.spread(1, 2, 3, x=4) == 4

        stand_in = vars(Sample)["method"]
        original = originals["method"]
        assert stand_in.__wrapped__ is original
        assert (stand_in.__name__, stand_in.__qualname__, stand_in.__doc__,
                stand_in.__module__) == (original.__name__, original.__qualname__,
                                         original.__doc__, original.__module__)
        assert inspect.signature(Sample.method) == inspect.signature(original)
        assert inspect.unwrap(sample.method.__func__) is original
        assert repr(stand_in).startswith("<function Sample.method at 0x")
        assert sample.method.__self__ is sample
        assert weakref.ref(stand_in)() is stand_in
        assert not inspect.iscoroutinefunction(stand_in)
    finally:
        hooks.uninstall()
    assert [name for kind, name, *_ in steps(recorder) if kind == "call"] == [
        "Sample.method", "Sample.method", "Sample.method", "Sample.make", "Sample.make",
        "Sample.make", "Sample.double", "Sample.double", "Sample.method", "Sample.spread"]


def _arguments_scenario() -> list[tuple]:
    recorder, hooks = hooked()
    try:
        sample = Sample()
        environ = {"wsgi.version": (1, 0), "REQUEST_METHOD": "POST", "PATH_INFO": "/login"}
        sample.method(None, True)
        sample.method(3, 2.5, key=10**30)
        sample.method("text", b=[1, "two"], key={"a": 1})
        sample.method(environ, key=-7)
        sample.spread(1, None, False, token=12, password="hunter2", session=None)
        sample.method(a=1.0, b=float("nan"))
        sample.spread(api_key=Sample, csrf={"x": 1}, config={"SECRET_KEY": "s3"})
    finally:
        hooks.uninstall()
    return steps(recorder)


def test_arguments_are_stored_alike_by_both_engines(monkeypatch) -> None:
    if compiled_steps() is None:
        pytest.skip("the compiled core is not built")
    compiled = _arguments_scenario()
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    pure = _arguments_scenario()
    assert compiled == pure
    details = [detail for kind, _, detail, *_ in compiled if kind == "call"]
    assert details == [
        {"a": "None", "b": "True"},
        {"a": "3", "b": "2.5", "key": "1000000000000000000000000000000"},
        {"a": "'text'", "b": "[1, 'two']", "key": "{'a': 1}"},
        {"a": "<environ POST /login>", "key": "-7"},
        # positional values past the named parameters are numbered; a secret-looking
        # name hides any value but None
        {"arg1": "1", "arg2": "None", "arg3": "False", "token": "***",
         "password": "***", "session": "None"},
        {"a": "1.0", "b": "nan"},
        # a class shows only its name, though under a secret-looking one; a mapping under
        # a name that is no secret's still hides its secret-named keys
        {"api_key": repr(Sample), "csrf": "***", "config": "{'SECRET_KEY': ***}"},
    ]
    returns = [detail for kind, _, detail, *_ in compiled if kind == "return"]
    assert returns[0] == {"result": "(None, True, None)"}


def test_an_error_of_the_original_reaches_the_caller_as_it_was_raised(
        engine: str, originals: dict) -> None:
    recorder, hooks = hooked()
    try:
        with pytest.raises(ValueError, match="bad 1") as caught:
            Sample().fails(1)
    finally:
        hooks.uninstall()
    frames = [entry.name for entry in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "fails"
    kinds = [kind for kind, *_ in steps(recorder)]
    assert kinds == ["call", "exception"]
    assert steps(recorder)[1][2] == {"exception": "ValueError('bad 1')"}


def _failing(where: str, error: type[BaseException] = RuntimeError) -> Callable:
    def callback(*args: Any) -> Any:
        raise error(f"{where} failed")
    return callback


@pytest.mark.parametrize("where", ["describe", "after", "enter", "returns"])
def test_a_failing_callback_is_counted_and_the_app_gets_its_result(
        engine: str, originals: dict, where: str) -> None:
    recorder, hooks = hooked(**{where: _failing(where)})
    try:
        assert Sample().method(1) == (1, 2, None)
        assert bookkeeping.muted == 0
    finally:
        hooks.uninstall()
    assert recorder.errors == 1
    assert recorder.error_samples == [f"RuntimeError: {where} failed"]
    kinds = [kind for kind, *_ in steps(recorder)]
    assert kinds == ([] if where == "describe" else ["call", "return"])


def test_a_failing_error_callback_leaves_the_apps_error_as_it_was(
        engine: str, originals: dict) -> None:
    recorder, hooks = hooked(on_error=_failing("on_error"))
    try:
        with pytest.raises(ValueError, match="bad 2"):
            Sample().fails(2)
    finally:
        hooks.uninstall()
    assert recorder.error_samples == ["RuntimeError: on_error failed"]
    assert [kind for kind, *_ in steps(recorder)] == ["call", "exception"]


def test_the_error_being_closed_is_the_one_handled_while_callbacks_run(
        engine: str, originals: dict) -> None:
    import sys

    seen: list[Any] = []
    recorder, hooks = hooked(on_error=lambda step, args, kwargs, error: seen.append(
        (error, sys.exc_info()[1])))
    try:
        with pytest.raises(ValueError):
            Sample().fails(3)
        assert sys.exc_info() == (None, None, None)
    finally:
        hooks.uninstall()
    assert len(seen) == 1 and seen[0][0] is seen[0][1]


def test_an_interrupt_inside_a_callback_is_not_swallowed(engine: str,
                                                          originals: dict) -> None:
    recorder, hooks = hooked(after=_failing("after", KeyboardInterrupt))
    try:
        with pytest.raises(KeyboardInterrupt):
            Sample().method(1)
        assert bookkeeping.muted == 0
    finally:
        hooks.uninstall()
    assert recorder.errors == 0


def test_callbacks_see_the_call_and_returns_may_swap_the_result(engine: str,
                                                                 originals: dict) -> None:
    seen: list[tuple] = []
    recorder, hooks = hooked(
        describe=lambda args, kwargs: seen.append(("describe", args[1:], kwargs))
        or {"fact": len(args)},
        enter=lambda step, args, kwargs: seen.append(("enter", step)),
        after=lambda step, args, kwargs, result: seen.append(("after", step, result)),
        returns=lambda result: ("swapped", result),
    )
    try:
        assert Sample().method(1, key=2) == ("swapped", (1, 2, 2))
    finally:
        hooks.uninstall()
    assert seen == [("describe", (1,), {"key": 2}), ("enter", 0), ("after", 0, (1, 2, 2))]
    assert steps(recorder)[0][4] == {"fact": 2}


@pytest.mark.parametrize("off", ["inactive", "muted", "not wanted"])
def test_a_stand_in_passes_straight_through_when_it_must_not_record(
        engine: str, originals: dict, off: str) -> None:
    recorder, hooks = hooked(when=lambda args, kwargs: off != "not wanted")
    try:
        if off == "inactive":
            hooks.active = False
        if off == "muted":
            bookkeeping.muted += 1
        try:
            assert Sample().method(1) == (1, 2, None)
            with pytest.raises(ValueError):
                Sample().fails(1)
        finally:
            if off == "muted":
                bookkeeping.muted -= 1
    finally:
        hooks.uninstall()
    assert steps(recorder) == []


def test_a_role_may_depend_on_the_call(engine: str, originals: dict) -> None:
    recorder = Recorder()

    class Roles(Sampled):
        def _install(self) -> None:
            self.patch(Sample, "method", lambda args, kwargs: f"role-{args[1]}")

    hooks = Roles(recorder)
    hooks.install()
    try:
        Sample().method("a")
    finally:
        hooks.uninstall()
    assert steps(recorder)[0][3] == "role-a"


def test_a_stand_in_wraps_what_functools_wraps(engine: str) -> None:
    """A stand-in for a callable object without a code object (a partial)."""
    recorder = Recorder()
    target = type("Target", (), {})()
    target.call = functools.partial(pow, 2)

    class Partial(Sampled):
        def _install(self) -> None:
            self.patch(target, "call", "sample")

    hooks = Partial(recorder)
    hooks.install()
    try:
        assert target.call(10) == 1024
    finally:
        hooks.uninstall()
    assert steps(recorder)[0][:3] == ("call", "?", {"arg0": "10"})


def test_a_stand_in_is_told_apart_and_unwraps_to_its_original(engine: str,
                                                             originals: dict) -> None:
    recorder, hooks = hooked()
    try:
        stand_in = vars(Sample)["method"]
        assert is_stand_in(stand_in) and is_stand_in(Sample().method)
        assert not is_stand_in(originals["method"]) and not is_stand_in(Sample.make.__func__
                                                                          .__wrapped__)
        assert list(layers(stand_in)) == [stand_in, originals["method"]]
        del stand_in.__wrapped__  # as the Django adapter does to `View.dispatch`'s
        assert list(layers(stand_in)) == [stand_in, originals["method"]]
        assert safe_repr(stand_in) == repr(stand_in)
        assert safe_value("token", stand_in) == repr(stand_in), "a name hides no secret"
    finally:
        hooks.uninstall()
