"""Keep a store bounded: drop the oldest requests past a count or a size.

Only requests go: a registration or a source file is small, shared, and may be about to
be used by another process writing the same store. Freed pages are handed back to the
file system (`auto_vacuum = INCREMENTAL`), so the file shrinks as well as stops growing.
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
                connection.execute(
                    "INSERT INTO counters (name, value) VALUES ('pruned', ?) "
                    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    (dropped,))
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("PRAGMA incremental_vacuum")
        return dropped


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
