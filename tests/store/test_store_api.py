"""`tracer.record(store=...)`: the requests of the block go to the store when it ends."""

from __future__ import annotations

import tracer
from tracer.store import StoreReader


def test_record_with_a_store_keeps_every_request_of_the_block(tmp_path) -> None:
    store = tmp_path / "traces.db"
    with tracer.record(store=store):
        from flask import Flask

        app = Flask("recorded_here")

        @app.get("/hi/<name>")
        def hi(name: str) -> str:
            return f"hi {name}"

        client = app.test_client()
        assert client.get("/hi/ann").status_code == 200
        assert client.get("/nope").status_code == 404
    with StoreReader(store) as reader:
        rows = reader.rows()
        assert [(row.path, row.status, row.endpoint) for row in rows] == [
            ("/nope", 404, None), ("/hi/ann", 200, "hi")]
        trace = reader.request_trace(rows[1].id)
        assert [route.rule for route in trace.routes if route.endpoint == "hi"] == ["/hi/<name>"]
