"""What the integrations cost: exports, the live server, and the pytest plugin.

Run `.venv/bin/python benchmarks/bench_integrations.py` (add `--rounds N`, `--requests N`,
`--tests N`). Medians over interleaved rounds; the machine is small and shared, so read
ratios, not single numbers.

- export: Perfetto JSON, a pytest file and curl commands of a line-mode trace of
  `fixtures/real_app.py GET /stacked` (thousands of steps), in µs per step and ms;
- serve: the latency of one real HTTP request (urllib, 127.0.0.1) to `flaskscope serve`
  (recording, one trace file written per request) against the same app on a plain
  Werkzeug server in this process, sent in alternating rounds;
- pytest: the wall time of a generated suite of `--tests` Flask tests, with and without
  `--flaskscope` (each run its own process, so interpreter start-up is included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer import record_app  # noqa: E402
from tracer.frameworks.flask.loading import RequestSpec  # noqa: E402
from viewer.export import curl_commands, pytest_file, trace_events  # noqa: E402

APP = '''
from flask import Flask

app = Flask(__name__)


@app.get("/item/<int:n>")
def item(n):
    return {"n": n, "name": f"item {n}"}
'''

TESTS = '''
import pytest

from bench_app import app


@pytest.mark.parametrize("n", range({count}))
def test_item(n):
    assert app.test_client().get(f"/item/{{n}}").json == {{"n": n, "name": f"item {{n}}"}}
'''


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(function: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return samples


def bench_exports(rounds: int) -> list[tuple[str, str, str]]:
    recording = record_app(str(ROOT / "fixtures" / "real_app.py"),
                           [RequestSpec("GET", "/stacked")], lines=True)
    trace = recording.trace
    steps = len(trace.registration.steps) + sum(len(r.steps) for r in trace.requests)
    rows = []
    perfetto = timed(lambda: json.dumps(trace_events(trace)), rounds)
    rows.append(("export perfetto (dict + JSON text)", f"{median_ms(perfetto):.1f} ms",
                 f"{median_ms(perfetto) * 1000 / steps:.2f} µs/step, {steps} steps"))
    app = str(ROOT / "fixtures" / "real_app.py")
    pytest_times = timed(lambda: pytest_file(trace, app), rounds)
    rows.append(("export pytest file", f"{median_ms(pytest_times):.2f} ms", "1 request"))
    curl_times = timed(lambda: curl_commands(trace), rounds)
    rows.append(("export curl", f"{median_ms(curl_times):.2f} ms", "1 request"))
    return rows


def bench_serve(folder: Path, requests: int) -> list[tuple[str, str, str]]:
    import logging

    from werkzeug.serving import make_server

    from tracer.frameworks.werkzeug.serving import listen
    from tracer.live.config import ServeConfig
    from tracer.live.server import Server

    app_file = folder / "bench_app.py"
    sys.path.insert(0, str(folder))
    import bench_app  # the plain server's copy, imported without hooks

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    plain = make_server("127.0.0.1", 0, bench_app.app, threaded=True)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    sock = listen("127.0.0.1", 0)
    spool = folder / "traces"
    spool.mkdir()
    ready = threading.Event()
    written = [0]

    def on_event(event: dict) -> None:
        if event["event"] == "ready":
            ready.set()
        elif event["event"] == "request":
            written[0] += 1

    server = Server(ServeConfig(app=str(app_file), host="127.0.0.1",
                                port=sock.getsockname()[1], spool=str(spool), events_fd=-1),
                    sock, on_event)
    server.start()
    try:
        assert ready.wait(30), "the recording server did not start"
        urls = {"plain": f"http://127.0.0.1:{plain.server_port}/item/",
                "recording": f"http://127.0.0.1:{sock.getsockname()[1]}/item/"}
        samples: dict[str, list[float]] = {"plain": [], "recording": []}
        for round_ in range(requests // 10):
            for name in (("plain", "recording") if round_ % 2 else ("recording", "plain")):
                for n in range(10):
                    start = time.perf_counter()
                    with urllib.request.urlopen(urls[name] + str(n), timeout=30) as answer:
                        answer.read()
                    samples[name].append(time.perf_counter() - start)
        deadline = time.monotonic() + 30
        while written[0] < len(samples["recording"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        sock.close()
        plain.shutdown()
    plain_ms, recording_ms = median_ms(samples["plain"]), median_ms(samples["recording"])
    return [
        ("serve: plain Werkzeug server", f"{plain_ms:.2f} ms", "median per request"),
        ("serve: flaskscope serve", f"{recording_ms:.2f} ms",
         f"x{recording_ms / plain_ms:.2f}; {written[0]} trace files written"),
    ]


def bench_pytest(folder: Path, tests: int, rounds: int) -> list[tuple[str, str, str]]:
    (folder / "test_bench.py").write_text(textwrap.dedent(TESTS.format(count=tests)))
    samples: dict[str, list[float]] = {"plain": [], "flaskscope": []}
    for round_ in range(rounds):
        for name in (("plain", "flaskscope") if round_ % 2 else ("flaskscope", "plain")):
            extra = ["--flaskscope"] if name == "flaskscope" else []
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            *extra], cwd=folder, check=True, capture_output=True)
            samples[name].append(time.perf_counter() - start)
    plain, recorded = median_ms(samples["plain"]), median_ms(samples["flaskscope"])
    return [
        (f"pytest, {tests} tests", f"{plain:.0f} ms", "whole run, process start included"),
        (f"pytest --flaskscope, {tests} tests", f"{recorded:.0f} ms", f"x{recorded / plain:.2f}"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tests", type=int, default=50)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flaskscope-bench-") as folder:
        path = Path(folder)
        (path / "bench_app.py").write_text(textwrap.dedent(APP))
        rows = bench_exports(options.rounds)
        rows += bench_serve(path, options.requests)
        rows += bench_pytest(path, options.tests, max(3, options.rounds // 2))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'what':<{width}}  {'median':>10}  notes")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")


if __name__ == "__main__":
    main()
