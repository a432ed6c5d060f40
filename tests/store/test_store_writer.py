"""Writing a store: what is written reads back as it was, from many threads and from two
processes at once, and a process killed mid-write leaves a sound store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from tests.store.conftest import tagged
from tracer.errors import StoreError
from tracer.model import SourceFile, Trace
from tracer.store import Retention, StoreReader, StoreWriter
from tracer.store.codec import decode_registration
from tracer.tracefile import save

CHILD = Path(__file__).with_name("writer_child.py")


def _integrity(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def _step_names(steps) -> list[tuple[str, str | None, str]]:
    return [(step.name, step.role, step.kind) for step in steps]


def test_a_request_reads_back_as_it_was_recorded(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store)
    ids = writer.write(recorded).ids
    writer.close()
    assert len(ids) == 2
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert [row.id for row in rows] == ids[::-1]  # newest first
        assert [(row.path, row.status, row.outcome) for row in rows] == [
            ("/nowhere", 404, "not_found"), ("/index", 200, "ok")]
        for stored_id, original in zip(ids, recorded.requests, strict=True):
            trace = reader.request_trace(stored_id)
            (request,) = trace.requests
            assert request.id == stored_id
            assert (request.method, request.path, request.endpoint) == (
                original.method, original.path, original.endpoint)
            assert _step_names(request.steps) == _step_names(original.steps)
            assert trace.routes == recorded.routes
            assert _step_names(trace.registration.steps) == \
                _step_names(recorded.registration.steps)
            for step in request.steps:
                if step.file and step.line and step.file in recorded.sources:
                    assert trace.sources[step.file].lines.get(step.line) == \
                        recorded.sources[step.file].lines.get(step.line)


def test_registration_and_sources_are_stored_once(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store)
    for _ in range(50):
        writer.write(recorded)
    writer.close()
    with closing(sqlite3.connect(store)) as connection, connection:
        registrations = connection.execute("SELECT count(*) FROM registrations").fetchone()[0]
        sources = connection.execute("SELECT count(*) FROM sources").fetchone()[0]
        requests = connection.execute("SELECT count(*) FROM requests").fetchone()[0]
    assert (registrations, requests) == (1, 100)
    assert sources <= len(recorded.sources)


def test_a_registration_is_stored_once_whenever_its_traces_were_built(
        tmp_path, recorded: Trace) -> None:
    """A live server builds a trace for every few requests: their `created` stamps differ
    from second to second, their registration does not."""
    store = tmp_path / "traces.db"
    writer = StoreWriter(store)
    for second in range(5):
        built = replace(recorded, meta={**recorded.meta,
                                        "created": f"2026-12-08T03:00:0{second}+00:00"})
        writer.write(built)
    writer.write(replace(recorded, meta={**recorded.meta, "app": "another"}))
    writer.close()
    with closing(sqlite3.connect(store)) as connection, connection:
        rows = connection.execute("SELECT data FROM registrations ORDER BY id").fetchall()
    assert [decode_registration(data).meta["app"] for (data,) in rows] == [
        recorded.meta["app"], "another"]
    assert decode_registration(rows[0][0]).meta["created"] == "2026-12-08T03:00:00+00:00"


def test_many_threads_each_store_only_their_own_requests(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store)
    request = recorded.requests[0]

    def write(thread: int) -> None:
        for number in range(20):
            writer.write(recorded, [tagged(request, f"t{thread}-{number}")])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    writer.close()
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert len(rows) == 160 == len({row.path for row in rows})
        for row in rows[::7]:
            (loaded,) = reader.request_trace(row.id).requests
            assert (loaded.id, loaded.path) == (row.id, row.path)


def _children(store: Path, trace_file: Path, prefixes: list[str], count: int
              ) -> list[subprocess.Popen]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return [subprocess.Popen([sys.executable, str(CHILD), str(store), str(trace_file), prefix,
                              str(count)], stdout=subprocess.PIPE, text=True, env=env)
            for prefix in prefixes]


def test_two_processes_write_one_store(tmp_path, recorded: Trace) -> None:
    store, trace_file = tmp_path / "traces.db", tmp_path / "one.json"
    save(recorded, trace_file)
    children = _children(store, trace_file, ["a", "b"], 60)
    said = {}
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        said.update(line.split(" ", 1) for line in out.splitlines())
    assert len(said) == 120
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert {str(row.id): row.path for row in rows} == said
        for row in rows[::11]:
            assert reader.request_trace(row.id).requests[0].path == row.path
    assert _integrity(store) == "ok"


def test_a_store_another_process_creates_meanwhile_is_not_taken_for_foreign(
        tmp_path, monkeypatch) -> None:
    """Opening a store reads its identity and its tables as one snapshot: a store another
    writer creates between those reads is a store being made, not a foreign database.
    Here the other writer (a thread, its own connection) creates it right between them."""
    from tracer.store import schema

    path = tmp_path / "traces.db"
    read_tables = schema._has_tables
    other: dict[str, object] = {}

    def create_elsewhere() -> None:
        try:
            schema.connect(path, create=True).close()
            other["done"] = True
        except Exception as exc:  # reported below, in the test's own thread
            other["error"] = exc

    def tables_once_another_writer_created_them(connection: sqlite3.Connection) -> bool:
        monkeypatch.setattr(schema, "_has_tables", read_tables)
        maker = threading.Thread(target=create_elsewhere)
        maker.start()
        maker.join(1.0)  # its commit waits for this snapshot to end, with the fix
        other["thread"] = maker
        return read_tables(connection)

    monkeypatch.setattr(schema, "_has_tables", tables_once_another_writer_created_them)
    schema.connect(path, create=True).close()
    other["thread"].join(30)  # type: ignore[attr-defined]
    assert other.get("done") is True, other.get("error")
    StoreWriter(path).close()
    with StoreReader(path) as reader:
        assert reader.rows() == []


def test_kill_9_while_writing_leaves_a_sound_store(tmp_path, recorded: Trace) -> None:
    store, trace_file = tmp_path / "traces.db", tmp_path / "one.json"
    save(recorded, trace_file)
    (child,) = _children(store, trace_file, ["k"], 100_000)
    committed: list[tuple[str, str]] = []
    assert child.stdout is not None
    deadline = time.monotonic() + 30
    while len(committed) < 40 and time.monotonic() < deadline:
        committed.append(tuple(child.stdout.readline().split()))  # type: ignore[arg-type]
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    child.stdout.close()
    assert len(committed) == 40
    assert _integrity(store) == "ok"
    with StoreReader(store) as reader:
        for stored_id, path in committed:
            assert reader.request_trace(int(stored_id)).requests[0].path == path
    writer = StoreWriter(store)  # the next writer goes on where the killed one stopped
    assert writer.write(recorded).ids
    writer.close()


def test_retention_drops_the_oldest_and_counts_them(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store, retention=Retention(keep=10, max_bytes=None, every=1))
    request = recorded.requests[0]
    pruned = sum(writer.write(recorded, [tagged(request, f"r{n}")]).pruned for n in range(30))
    writer.close()
    assert pruned == 20
    with StoreReader(store) as reader:
        assert [row.path for row in reader.rows()] == [f"/r{n}" for n in range(29, 19, -1)]
        assert reader.count("pruned") == 20


def test_retention_by_size_keeps_the_file_under_its_limit(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store, retention=Retention(keep=None, max_bytes=400_000, every=20))
    for _ in range(300):
        writer.write(recorded)
    writer.close()
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert store.stat().st_size <= 400_000 + 64_000
    with StoreReader(store) as reader:
        assert 0 < len(reader.rows()) < 600
        assert reader.count("pruned") == 600 - len(reader.rows())


def test_a_newer_store_is_refused_with_its_version(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    StoreWriter(store).close()
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match=r"newer flaskscope \(store version 99; this one "
                                         r"reads up to 1\)"):
        StoreReader(store)


@pytest.mark.parametrize("content", [b"", b"{}\n", b"SQLite format 3\x00" + b"\x00" * 100])
def test_what_is_not_a_store_is_refused(tmp_path, content: bytes) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(content)
    with pytest.raises(StoreError):
        StoreReader(path)


def test_another_sqlite_database_is_refused(tmp_path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE things (x)")
    with pytest.raises(StoreError, match="not a trace store"):
        StoreReader(path)
    with pytest.raises(StoreError, match="not a trace store"):
        StoreWriter(path)


def test_a_damaged_row_is_one_error_not_a_crash(tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    writer = StoreWriter(store)
    first, second = writer.write(recorded).ids
    writer.close()
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("UPDATE requests SET data = ? WHERE id = ?", (b"garbage", first))
        connection.execute("UPDATE requests SET data = ? WHERE id = ?",
                           (__import__("zlib").compress(b"{" * 100_000), second))
    with StoreReader(store) as reader:
        for stored in (first, second):
            with pytest.raises(StoreError, match="damaged"):
                reader.request_trace(stored)
    with closing(sqlite3.connect(store)) as connection, connection:
        connection.execute("UPDATE requests SET method = X'FF' WHERE id = ?", (second,))
    with StoreReader(store) as reader:
        with pytest.raises(StoreError, match="damaged"):
            reader.rows()


def test_a_request_that_cannot_be_stored_is_counted_and_the_next_is_stored(
        tmp_path, recorded: Trace) -> None:
    from dataclasses import replace

    store = tmp_path / "traces.db"
    problems: list[str] = []
    writer = StoreWriter(store, on_problem=problems.append)
    bad = replace(recorded.requests[0], method=None)  # type: ignore[arg-type]
    result = writer.write(recorded, [bad, recorded.requests[1]])
    writer.close()
    assert (len(result.ids), result.failed) == (1, 1)
    assert len(problems) == 1
    with StoreReader(store) as reader:
        assert reader.count("failed") == 1
        assert [row.path for row in reader.rows()] == ["/nowhere"]


def _variant(recorded: Trace, name: str) -> Trace:
    """The recorded trace as another app's: its own registration and one source file
    only it has."""
    return replace(recorded, meta={**recorded.meta, "app": name},
                   sources={**recorded.sources,
                            f"/apps/{name}.py": SourceFile(sha256=name * 8, lines={1: name})})


def _shared_rows(store: Path) -> tuple[set[str], set[str]]:
    with closing(sqlite3.connect(store)) as connection, connection:
        apps = {decode_registration(data).meta["app"]
                for (data,) in connection.execute("SELECT data FROM registrations")}
        paths = {path for (path,) in connection.execute("SELECT path FROM sources")}
    return apps, paths


def test_retention_drops_registrations_and_sources_no_request_uses(
        tmp_path, recorded: Trace) -> None:
    """A pytest run stores a registration each time a test imports another app; the ones
    whose requests all went must go too, or a size limit drops every request and still
    does not hold."""
    store = tmp_path / "traces.db"
    first, second, third = (_variant(recorded, name) for name in ("first", "second", "third"))
    writer = StoreWriter(store, retention=Retention(keep=2, max_bytes=None, every=1))
    writer.write(first)
    writer.write(second)
    assert _shared_rows(store)[0] == {"second"}
    assert "/apps/first.py" not in _shared_rows(store)[1]
    writer.write(first)  # stored again after it went
    writer.write(third)
    writer.close()
    apps, paths = _shared_rows(store)
    assert apps == {"third"}
    assert {"/apps/first.py", "/apps/second.py"}.isdisjoint(paths)
    assert "/apps/third.py" in paths
    assert _integrity(store) == "ok"
    with StoreReader(store) as reader:
        for row in reader.rows():
            assert reader.request_trace(row.id).meta["app"] == "third"


def test_a_writer_stores_again_what_another_writers_retention_dropped(
        tmp_path, recorded: Trace) -> None:
    store = tmp_path / "traces.db"
    first, second = _variant(recorded, "first"), _variant(recorded, "second")
    remembering = StoreWriter(store, retention=Retention(keep=None, max_bytes=None))
    remembering.write(first)  # remembers first's registration and sources
    pruning = StoreWriter(store, retention=Retention(keep=2, max_bytes=None, every=1))
    pruning.write(second)  # drops first's requests, then its registration and its file
    assert _shared_rows(store)[0] == {"second"}
    (stored,) = remembering.write(first, first.requests[:1]).ids
    remembering.close()
    pruning.close()
    with StoreReader(store) as reader:
        trace = reader.request_trace(stored)
    assert trace.meta["app"] == "first"
    assert trace.sources["/apps/first.py"].lines == {1: "first"}
    assert _integrity(store) == "ok"



def test_a_writer_stores_again_a_registration_file_another_writers_retention_dropped(
        tmp_path, recorded: Trace) -> None:
    """The writer remembers the rows of the source files it was last handed; a file only
    one app's registration shows, dropped by another writer's retention, is stored anew."""
    store = tmp_path / "traces.db"
    first, second = _variant(recorded, "first"), _variant(recorded, "second")
    steps = list(first.registration.steps)
    steps[0] = replace(steps[0], file="/apps/first.py", line=1)
    first = replace(first, registration=replace(first.registration, steps=tuple(steps)))
    remembering = StoreWriter(store, retention=Retention(keep=None, max_bytes=None))
    remembering.write(first)
    pruning = StoreWriter(store, retention=Retention(keep=2, max_bytes=None, every=1))
    pruning.write(second)
    assert "/apps/first.py" not in _shared_rows(store)[1]
    (stored,) = remembering.write(first, first.requests[:1]).ids
    remembering.close()
    pruning.close()
    with StoreReader(store) as reader:
        trace = reader.request_trace(stored)
    assert trace.sources["/apps/first.py"].lines == {1: "first"}
    assert _integrity(store) == "ok"
