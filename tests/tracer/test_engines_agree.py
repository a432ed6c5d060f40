"""The compiled core and the pure-Python engine record the same trace.

Every fixture the oracle tests use, and every corpus app (real extensions from PyPI), is
recorded by each engine, in line mode and in hook mode (where the compiled core does the
bookkeeping of every hooked call, redacting as by default), and the two traces are compared
step by step: ids,
parents, kinds, names, files, lines, roles, details (arguments, changed locals, results)
and facts. Only what differs between two runs of the pure engine is set aside: memory
addresses, random tokens, clock readings the apps keep. The traces are recorded after two
runs, so that caches the first run fills (`functools.lru_cache` on `urlsplit`, Flask's
`_split_blueprint_path`) are warm for each, and so is the interpreter's specialisation.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
from corpus.harness import APPS, CORPUS_DIR, _forget, _package_dir, corpus_module
from flaskscope_testing import REPO_ROOT, forget_fixtures
from oracle.cases import CASES

import tracer
from tracer.api import default_scope
from tracer.engine import ENVIRONMENT_VARIABLE, compiled_core, compiled_steps
from tracer.model import Step, Trace
from tracer.session import record_app

pytestmark = pytest.mark.skipif(compiled_core() is None or compiled_steps() is None,
                                reason="the compiled core is not built here")

#: Line mode (unredacted: every kept value compared as it is) and hook mode (as by default).
MODES = pytest.mark.parametrize("lines", [True, False], ids=["lines", "hooks"])

#: Memory addresses (`0x7f…`, Jinja's `memory:7f…`): they differ between any two runs, and
#: now and then agree between two runs by chance.
_ADDRESSES = re.compile(r"0x[0-9a-fA-F]+|memory:[0-9a-fA-F]+")


def _unaddressed(value: Any) -> Any:
    if isinstance(value, str):
        return _ADDRESSES.sub("…", value)
    if isinstance(value, dict):
        return {key: _unaddressed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_unaddressed(item) for item in value]
    return value


#: Arguments that are buffers not yet written to: their bytes are whatever memory held,
#: often zeros in both pure runs.
_UNINITIALISED = {("LimitedStream.readinto", "b")}


#: What a step's field is when the step does not have it.
_ABSENT = "(absent)"


def _fields(step: Step) -> dict[str, Any]:
    """What a step says, field by field: detail and facts entries each count as one."""
    fields: dict[str, Any] = {"id": step.id, "parent": step.parent, "kind": step.kind,
                              "name": step.name, "file": step.file, "line": step.line,
                              "role": step.role}
    fields.update({f"detail {key}": "…" if (step.name, key) in _UNINITIALISED
                   else _unaddressed(v) for key, v in step.detail.items()})
    fields.update({f"facts {key}": _unaddressed(v) for key, v in step.facts.items()})
    return fields


def _phases(trace: Trace) -> dict[str, list[dict[str, Any]]]:
    phases = {"registration": [_fields(s) for s in trace.registration.steps]}
    for request in trace.requests:
        phases[f"request {request.id} {request.method} {request.path}"] = [
            _fields(s) for s in request.steps]
    return phases


def assert_same(compiled: Trace, pure: Trace, pure_again: Trace) -> None:
    """Compiled and pure agree step by step and field by field, except where the pure
    engine itself differs from one run to the next (random tokens, gzip time stamps,
    buffers not yet written to, clock readings)."""
    mine, theirs, again = _phases(compiled), _phases(pure), _phases(pure_again)
    assert mine.keys() == theirs.keys() == again.keys()
    for phase, steps in mine.items():
        if len(theirs[phase]) != len(again[phase]):
            # The pure engine itself records this phase differently from run to run (a
            # request that sleeps, timing what it waits for): compiled must be one of them.
            assert len(steps) in (len(theirs[phase]), len(again[phase])), phase
            continue
        assert len(steps) == len(theirs[phase]) == len(again[phase]), (
            f"{phase}: {len(steps)} steps compiled, {len(theirs[phase])} and "
            f"{len(again[phase])} pure")
        for step, other, noise in zip(steps, theirs[phase], again[phase], strict=True):
            # A field one side lacks counts as a difference too (a local a line did not
            # change: the same character twice in a cookie that differs from run to run).
            for field in step.keys() | other.keys():
                value, expected = step.get(field, _ABSENT), other.get(field, _ABSENT)
                if value != expected and expected == noise.get(field, _ABSENT):
                    pytest.fail(f"{phase}, step {step['id']} {step['name']}, {field}:\n"
                                f"  compiled {value!r}\n  pure     {expected!r}")
    assert compiled.meta.get("recorder_errors") == pure.meta.get("recorder_errors") == 0
    assert sum(len(steps) for steps in mine.values()) > 0


def _one_second(signer: Any) -> int:
    return 1_767_225_600  # 2026-01-01, for every signed cookie of the three runs


def _three(record: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Trace, Trace, Trace]:
    """Compiled between two pure runs, after two runs that warm the caches and the
    interpreter (3.12 specialises a property's call after a few runs, and then reports
    one line fewer around it): a value that depends on the clock (a signed cookie's time
    stamp) and differs from the second pure run's then differs between the two pure runs
    too. Signed cookies are stamped with one fixed second: when the three runs span three
    seconds, a signature character can agree between the two pure runs by chance while the
    compiled run's differs (1 in 64 per character), which looked like a disagreement."""
    from itsdangerous.timed import TimestampSigner

    monkeypatch.setattr(TimestampSigner, "get_timestamp", _one_second)
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    record()
    record()
    pure_before = record()
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    compiled = record()
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    return compiled, record(), pure_before


