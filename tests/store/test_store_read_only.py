"""A store this user may only read (a teammate's file, a read-only mount, a CI artifact)
opens for every reader command, and is left exactly as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from tracer.errors import StoreError
from tracer.model import Trace
from tracer.store import StoreReader, StoreWriter, schema


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checkpointed_store(folder: Path, recorded: Trace) -> Path:
    """A store whose write-ahead log is folded into the file, with no -wal or -shm left."""
    folder.mkdir()
    store = folder / "traces.db"
    writer = StoreWriter(store)
    writer.write(recorded)
    writer.close()
    with closing(sqlite3.connect(store)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for leftover in ("traces.db-wal", "traces.db-shm"):
        (folder / leftover).unlink(missing_ok=True)
    return store


@pytest.fixture
def cannot_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user without write access to the store and its folder (root may write
    anywhere, so permissions alone cannot show it here)."""
    monkeypatch.setattr(schema, "_writable", lambda path: False)


def test_every_reader_command_reads_a_store_it_cannot_write(
        run, tmp_path, recorded: Trace, cannot_write: None) -> None:
    store = _checkpointed_store(tmp_path / "shared", recorded)
    before = _digest(store)
    listed = run("requests", str(store))
    assert listed.exit_code == 0, listed.output
    assert "GET /index" in listed.output and "GET /nowhere" in listed.output
    explained = run("explain", str(store), "--request", "1")
    assert explained.exit_code == 0, explained.output
    assert "IndexView" in explained.output
    exported = tmp_path / "one.json"
    result = run("export", str(store), "--request", "2", "-o", str(exported))
    assert result.exit_code == 0, result.output
    assert '"/nowhere"' in exported.read_text()
    assert _digest(store) == before


def test_a_log_that_cannot_be_read_is_named_not_skipped(
        tmp_path, recorded: Trace, cannot_write: None) -> None:
    """A -wal without its -shm needs write access to read; ignoring it would show a store
    without its newest requests, as if they had never been recorded."""
    live = tmp_path / "live"
    live.mkdir()
    writer = StoreWriter(live / "traces.db")
    writer.write(recorded)  # committed to the log, not yet to the file
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("traces.db", "traces.db-wal"):
        shutil.copy(live / name, copy / name)
    writer.close()
    with pytest.raises(StoreError, match="write-ahead log .* copy the store with its -wal"):
        StoreReader(copy / "traces.db")


def test_a_writer_where_it_cannot_write_is_one_line(tmp_path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="cannot open trace store"):
            StoreWriter(folder / "traces.db")
    finally:
        folder.chmod(0o755)


def test_a_store_on_a_read_only_file_system(tmp_path, recorded: Trace) -> None:
    """The real thing, where this machine lets root bind-mount a folder read-only."""
    store = _checkpointed_store(tmp_path / "shared", recorded)
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount") or subprocess.run(
            ["mount", "--bind", "-o", "ro", str(store.parent), str(mounted)],
            capture_output=True).returncode:
        pytest.skip("no read-only bind mount here")
    try:
        with StoreReader(mounted / "traces.db") as reader:
            assert [row.path for row in reader.rows()] == ["/nowhere", "/index"]
            assert reader.request_trace(1).requests[0].path == "/index"
        assert sorted(path.name for path in mounted.iterdir()) == ["traces.db"]
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
