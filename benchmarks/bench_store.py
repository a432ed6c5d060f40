"""The trace store under load: `flaskscope serve --store` against plain Werkzeug.

Run `.venv/bin/python benchmarks/bench_store.py` (`--threads`, `--per-thread`, `--memory`,
`--view-requests` change the sizes). Every server listens on 127.0.0.1 (a free port), every
request loop is bounded in count and each request has a timeout. It prints:

- throughput and p50 latency of hook-mode requests through `serve --store` against plain
  `werkzeug.serving.run_simple(threaded=True)` on the same app, 16 threads x 500
  requests each, measured in alternating rounds (median), and `serve --record-dir`
  (one file per request) beside them;
- bytes on disk per request after the first (the store checkpointed and measured whole,
  against a copy holding only its first request);
- the recording server's resident memory after 8,000, 16,000 and 24,000 requests;
- `flaskscope view STORE` on a store of 100,000 requests: wall time from a fresh process
  to its first frame drawn headless at 120x40 (median of 3).

The issue's targets: throughput >= 0.8x plain, <= 4 KB per request, memory flat (+-10 %)
from 8,000 to 24,000 requests, first screen <= 1.0 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASKSCOPE = str(Path(sys.executable).with_name("flaskscope"))
TIMEOUT = 15.0

APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/item/<int:n>")
def item(n):
    return {"item": n, "twice": n * 2}
'''

PLAIN = '''
import logging, sys
from werkzeug.serving import run_simple
sys.path.insert(0, sys.argv[1])
from app_under_test import app
logging.getLogger("werkzeug").setLevel(logging.WARNING)
run_simple("127.0.0.1", int(sys.argv[2]), app, threaded=True)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/item/0", timeout=2):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"no server answered on port {port}")


def load(port: int, threads: int, per_thread: int) -> tuple[float, list[float]]:
    """`threads` x `per_thread` GETs; wall seconds and every request's latency."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []

    def client(number: int) -> None:
        for n in range(per_thread):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/item/{n}",
                                            timeout=TIMEOUT) as answer:
                    answer.read()
            except OSError as exc:
                failures.append(str(exc))
            latencies[number].append(time.perf_counter() - started)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    took = time.perf_counter() - started
    if failures:
        print(f"  {len(failures)} requests failed, e.g. {failures[0]}")
    return took, [x for each in latencies for x in each]


class Plain:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, "-c", PLAIN, str(folder),
                                         str(self.port)], stderr=subprocess.DEVNULL)
        wait_ready(self.port)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:  # an interrupt that landed in a thread's cleanup
            self.process.kill()
            self.process.wait()


