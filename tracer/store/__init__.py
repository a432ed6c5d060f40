"""The trace store: many requests in one SQLite file, registration and sources kept once.

A live server, a pytest run and `tracer.record(store=...)` all write here; every reading
command reads it. One module per job:

- `schema`: open a store (WAL mode), create or check its tables, refuse a newer one;
- `codec`: a request, a registration or a source file to stored bytes and back, bounded;
- `writer`: one request per transaction, a bad request counted and never fatal;
- `reader`: rows to list and filter, and `tracer.model` traces rebuilt from them;
- `retention`: drop the oldest requests past a count or a size.

Import rule: this is part of the model layer: standard library and `tracer.model` /
`tracer.tracefile` only, never a framework, `viewer` or the CLI.
"""

from __future__ import annotations

from tracer.store.reader import RequestRow, StoreReader
from tracer.store.retention import DEFAULT_KEEP, DEFAULT_MAX_BYTES, Retention
from tracer.store.schema import STORE_VERSION, is_store
from tracer.store.writer import StoreWriter

__all__ = [
    "DEFAULT_KEEP",
    "DEFAULT_MAX_BYTES",
    "STORE_VERSION",
    "RequestRow",
    "Retention",
    "StoreReader",
    "StoreWriter",
    "is_store",
]