@MODES
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_fixture_is_recorded_alike_by_both_engines(name: str, lines: bool,
                                                         monkeypatch) -> None:
    def record() -> Trace:
        forget_fixtures()
        try:
            return record_app(str(REPO_ROOT / "fixtures" / f"{name}.py"), CASES[name],
                              lines=lines, redact=not lines).trace
        finally:
            forget_fixtures()

    assert_same(*_three(record, monkeypatch))


@MODES
@pytest.mark.parametrize("name", sorted(APPS))
def test_every_corpus_app_is_recorded_alike_by_both_engines(name: str, lines: bool,
                                                            monkeypatch) -> None:
    extensions, app_packages = APPS[name]
    for extension in extensions:  # the corpus extra (`make test`), not every environment
        pytest.importorskip(extension)
    module_name = corpus_module(name)
    app_dirs = [_package_dir(p) for p in app_packages]

    def record() -> Trace:
        _forget((module_name, *app_packages))
        try:
            scope = default_scope([str(CORPUS_DIR), *app_dirs])
            with tracer.record(lines=lines, redact=not lines, scope=scope) as recorder:
                module = importlib.import_module(module_name)
                client = module.app.test_client()
                for ask in module.ASKS:
                    ask.send(client).close()
                return recorder.trace()
        finally:
            _forget((module_name, *app_packages))

    assert_same(*_three(record, monkeypatch))


#: Locals of every kind a frame has: arguments and locals that are cells (captured by an
#: inner function), free variables, a local and a cell deleted, a cell argument rebound,
#: containers changed in place. 3.11's compiled core reads plain locals, cells and free
#: variables from the frame's slots, anything else through `f_locals`.
_LOCAL_KINDS_APP = """
from flask import Flask

app = Flask(__name__)


def counter(start, scale):
    total = start
    def add(step):
        nonlocal total
        total += step * scale
        return total
    add(1)
    gone = total * 2
    del gone
    flag = True
    def peek():
        return flag
    del flag
    scale = 1
    return add(2)


@app.route("/")
def index():
    count = counter(3, 2)
    words = [str(count)]
    words.append("x")
    return " ".join(words)
"""


def test_locals_of_every_kind_are_read_alike_by_both_engines(tmp_path, monkeypatch) -> None:
    (tmp_path / "local_kinds.py").write_text(_LOCAL_KINDS_APP)
    monkeypatch.syspath_prepend(str(tmp_path))

    def record() -> Trace:
        _forget(("local_kinds",))
        try:
            with tracer.record(lines=True, redact=False,
                               scope=default_scope([str(tmp_path)])) as recorder:
                importlib.import_module("local_kinds").app.test_client().get("/").close()
                return recorder.trace()
        finally:
            _forget(("local_kinds",))

    compiled, pure, pure_again = _three(record, monkeypatch)
    assert_same(compiled, pure, pure_again)
    seen = [(step.name, key, value) for step in compiled.requests[0].steps
            for key, value in step.detail.items() if step.kind == "line"]
    assert ("counter", "total", "3") in seen  # a cell
    assert ("counter.<locals>.add", "total", "5") in seen  # a free variable
    assert ("counter", "gone", "<deleted>") in seen
    assert ("counter", "flag", "True") in seen and ("counter", "flag", "<deleted>") in seen
    assert ("counter", "scale", "1") in seen  # a cell argument, rebound
    assert ("index", "words", "['7', 'x']") in seen  # a plain local, changed in place
    [call] = [step for step in compiled.requests[0].steps
              if step.kind == "call" and step.name == "counter"]
    assert call.detail == {"start": "3", "scale": "2"}  # a cell argument as the call starts


def test_the_pure_engine_is_the_one_switched_to(monkeypatch) -> None:
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "python")
    assert compiled_core() is None and compiled_steps() is None
    assert "call" not in vars(tracer.Recorder())  # the methods of the class record
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "compiled")
    assert compiled_core() is not None and compiled_steps() is not None
    assert vars(tracer.Recorder())["call"].__self__.__class__.__name__ == "Steps"


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_the_compiled_core_keeps_step_rows_out_of_the_collectors_sight(
        lines: bool, monkeypatch) -> None:
    """A row of integers, strings and None can be in no cycle: the compiled core untracks
    it as it stores it, so young collections during a long recording do not scan it."""
    import gc

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "compiled")
    scope = default_scope([str(REPO_ROOT / "fixtures")])
    with tracer.record(lines=lines, scope=scope) as recorder:
        forget_fixtures()
        app = importlib.import_module("fixtures.seed_views").app
        # The first call of each code object is handed to Python (which learns the code);
        # whether a collection has untracked those rows yet is a matter of timing. The
        # second request's calls are the core's own, but for the few it always hands back.
        app.test_client().get("/index")
        app.test_client().get("/index")
        forget_fixtures()
        # The rows of calls and returns; notes, and the lines that ran in hook mode on
        # 3.12+, are stored by the recorder's Python. The line steps and the returns of
        # the frames the line core traces are no rows: they are in the record's step log.
        record = recorder.requests[-1]
        rows = [row for row in record.steps.values() if row[2] in ("call", "return")]
        short_rows = [row for row in record.steps.values() if len(row) == 3]
    assert len(rows) > 20
    assert {len(row) for row in rows} == {9}
    assert (len(record.logged) > 100 and not short_rows) if lines else not record.logged
    calls = [row for row in rows if len(row) == 9 and row[2] == "call"]
    tracked_calls = sum(gc.is_tracked(row) for row in calls)
    assert not any(gc.is_tracked(row) for row in rows if row[2] == "return")
    # Line mode: the calls the core hands back (resumed generators, watched ones) get their
    # rows from Python, which cannot untrack them: 6 to 8 of 163 here, by Python version.
    assert tracked_calls <= (len(calls) // 10 if lines else 0)