class Served:
    """`flaskscope serve APP --store STORE` (hook mode), its server process's pid."""

    def __init__(self, folder: Path, store: Path | None, *options: str) -> None:
        where = ["--store", str(store), "--keep", "1000000", "--max-size", "100000"] \
            if store is not None else []
        self.process = subprocess.Popen(
            [FLASKSCOPE, "serve", str(folder / "app_under_test.py"), "--port", "0",
             "--no-viewer", *where, *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        assert self.process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while not any(line.startswith(" * ready") for line in lines):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                raise SystemExit(f"serve never got ready: {lines}")
            lines.append(self.process.stdout.readline())
        self.port = int(lines[0].split("http://127.0.0.1:")[1].split()[0])
        self.server_pid = int(lines[-1].split("server pid ")[1].split(")")[0])
        # The console prints a line per request: read them so its pipe never fills.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        self.said: list[str] = []

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if not line.startswith("#"):
                self.said.append(line)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.server_pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def wait_written(self, store: Path, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sqlite3.connect(store) as connection:
                if connection.execute("SELECT count(*) FROM requests").fetchone()[0] >= count:
                    return
            time.sleep(0.2)

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        self._reader.join(10)
        assert self.process.stderr is not None
        return "".join(self.said) + self.process.stderr.read()


def throughput(folder: Path, threads: int, per_thread: int, rounds: int) -> Path:
    plain_rates, store_rates, file_rates = [], [], []
    plain_p50, store_p50 = [], []
    store = folder / "throughput.db"
    total = threads * per_thread
    for round_ in range(rounds):
        server = Plain(folder)
        took, latencies = load(server.port, threads, per_thread)
        server.stop()
        plain_rates.append(total / took)
        plain_p50.append(statistics.median(latencies))
        store.unlink(missing_ok=True)
        served = Served(folder, store)
        took, latencies = load(served.port, threads, per_thread)
        said = served.stop()
        store_rates.append(total / took)
        store_p50.append(statistics.median(latencies))
        records = folder / f"files-{round_}"
        served = Served(folder, None, "--record-dir", str(records))
        took, _ = load(served.port, threads, per_thread)
        served.stop()
        shutil.rmtree(records, ignore_errors=True)
        file_rates.append(total / took)
        print(f"  round {round_ + 1}: plain {plain_rates[-1]:.0f} req/s, "
              f"store {store_rates[-1]:.0f} req/s, --record-dir {file_rates[-1]:.0f} req/s; "
              f"{said.strip().splitlines()[-1].strip()}")
    plain, stored = statistics.median(plain_rates), statistics.median(store_rates)
    p50_plain, p50_store = statistics.median(plain_p50), statistics.median(store_p50)
    print(f"throughput, {threads} threads x {per_thread} requests: plain run_simple "
          f"{plain:.0f} req/s, serve --store {stored:.0f} req/s: ratio {stored / plain:.2f} "
          f"(target >= 0.80); serve --record-dir (a file per request) "
          f"{statistics.median(file_rates):.0f} req/s")
    print(f"p50 latency: plain {p50_plain * 1e3:.2f} ms, serve --store "
          f"{p50_store * 1e3:.2f} ms: ratio {p50_store / p50_plain:.2f}")
    return store


def bytes_per_request(store: Path) -> None:
    with sqlite3.connect(store) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count, first = connection.execute("SELECT count(*), min(id) FROM requests").fetchone()
    whole = store.stat().st_size
    one = store.with_name("first-only.db")
    shutil.copy(store, one)
    connection = sqlite3.connect(one, isolation_level=None)
    connection.execute("PRAGMA journal_mode = DELETE")  # VACUUM shrinks the file itself
    connection.execute("DELETE FROM requests WHERE id != ?", (first,))
    connection.execute("VACUUM")
    connection.close()
    alone = one.stat().st_size
    per = (whole - alone) / max(1, count - 1)
    print(f"on disk: {whole / 1e6:.1f} MB for {count} requests; the first alone "
          f"{alone / 1e3:.0f} KB; {per / 1e3:.2f} KB per request after it (target <= 4 KB)")


def memory(folder: Path, total: int, threads: int) -> None:
    store = folder / "memory.db"
    store.unlink(missing_ok=True)
    served = Served(folder, store)
    marks = {}
    done = 0
    for mark in (total // 3, 2 * total // 3, total):
        per_thread = (mark - done) // threads
        load(served.port, threads, per_thread)
        done += per_thread * threads
        served.wait_written(store, done)
        marks[done] = served.rss_mb()
    said = served.stop()
    first, last = marks[min(marks)], marks[max(marks)]
    shown = ", ".join(f"{count}: {rss:.1f} MB" for count, rss in marks.items())
    print(f"server memory (RSS) after requests {shown}: {100 * (last / first - 1):+.1f} % "
          f"from {min(marks)} to {max(marks)} (target within +-10 %); "
          f"{said.strip().splitlines()[-1].strip()}")


def big_store(folder: Path, count: int) -> Path:
    """A store of `count` requests: 1,000 written by the writer, then copied in SQL."""
    sys.path.insert(0, str(ROOT))
    from flaskscope.source import parse_request
    from tracer.session import record_app
    from tracer.store import Retention, StoreWriter

    trace = record_app(str(ROOT / "fixtures" / "real_app.py"),
                       [parse_request(["GET", "/shop/products/7"]),
                        parse_request(["GET", "/nowhere"])]).trace
    store = folder / "big.db"
    writer = StoreWriter(store, retention=Retention(keep=None, max_bytes=None))
    for _ in range(500):
        writer.write(trace)
    writer.close()
    columns = ("registration, method, path, query, status, endpoint, outcome, duration_ms, "
               "thread, finished, test_id, writer, steps, sources, data")
    with sqlite3.connect(store) as connection:
        while (have := connection.execute("SELECT count(*) FROM requests").fetchone()[0]) \
                < count:
            connection.execute(f"INSERT INTO requests ({columns}) SELECT {columns} FROM "
                               "requests ORDER BY id LIMIT ?", (count - have,))
    return store


VIEW_CHILD = '''
import sys, time, json
marks = {}
sys.path.insert(0, sys.argv[3])
sys.path.insert(0, sys.argv[3] + "/benchmarks")
from first_screen import _stop_at_first_frame
from viewer.tui.app import ViewerApp
_stop_at_first_frame(ViewerApp, marks)
import flaskscope.view_command
flaskscope.view_command.has_terminal = lambda: True
from flaskscope.cli import main
sys.argv = ["flaskscope", "view", sys.argv[1]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(marks))
'''


def view_first_screen(store: Path, rounds: int = 3) -> None:
    times = []
    for _ in range(rounds):
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", VIEW_CHILD, str(store), "", str(ROOT)],
                             check=True, capture_output=True, text=True).stdout
        times.append(json.loads(out.strip().splitlines()[-1])["screen"] - started)
    with sqlite3.connect(store) as connection:
        count = connection.execute("SELECT count(*) FROM requests").fetchone()[0]
    print(f"flaskscope view on a store of {count} requests ({store.stat().st_size / 1e6:.0f} "
          f"MB): first screen {statistics.median(times):.2f} s, median of {rounds} "
          f"(target <= 1.0 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--per-thread", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--memory", type=int, default=24_000,
                        help="requests for the memory run (marks at a third, two, all)")
    parser.add_argument("--view-requests", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as temporary:
        folder = Path(temporary)
        (folder / "app_under_test.py").write_text(textwrap.dedent(APP))
        store = throughput(folder, args.threads, args.per_thread, args.rounds)
        bytes_per_request(store)
        memory(folder, args.memory, args.threads)
        view_first_screen(big_store(folder, args.view_requests))


if __name__ == "__main__":
    main()
