"""The step log: the compiled line core keeps the line steps and returns of the frames
it traces as machine integers (`tracer._linecore.StepLog`), and the record reads them back
as the rows it would have held."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.engine import INTERFACE, built_core, compiled_steps
from tracer.recorder import StepRecord

core = built_core("_linecore", INTERFACE)
needs_core = pytest.mark.skipif(core is None, reason="the compiled line core is not built")


@needs_core
def test_a_log_answers_length_membership_and_the_lines_since_an_id() -> None:
    log = core.StepLog()
    assert len(log) == 0 and 3 not in log and log.since(0, {}) == {}
    for step_id in (3, 4, 7, 9):
        log.add(step_id, 2, 100 + step_id, 1_000 * step_id)
    assert len(log) == 4
    assert [n in log for n in (2, 3, 5, 7, 9, 10)] == [False, True, False, True, True, False]
    assert "3" not in log and 2**70 not in log
    assert log.since(0, {}) == {3: (2, 103, 3_000), 4: (2, 104, 4_000), 7: (2, 107, 7_000),
                                9: (2, 109, 9_000)}
    assert log.since(5, {}) == {7: (2, 107, 7_000), 9: (2, 109, 9_000)}
    assert log.since(10, {}) == {}


@needs_core
def test_a_logged_return_reads_name_file_and_role_from_its_call() -> None:
    log = core.StepLog()
    steps = {0: (0, None, "call", "Index.get", "app.py", 10, 5, 77, "handler")}
    log.add(1, 0, 11, 6)
    log.add(2, 0, 12, 7, 2**63 + 5)  # a thread: a return (thread idents are unsigned)
    assert log.since(0, steps) == {
        1: (0, 11, 6), 2: (2, 0, "return", "Index.get", "app.py", 12, 7, 2**63 + 5, "handler")}
    with pytest.raises(KeyError):
        log.since(0, {})  # a return without its call's row: the record is damaged


@needs_core
def test_a_log_whose_ids_do_not_rise_is_still_searched_whole() -> None:
    log = core.StepLog()
    for step_id in (8, 2, 5, 5, 1):
        log.add(step_id, 0, step_id, step_id)
    assert all(n in log for n in (1, 2, 5, 8)) and 3 not in log
    assert log.since(3, {}) == {5: (0, 5, 5), 8: (0, 8, 8)}


@needs_core
def test_a_log_grows_past_its_first_allocation() -> None:
    log = core.StepLog()
    for step_id in range(10_000):
        log.add(step_id, step_id - 1, step_id % 300, step_id)
    assert len(log) == 10_000 and 9_999 in log and 4_567 in log
    assert log.since(9_998, {}) == {9_998: (9_997, 98, 9_998), 9_999: (9_998, 99, 9_999)}


@needs_core
def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError):
        core.StepLog(1)
    log = core.StepLog()
    with pytest.raises(TypeError):
        log.add(1, 2, 3)
    with pytest.raises(TypeError):
        log.add(1, None, 3, 4)
    with pytest.raises(OverflowError):
        log.add(2**70, 0, 0, 0)
    with pytest.raises(OverflowError):
        log.add(1, 0, 0, 0, -1)
    with pytest.raises(TypeError):
        log.since(0)
    assert len(log) == 0


def _record_with_logged_steps() -> StepRecord:
    """Steps 0 (call), 1 and 2 (logged lines), 3 (a line as a row, as the pure engine
    stores it), 4 (a logged return), 5 (a return as a row): ids taken from the record's own
    counter, as the engines do."""
    record = StepRecord(100)
    call = record.add(None, "call", "view", "app.py", 10, None, "view", None)
    assert call == 0
    for line in (11, 12):
        record.logged.add(next(record.ids), call, line, 50 + line)
    assert record.add_line(call, 13) == 3
    record.logged.add(next(record.ids), call, 13, 70, 1234)
    record.add(call, "return", "view", "app.py", 13, {"result": "1"}, None, None)
    return record


@needs_core
def test_a_record_reads_its_logged_steps_back_as_rows_in_id_order() -> None:
    record = _record_with_logged_steps()
    assert record.size() == 6
    rows = record.rows()
    assert [(row[0], row[2], row[5]) for row in rows] == [
        (0, "call", 10), (1, "line", 11), (2, "line", 12), (3, "line", 13), (4, "return", 13),
        (5, "return", 13)]
    call = rows[0]
    for line in rows[1:3]:  # name, file and thread are the parent call's, as for a row
        assert (line[1], line[3], line[4], line[7]) == (0, "view", "app.py", call[7])
    assert rows[1][6] == 61 and rows[2][8:] == (None, None, None, None)
    # a logged return: its own time and thread, its call's name, file and role
    assert rows[4] == (4, 0, "return", "view", "app.py", 13, 70, 1234, None, "view", None, None)
    assert [row[0] for row in record.rows(2)] == [2, 3, 4, 5]
    assert record.calls_since(0) == {("app.py", 10)}


@needs_core
def test_rows_stop_at_an_id_taken_but_not_yet_stored() -> None:
    """Another thread has taken id 6 and not stored its step yet: rows end before it, as
    they did when every step was a row."""
    record = _record_with_logged_steps()
    next(record.ids)  # 6: taken, in flight
    record.logged.add(next(record.ids), 0, 20, 99)  # 7
    assert [row[0] for row in record.rows()] == [0, 1, 2, 3, 4, 5]


def test_without_the_core_a_record_keeps_every_step_as_a_row(monkeypatch) -> None:
    from tracer import recorder as recorder_module

    monkeypatch.setattr(recorder_module, "_STEP_LOG", None)
    record = StepRecord(100)
    assert len(record.logged) == 0 and 0 not in record.logged
    assert record.logged.since(0, record.steps) == {}
    call = record.add(None, "call", "view", "app.py", 10, None, None, None)
    record.add_line(call, 11)
    assert record.size() == 2
    assert [(row[0], row[2], row[5]) for row in record.rows()] == [(0, "call", 10),
                                                                  (1, "line", 11)]


@needs_core
@pytest.mark.parametrize("cap", [150, 600])
def test_steps_past_the_cap_are_dropped_and_counted_by_both_engines_alike(
        cap: int, monkeypatch) -> None:
    """The last of three requests (caches warm), under a cap it runs past: the same steps
    kept, the same count dropped, whether the line and return steps were rows or logged."""
    import importlib

    from flaskscope_testing import REPO_ROOT, forget_fixtures

    import tracer
    from tracer.api import default_scope
    from tracer.engine import ENVIRONMENT_VARIABLE

    kept = {}
    for engine in ("python", "compiled"):
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, engine)
        scope = default_scope([str(REPO_ROOT / "fixtures")])
        with tracer.record(lines=True, max_steps=cap, scope=scope) as recorder:
            forget_fixtures()
            client = importlib.import_module("fixtures.seed_views").app.test_client()
            for _ in range(3):
                client.get("/index")
            logged = len(recorder.requests[-1].logged)
            request = recorder.trace().requests[-1]
        forget_fixtures()
        assert (logged > 0) == (engine == "compiled")
        kept[engine] = ([(s.id, s.parent, s.kind, s.name, s.line) for s in request.steps],
                        request.dropped_steps)
    assert kept["python"] == kept["compiled"]
    steps, dropped = kept["compiled"]
    assert len(steps) == cap and dropped > 0
    assert [step[0] for step in steps] == list(range(cap))


steps_core = compiled_steps()


def _python_rows(record: StepRecord, start: int) -> list[tuple] | type[Exception]:
    with mock.patch("tracer.recorder.compiled_steps", return_value=None):
        try:
            return record.rows(start)
        except (KeyError, IndexError) as error:
            return type(error)


def _compiled_rows(record: StepRecord, start: int) -> list[tuple] | type[Exception]:
    try:
        return record.rows(start)
    except (KeyError, IndexError) as error:
        return type(error)


call_rows = st.builds(lambda name, thread, role: (0, None, "call", name, "app.py", 3, 9, thread,
                                                  role),
                      st.sampled_from(["view", "Index.get"]), st.integers(0, 2**64),
                      st.sampled_from([None, "view", "handler"]))


@pytest.mark.skipif(steps_core is None, reason="the compiled step core is not built")
@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.integers(0, 12), st.one_of(
           call_rows, st.tuples(st.integers(0, 14), st.integers(1, 99), st.integers(0, 10**12)),
           st.just((1, 2, 3, 4)))),
       st.dictionaries(st.integers(0, 12), st.dictionaries(st.text(max_size=3), st.text())),
       st.dictionaries(st.integers(0, 12), st.dictionaries(st.text(max_size=3), st.integers())),
       st.dictionaries(st.integers(0, 12), st.dictionaries(st.text(max_size=3), st.integers())),
       st.integers(0, 13), st.integers(0, 5))
def test_the_compiled_rows_are_the_python_rows(steps, details, facts, raw, issued,
                                                start) -> None:
    record = StepRecord(max_steps=1000)
    record.steps.update(steps)
    record.details.update(details)
    record.facts.update(facts)
    record.raw.update(raw)
    for _ in range(issued):
        next(record.ids)
    with mock.patch.object(StepRecord, "size", return_value=issued):
        assert _compiled_rows(record, start) == _python_rows(record, start)
