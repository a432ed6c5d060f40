"""Open a trace store: WAL mode, the tables, and the version check.

The schema version lives in `PRAGMA user_version` and the file says it is ours with
`PRAGMA application_id`, so any SQLite file that is not a store is refused in one line,
and a store written by a newer flaskscope is refused with both versions named rather than
misread. Tables are created with `IF NOT EXISTS` inside one write transaction, so two
processes opening a new store at once (serve and pytest) agree on it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from tracer.errors import StoreError

#: The schema this code writes and reads; bump it (and migrate in `_migrate`) on change.
STORE_VERSION = 1
#: "FLSC": marks the SQLite file as a flaskscope store.
APPLICATION_ID = 0x464C5343
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_MS = 10_000

_TABLES = """
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    data BLOB NOT NULL,
    sources TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    lines BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    registration INTEGER NOT NULL REFERENCES registrations(id),
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL DEFAULT '',
    status INTEGER,
    endpoint TEXT,
    outcome TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    thread INTEGER NOT NULL,
    finished REAL NOT NULL,
    test_id TEXT,
    writer INTEGER NOT NULL,
    steps INTEGER NOT NULL,
    sources TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS requests_finished ON requests(finished);
CREATE INDEX IF NOT EXISTS requests_registration ON requests(registration);
CREATE INDEX IF NOT EXISTS requests_sources ON requests(sources);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def _statements() -> list[str]:
    return [statement.strip() for statement in _TABLES.split(";") if statement.strip()]


def is_store(path: str | Path) -> bool:
    """Whether `path` is a SQLite file (a store, or a file to refuse as one)."""
    try:
        with open(path, "rb") as file:
            return file.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def connect(path: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """A connection to the store at `path`, checked; created first when `create`.

    Raises:
        StoreError: Missing (and not `create`), not a store, damaged, or newer.
    """
    path = Path(path)
    if not create and not path.exists():
        raise StoreError(f"trace store {str(path)!r} does not exist")
    if path.is_dir():
        raise StoreError(f"{str(path)!r} is a directory, not a trace store")
    if path.exists() and path.stat().st_size and not is_store(path):
        raise StoreError(f"{str(path)!r} is not a trace store (not a SQLite file)")
    if create:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder of store {str(path)!r}: "
                             f"{exc.strerror}") from None
    if not create and not _writable(path):
        return _connect_read_only(path)
    return _opened(path, f"mode={'rwc' if create else 'rw'}", create)


def _writable(path: Path) -> bool:
    """Whether SQLite can write beside the store: the file, and its folder for the
    write-ahead log and shared-memory files."""
    return os.access(path, os.W_OK) and os.access(path.resolve().parent, os.W_OK)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A store on a read-only file system, or one this user may only read: opened
    read-only, and immutable when no write-ahead log can hold what the file lacks (no
    process can be writing a store nobody can write beside)."""
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size and not Path(f"{path}-shm").exists():
        raise StoreError(
            f"trace store {str(path)!r} has a write-ahead log that cannot be read without "
            "write access to its folder: open it once where it can be written, or copy "
            "the store with its -wal file to a writable folder")
    try:
        return _opened(path, "mode=ro", False)
    except StoreError:
        if wal.exists() and wal.stat().st_size:
            raise
    return _opened(path, "mode=ro&immutable=1", False)


def _opened(path: Path, query: str, create: bool) -> sqlite3.Connection:
    uri = f"{path.resolve().as_uri()}?{query}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                                     isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open trace store {str(path)!r}: {exc}") from None
    try:
        _prepare(connection, path, create, read_only=query.startswith("mode=ro"))
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{str(path)!r} is not a readable trace store: {exc}") from None
    except BaseException:
        connection.close()
        raise
    return connection


def _prepare(connection: sqlite3.Connection, path: Path, create: bool, *,
             read_only: bool = False) -> None:
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # One read transaction: another process may be creating this store right now, and
    # its tables read after an identity read before they were committed look foreign.
    connection.execute("BEGIN")
    try:
        application, version = _identity(connection)
        foreign = application == 0 and version == 0 and _has_tables(connection)
    finally:
        connection.execute("COMMIT")
    if foreign:
        raise StoreError(f"{str(path)!r} is a SQLite database but not a trace store")
    if application not in (0, APPLICATION_ID):
        raise StoreError(f"{str(path)!r} is a SQLite database but not a trace store")
    _refuse_newer(path, version)
    if version == 0:
        if not create:
            raise StoreError(f"{str(path)!r} is an empty SQLite file, not a trace store")
        _create(connection, path)
    elif version < STORE_VERSION:
        _migrate(connection, version)
    if read_only:
        return
    connection.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL loses no committed transaction when the process dies; only an
    # operating system crash may take back the last ones.
    connection.execute("PRAGMA synchronous = NORMAL")
    if create:  # a writer: a store made before retention dropped shared rows lacks some
        for statement in _statements():
            if statement.startswith("CREATE INDEX"):
                connection.execute(statement)


def _identity(connection: sqlite3.Connection) -> tuple[int, int]:
    application = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    return int(application), int(version)


def _has_tables(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0


def _refuse_newer(path: Path, version: int) -> None:
    if version > STORE_VERSION:
        raise StoreError(
            f"trace store {str(path)!r} was written by a newer flaskscope (store version "
            f"{version}; this one reads up to {STORE_VERSION}): upgrade flaskscope to read it")


def _create(connection: sqlite3.Connection, path: Path) -> None:
    """The tables, once, even when another process creates the same store right now."""
    connection.execute("PRAGMA auto_vacuum = INCREMENTAL")  # before the first table
    connection.execute("BEGIN IMMEDIATE")
    try:
        application, version = _identity(connection)
        _refuse_newer(path, version)
        if version == 0:
            for statement in _statements():
                connection.execute(statement)
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(f"PRAGMA user_version = {STORE_VERSION}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring an older store up to `STORE_VERSION` (none exists before version 1)."""
    raise StoreError(f"trace store version {version} is not known; it cannot be read")
