"""A process writing one store: `python writer_child.py STORE TRACE PREFIX COUNT`.

Prints each committed request's store id and the path it holds, one per line, flushed,
so the parent knows what was committed before it kills this process.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from tracer.store import StoreWriter
from tracer.tracefile import load


def main() -> None:
    store, trace_file, prefix, count = sys.argv[1:5]
    trace = load(trace_file)
    request = trace.requests[0]
    writer = StoreWriter(store)
    for number in range(int(count)):
        path = f"/{prefix}/{number}"
        result = writer.write(trace, [replace(request, path=path)])
        for stored in result.ids:
            print(stored, path, flush=True)
    writer.close()


if __name__ == "__main__":
    main()
