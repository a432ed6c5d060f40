"""Where `serve --store`'s throughput goes: the recording, freezing, and storing.

Run `.venv/bin/python benchmarks/store_parts.py [--rounds 3] [--per-thread 300]`. Beside
plain Werkzeug and `serve --store` as `bench_store.py` runs them, the same server with
parts of its writer taken away (`store_parts/sitecustomize.py`, on the server's
PYTHONPATH): `record` lets each request go once recorded, `freeze` once frozen as for
storing. Rounds alternate; medians of req/s and their ratio to plain are printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench_store import APP, Plain, Served, load

SITE = Path(__file__).resolve().parent / "store_parts"
PARTS = {
    "plain run_simple": None,
    "serve: recording only (nothing frozen or stored)": "record",
    "serve: recorded and frozen, not stored": "freeze",
    "serve --store (everything)": "",
}


def rate(folder: Path, part: str | None, threads: int, per_thread: int) -> float:
    """Requests per second of one round."""
    if part is None:
        server: Plain | Served = Plain(folder)
    else:
        os.environ["FLASKSCOPE_BENCH_PART"] = part  # read by store_parts/sitecustomize.py
        store = folder / "parts.db"
        store.unlink(missing_ok=True)
        server = Served(folder, store)
    try:
        load(server.port, threads, 20)  # warm up
        took, _ = load(server.port, threads, per_thread)
    finally:
        server.stop()
    return threads * per_thread / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=300)
    args = parser.parse_args()
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(SITE), os.environ.get("PYTHONPATH", "")]))
    folder = Path(tempfile.mkdtemp(prefix="flaskscope-parts-"))
    (folder / "app_under_test.py").write_text(APP)
    rates: dict[str, list[float]] = {name: [] for name in PARTS}
    for _ in range(args.rounds):
        for name, part in PARTS.items():
            rates[name].append(rate(folder, part, args.threads, args.per_thread))
    plain = statistics.median(rates["plain run_simple"])
    print(f"{args.threads} threads x {args.per_thread} requests, medians of {args.rounds} "
          "alternating rounds")
    for name, each in rates.items():
        median = statistics.median(each)
        print(f"  {name:50} {median:6.0f} req/s  {median / plain:4.2f}x   "
              f"({', '.join(f'{r:.0f}' for r in each)})")


if __name__ == "__main__":
    main()
