"""Every command that reads a trace reads a store, and says in one line when it cannot."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tracer.model import Trace
from tracer.store import StoreWriter
from tracer.tracefile import load, save


@pytest.fixture
def store(tmp_path, recorded: Trace) -> Path:
    path = tmp_path / "traces.db"
    writer = StoreWriter(path)
    writer.write(recorded)  # ids 1 (GET /index → 200) and 2 (GET /nowhere → 404)
    writer.write(recorded, test_id="tests/test_app.py::test_index")  # 3 and 4
    writer.close()
    return path


def test_requests_lists_newest_first_and_filters(run, store: Path) -> None:
    result = run("requests", str(store))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["#4", "#3", "#2", "#1"]
    assert "GET /index → 200 ok  index" in lines[1]
    assert "[tests/test_app.py::test_index]" in lines[0]
    assert "4 requests shown" in lines[-1]
    only_404 = run("requests", str(store), "--status", "4xx").output.splitlines()
    assert [line.split()[0] for line in only_404 if line.startswith("#")] == ["#4", "#2"]
    by_path = run("requests", str(store), "--path", "/ind*", "--test", "tests/*").output
    assert [line.split()[0] for line in by_path.splitlines() if line.startswith("#")] == ["#3"]
    assert run("requests", str(store), "--since", "1h", "--method", "get").output.count("#") == 4
    assert run("requests", str(store), "--since", "soon").exit_code == 2


def test_explain_graph_and_export_take_a_stored_request(run, store: Path, tmp_path) -> None:
    explained = run("explain", str(store), "--request", "3")
    assert explained.exit_code == 0, explained.output
    assert "GET /index" in explained.output
    graph = run("graph", str(store), "--request", "2", "-k", "calls")
    assert graph.exit_code == 0 and graph.output.startswith("digraph")
    perfetto = run("export", str(store), "--request", "1", "-f", "perfetto")
    assert perfetto.exit_code == 0 and '"traceEvents"' in perfetto.output
    newest = run("explain", str(store))  # no --request: the newest
    assert newest.exit_code == 0 and "/nowhere" in newest.output


def test_report_takes_a_stored_request_or_one_of_a_trace_file(run, store: Path, tmp_path,
                                                               recorded: Trace) -> None:
    page = tmp_path / "three.html"
    result = run("report", str(store), "--request", "2", "-o", str(page))
    assert result.exit_code == 0, result.output
    assert "/nowhere" in page.read_text(encoding="utf-8")
    missing = run("report", str(store), "--request", "9", "-o", str(page))
    assert missing.exit_code == 2 and "no request 9" in missing.output
    trace_file = tmp_path / "two.json"
    save(recorded, trace_file)  # requests 0 (GET /index) and 1 (GET /nowhere)
    only = tmp_path / "only.html"
    assert run("report", str(trace_file), "--request", "0", "-o", str(only)).exit_code == 0
    text = only.read_text(encoding="utf-8")
    assert "/index" in text and "/nowhere" not in text
    absent = run("report", str(trace_file), "--request", "5", "-o", str(only))
    assert absent.exit_code == 2
    assert "no request 5 in this trace (requests: 0, 1)" in absent.output


def test_export_writes_a_standalone_trace_file(run, store: Path, tmp_path, recorded) -> None:
    output = tmp_path / "one.json.gz"
    result = run("export", str(store), "--request", "3", "-o", str(output))
    assert result.exit_code == 0, result.output
    trace = load(output)
    assert [(r.id, r.path) for r in trace.requests] == [(3, "/index")]
    assert trace.routes == recorded.routes
    assert trace.meta["app"] == recorded.meta["app"]
    assert run("explain", str(output)).exit_code == 0  # readable wherever a trace file is


def test_view_without_a_terminal_prints_a_stored_request(run, store: Path) -> None:
    result = run("view", str(store), "--request", "2")
    assert result.exit_code == 0
    assert "/nowhere" in result.output


def test_trace_files_still_read_everywhere(run, tmp_path, recorded: Trace) -> None:
    path = tmp_path / "both.json"
    save(recorded, path)
    for command in (("explain", str(path), "--request", "1"),
                    ("graph", str(path), "-k", "calls"),
                    ("export", str(path), "-f", "curl"),
                    ("view", str(path))):
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)


def _one_error_line(result) -> str:
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flaskscope: error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_bad_input_is_one_line_and_exit_2(run, store: Path, tmp_path) -> None:
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection, connection:
        connection.execute("CREATE TABLE t (x)")
    assert "not a trace store" in _one_error_line(run("requests", str(other)))
    assert "not a trace store" in _one_error_line(run("explain", str(other)))
    junk = tmp_path / "junk.json"
    junk.write_text("not a trace")
    assert "junk.json" in _one_error_line(run("explain", str(junk)))
    assert "no request 99" in _one_error_line(run("explain", str(store), "--request", "99"))
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("PRAGMA user_version = 7")
    assert "store version 7" in _one_error_line(run("view", str(store)))
    assert "store version 7" in _one_error_line(run("requests", str(store)))


def test_a_damaged_request_is_one_line(run, store: Path) -> None:
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("UPDATE requests SET data = X'00' WHERE id = 2")
    assert "damaged" in _one_error_line(run("explain", str(store), "--request", "2"))
    assert run("explain", str(store), "--request", "1").exit_code == 0


def test_compare_reads_a_stored_request(run, store: Path) -> None:
    result = run("compare", str(store), "fixtures/seed_views.py", "-r", "GET /index")
    assert result.exit_code == 0, result.output
    missing = run("compare", str(store), "fixtures/seed_views.py", "-r", "GET /other")
    assert "holds no GET /other request" in _one_error_line(missing)


def test_view_without_a_terminal_prints_the_newest_request_that_matches(run, store) -> None:
    result = run("view", str(store), "--status", "2xx")
    assert result.exit_code == 0
    assert "request 3: GET /index" in result.output
    assert "not a duration" in _one_error_line(run("view", str(store), "--since", "x"))
    assert "neither a status" in _one_error_line(run("view", str(store), "--status", "7xx"))
    assert "holds no request that matches" in _one_error_line(
        run("view", str(store), "--path", "/none*"))
