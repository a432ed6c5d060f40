"""`flaskscope requests`: list the requests of a trace store, newest first, filtered.

Reads only the store's columns (never a request's steps), so it answers at once on a
store of any size. Every value shown came from a file and is escaped for the terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from tracer.store import StoreReader
from tracer.store.reader import RequestFilter, RequestRow
from viewer.textsafe import visible


def store_filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters `requests` and `view` share on a store."""
    options = [
        click.option("--status", metavar="CODE|CLASS",
                     help="Only this status (404) or class (5xx)."),
        click.option("--method", metavar="METHOD", help="Only this HTTP method."),
        click.option("--path", "path_glob", metavar="GLOB",
                     help="Only paths matching this glob, e.g. '/api/*'."),
        click.option("--endpoint", "endpoint_glob", metavar="GLOB",
                     help="Only endpoints matching this glob."),
        click.option("--test", "test_glob", metavar="GLOB",
                     help="Only requests made by pytest tests whose id matches this glob."),
        click.option("--since", metavar="AGE",
                     help="Only requests finished in the last AGE: 30s, 10m, 2h, 1d."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def filter_of(status: str | None, method: str | None, path_glob: str | None,
              endpoint_glob: str | None, test_glob: str | None,
              since: str | None) -> RequestFilter:
    return RequestFilter(status=status, method=method, path=path_glob,
                         endpoint=endpoint_glob, test=test_glob, since=since)


@click.command()
@click.argument("store", type=click.Path(dir_okay=False))
@store_filter_options
@click.option("-n", "--limit", default=50, show_default=True, type=click.IntRange(1),
              help="Show at most this many (the newest).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="json: one object per request, on one line each.")
def requests(store: str, status: str | None, method: str | None, path_glob: str | None,
             endpoint_glob: str | None, test_glob: str | None, since: str | None,
             limit: int, fmt: str) -> None:
    """List the requests of a trace STORE, newest first.

    Open one with `flaskscope view STORE --request ID`, or share it with
    `flaskscope export STORE --request ID -o one.json.gz`.
    """
    where = filter_of(status, method, path_glob, endpoint_glob, test_glob, since)
    with StoreReader(Path(store)) as reader:
        rows = reader.rows(where, limit=limit)
        counts = {name: reader.count(name) for name in ("failed", "dropped", "pruned")}
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row_document(row), ensure_ascii=True))
        return
    for row in rows:
        click.echo(row_line(row))
    said = [f"{len(rows)} request{'s' if len(rows) != 1 else ''} shown"
            + (f" (the newest {limit}; -n shows more)" if len(rows) == limit else "")]
    said += [f"{value} {name}" for name, value in counts.items() if value]
    click.echo(" * " + "; ".join(said), err=True)


def row_line(row: RequestRow) -> str:
    status = "-" if row.status is None else str(row.status)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.finished))
    endpoint = f"  {visible(row.endpoint)}" if row.endpoint else ""
    test = f"  [{visible(row.test_id)}]" if row.test_id else ""
    query = f"?{row.query}" if row.query else ""
    return (f"#{row.id}  {when}  {visible(row.method)} {visible(row.path + query)} → "
            f"{status} {visible(row.outcome)}{endpoint}  {row.duration_ms:.1f} ms  "
            f"{row.steps} steps{test}")


def row_document(row: RequestRow) -> dict[str, object]:
    return {"id": row.id, "method": row.method, "path": row.path, "query": row.query,
            "status": row.status, "endpoint": row.endpoint, "outcome": row.outcome,
            "duration_ms": row.duration_ms, "thread": row.thread, "finished": row.finished,
            "test_id": row.test_id, "steps": row.steps}
