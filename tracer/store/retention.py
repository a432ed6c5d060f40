"""Keep a store bounded: drop the oldest requests past a count or a size.

Requests go first; then the registrations and source files no request refers to any
more (a pytest run stores a registration each time a test imports another app, each
holding everything registered so far). The newest of each is kept, so a row id is never
given again to other content that a reader may have cached. A writer in another process
may be about to refer to a row that went: `shared_generation` counts these deletions, and
a writer checks it in the transaction that stores a request (`StoreWriter`). Freed pages
are handed back to the file system (`auto_vacuum = INCREMENTAL`), so the file shrinks as
well as stops growing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

#: A day of local development (a few thousand requests) fits well within both.
DEFAULT_KEEP = 20_000
DEFAULT_MAX_BYTES = 100_000_000
#: After dropping for size, the store is brought this far under its limit, so the next
#: few requests do not drop again one by one.
_SIZE_HEADROOM = 0.9


@dataclass(frozen=True)
class Retention:
    """At most `keep` requests and `max_bytes` of file (None: no limit), checked every
    `every` requests written (0: every 100, or a tenth of `keep` when that is less)."""

    keep: int | None = DEFAULT_KEEP
    max_bytes: int | None = DEFAULT_MAX_BYTES
    every: int = 0

    @property
    def interval(self) -> int:
        if self.every > 0:
            return self.every
        return max(1, min(100, (self.keep or 1000) // 10))

    def describe(self) -> str:
        parts = []
        if self.keep is not None:
            parts.append(f"the newest {self.keep} requests")
        if self.max_bytes is not None:
            parts.append(f"at most {self.max_bytes / 1e6:.0f} MB")
        return " and ".join(parts) or "everything"

    def apply(self, connection: sqlite3.Connection) -> int:
        """Drop what is over the limits, oldest first; how many requests went."""
        dropped = 0
        if self.keep is not None:
            count = connection.execute("SELECT count(*) FROM requests").fetchone()[0]
            if count > self.keep:
                dropped += _drop_oldest(connection, count - self.keep)
        if self.max_bytes is not None:
            used = _used_bytes(connection)
            if used > self.max_bytes:
                count, stored = connection.execute(
                    "SELECT count(*), coalesce(sum(length(data)), 0) FROM requests").fetchone()
                if count:
                    per_request = max(1.0, stored / count)
                    over = used - self.max_bytes * _SIZE_HEADROOM
                    dropped += _drop_oldest(connection, min(count, int(over / per_request) + 1))
        if dropped:
            connection.execute("BEGIN IMMEDIATE")
            try:
                _add(connection, "pruned", dropped)
                if _drop_unused_shared(connection):
                    _add(connection, SHARED_GENERATION, 1)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("PRAGMA incremental_vacuum")
        return dropped


#: The counter bumped each time registrations or sources are deleted.
SHARED_GENERATION = "shared_generation"


def shared_generation(connection: sqlite3.Connection) -> int:
    """How many times shared rows have been deleted from this store."""
    row = connection.execute("SELECT value FROM counters WHERE name = ?",
                             (SHARED_GENERATION,)).fetchone()
    return int(row[0]) if row else 0


def _add(connection: sqlite3.Connection, name: str, amount: int) -> None:
    connection.execute(
        "INSERT INTO counters (name, value) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value", (name, amount))


def _drop_unused_shared(connection: sqlite3.Connection) -> int:
    """Delete the registrations and source files nothing refers to but the newest of
    each; how many rows went."""
    gone = connection.execute(
        "DELETE FROM registrations WHERE id < (SELECT max(id) FROM registrations) "
        "AND id NOT IN (SELECT registration FROM requests)").rowcount
    used: set[int] = set()
    for sql in ("SELECT DISTINCT sources FROM requests", "SELECT sources FROM registrations"):
        for (listed,) in connection.execute(sql):
            used.update(int(part) for part in str(listed).split(",") if part.isdigit())
    newest = connection.execute("SELECT max(id) FROM sources").fetchone()[0]
    unused = [(source_id,) for (source_id,) in connection.execute("SELECT id FROM sources")
              if source_id not in used and source_id != newest]
    connection.executemany("DELETE FROM sources WHERE id = ?", unused)
    return max(0, gone) + len(unused)


def _drop_oldest(connection: sqlite3.Connection, count: int) -> int:
    connection.execute("BEGIN IMMEDIATE")
    try:
        cursor = connection.execute(
            "DELETE FROM requests WHERE id IN "
            "(SELECT id FROM requests ORDER BY id LIMIT ?)", (count,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return max(0, cursor.rowcount)


def _used_bytes(connection: sqlite3.Connection) -> int:
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    size = connection.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)
