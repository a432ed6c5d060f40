"""How fast the viewer opens and steps through a 200,000-step trace.

Run `.venv/bin/python benchmarks/bench_viewer.py` (add `--steps N`, `--rounds N`). It writes
a synthetic trace file that `tracer.tracefile.load` accepts (a Flask request skeleton around
a view calling deeply nested app functions, with line steps and the real Flask source
embedded), then measures:

- first screen: wall time from starting a fresh `python` process running
  `flaskscope view TRACE` (the command line's own code path) to the viewer's first screen
  drawn headless at 120x40; then the same through the API, split into interpreter +
  imports, `tracefile.load(lazy=True)`, building the navigation model and the UI
  (medians of `--rounds` processes each; the child is `benchmarks/first_screen.py`);
- step: `action_next_step` / `action_previous_step` at `--samples` positions of the file
  opened as `flaskscope view` opens it (lazily, while the rest decodes in the background),
  timed two ways:
  the work (the action plus rendering every dirty widget through the compositor) and the
  latency until the frame is written (which also waits for Textual's 60 fps frame clock).

The issue's budget: first screen <= 1.0 s, step p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracer.model import (  # noqa: E402
    ChainLink,
    Registration,
    Request,
    Role,
    Route,
    SourceFile,
    Step,
    Trace,
)
from tracer.tracefile import load, save  # noqa: E402

APP_FILE = "/srv/shop/catalog.py"
FUNCTIONS = 40
BUDGET_FIRST_SCREEN = 1.0
BUDGET_STEP_P95 = 0.030


# -- the synthetic trace --------------------------------------------------------------------


def _app_source() -> dict[int, str]:
    """A module of small functions calling each other (`def fN(items, depth):` + 7 lines)
    and the view class whose handler starts the calls."""
    lines = ['"""Catalog helpers (synthetic)."""', ""]
    for n in range(FUNCTIONS):
        lines += [
            f"def f{n}(items, depth):",
            "    total = 0",
            "    for item in items:",
            "        total += item.price",
            f"        label = 'f{n}:' + item.name",
            "        if depth:",
            f"            total += f{(n + 1) % FUNCTIONS}(items[:3], depth - 1)",
            "    return total",
            "",
        ]
    lines += [
        "class CatalogView(MethodView):",
        "    def get(self):",
        "        items = load_items()",
        "        return str(f0(items, 12))",
    ]
    return {number: text for number, text in enumerate(lines, start=1)}


def _def_line(n: int) -> int:
    return 3 + 9 * n


HANDLER_LINE = _def_line(FUNCTIONS) + 1


class _Builder:
    """Appends steps with ids equal to their position, parents before children."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.clock = 1_000_000

    def add(self, parent, kind, name, file, line, detail=None, role=None, facts=None) -> int:
        self.clock += 731
        step_id = len(self.steps)
        self.steps.append(
            Step(step_id, parent, kind, name, file, line, self.clock, 1, detail or {}, role,
                 facts or {})
        )
        return step_id


def _app_calls(b: _Builder, handler: int, budget: int, rng: random.Random) -> None:
    """Nested calls into the app module until exactly `budget` steps exist."""
    stack = [handler]
    while True:
        spare = budget - len(b.steps) - (len(stack) - 1)  # steps left after pending returns
        if len(stack) > 1 and (spare < 7 or len(stack) > 14 or rng.random() < 0.35):
            frame = stack.pop()
            call = b.steps[frame]
            b.add(frame, "return", call.name, APP_FILE, call.line + 7,
                  {"result": str(rng.randint(0, 999))})
            continue
        if spare < 7:
            break
        n = rng.randrange(FUNCTIONS)
        first = _def_line(n)
        frame = b.add(stack[-1], "call", f"f{n}", APP_FILE, first,
                      {"items": f"[<Item {rng.randint(1, 99)}>, ...]", "depth": str(len(stack))})
        total = 0
        for offset, changed in ((1, "total"), (2, "item"), (3, "total"), (4, "label"), (5, None)):
            detail = {}
            if changed == "total":
                total += rng.randint(1, 50)
                detail = {"total": str(total)}
            elif changed == "item":
                detail = {"item": f"<Item {rng.randint(1, 99)}>"}
            elif changed == "label":
                detail = {"label": repr(f"f{n}:widget-{rng.randint(1, 9)}")}
            b.add(frame, "line", f"f{n}", APP_FILE, first + offset, detail)
        stack.append(frame)
    while len(b.steps) < budget:  # the handler's own lines fill what is left
        b.add(handler, "line", "CatalogView.get", APP_FILE, HANDLER_LINE + 2, {})


def make_trace(total_steps: int, seed: int = 7) -> Trace:
    """A trace whose one request has `total_steps` steps, nested like a real request."""
    import flask
    import werkzeug

    rng = random.Random(seed)
    flask_dir = Path(flask.__file__).parent
    app_py, views_py, ctx_py = (str(flask_dir / n) for n in ("app.py", "views.py", "ctx.py"))
    map_py = str(Path(werkzeug.__file__).parent / "routing" / "map.py")
    b = _Builder()
    root = b.add(None, "call", "Flask.wsgi_app", app_py, 1479, {"method": "'GET'"}, Role.REQUEST,
                 {"method": "GET", "path": "/catalog"})
    match = b.add(root, "call", "RequestContext.match_request", ctx_py, 357, None, Role.MATCH,
                  {"path": "/catalog", "method": "GET", "matched": True, "rule": "/catalog",
                   "endpoint": "catalog", "view_args": {}})
    inner = b.add(match, "call", "MapAdapter.match", map_py, 492, {"return_rule": "True"})
    b.add(inner, "return", "MapAdapter.match", map_py, None, {"result": "(<Rule '/catalog'>, {})"})
    b.add(match, "return", "RequestContext.match_request", ctx_py, None, {"result": "None"},
          Role.MATCH)
    full = b.add(root, "call", "Flask.full_dispatch_request", app_py, 904)
    dispatch = b.add(full, "call", "Flask.dispatch_request", app_py, 879, None, Role.DISPATCH,
                     {"endpoint": "catalog", "view": "View.as_view.<locals>.view"})
    view = b.add(dispatch, "call", "View.as_view.<locals>.view", views_py, 106, {"kwargs": "{}"},
                 Role.VIEW)
    method = b.add(view, "call", "MethodView.dispatch_request", views_py, 182, None,
                   Role.CLASS_DISPATCH)
    b.add(method, "note", "getattr", None, None, None, Role.HANDLER_LOOKUP,
          {"method": "GET", "tried": "get", "found": True, "fallback": None,
           "handler": "CatalogView.get"})
    handler = b.add(method, "call", "CatalogView.get", APP_FILE, HANDLER_LINE, None, Role.HANDLER)
    b.add(handler, "line", "CatalogView.get", APP_FILE, HANDLER_LINE + 1,
          {"items": "[<Item 1>, <Item 2>, <Item 3>]"})
    _app_calls(b, handler, total_steps - 6, rng)
    for frame in (handler, method, view, dispatch, full):
        b.add(frame, "return", b.steps[frame].name, b.steps[frame].file, None,
              {"result": "'ok'"}, b.steps[frame].role)
    b.add(root, "return", "Flask.wsgi_app", app_py, None, {"result": "<ClosingIterator>"},
          Role.REQUEST, {"status": 200})
    sources = {APP_FILE: SourceFile("0" * 64, _app_source())}
    for file in (app_py, views_py, ctx_py, map_py):
        text = Path(file).read_text("utf-8").splitlines()
        sources[file] = SourceFile("0" * 64, {n: line for n, line in enumerate(text, start=1)})
    chain = (
        ChainLink("view", "catalog", "View.as_view.<locals>.view", views_py, 106),
        ChainLink("view_class", "CatalogView", "CatalogView", APP_FILE, HANDLER_LINE - 1),
        ChainLink("method", "dispatch_request", "MethodView.dispatch_request", views_py, 182),
        ChainLink("method", "get", "CatalogView.get", APP_FILE, HANDLER_LINE),
    )
    request = Request(0, "GET", "/catalog", 200, "catalog", "/catalog", {}, "ok",
                      tuple(b.steps), duration_ns=b.clock - 1_000_000, start_ns=1_000_000,
                      thread=1)
    return Trace(
        meta={"python": "3.11", "framework": "flask", "app": "synthetic",
              "created": "2026-01-01T00:00:00+00:00", "redacted": True},
        routes=(Route("/catalog", "catalog", ("GET", "HEAD", "OPTIONS"), None, chain,
                      ("HEAD", "OPTIONS")),),
        registration=Registration(),
        requests=(request,),
        sources=sources,
    )


# -- first screen, timed in fresh processes (benchmarks/first_screen.py) --------------------

CHILD = Path(__file__).with_name("first_screen.py")


def byte_compile() -> None:
    """Write the project's .pyc files, as installing a wheel does: with
    PYTHONDONTWRITEBYTECODE set (as on some machines), every child would otherwise compile
    tracer/ and viewer/ from source, ~40 ms that no installed copy pays."""
    import compileall

    for package in ("tracer", "viewer"):
        compileall.compile_dir(ROOT / package, quiet=1)


def child_marks(mode: str, path: Path) -> tuple[float, dict[str, float]]:
    """Run the child once: when it was started and the (monotonic) marks it printed."""
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, str(CHILD), mode, str(path), repr(started)],
        check=True, capture_output=True, text=True,
    ).stdout
    return started, json.loads(out.strip().splitlines()[-1])


def first_screen_cli(path: Path, rounds: int) -> float:
    """Median seconds from process start to the first frame of `flaskscope view`."""
    times = []
    for _ in range(rounds):
        started, marks = child_marks("cli", path)
        times.append(marks["screen"] - started)
    return statistics.median(times)


def import_cost(rounds: int) -> dict[str, float]:
    """Median wall seconds of fresh processes that only import: what the viewer needs, and
    what `flaskscope` (every command of the CLI) imports on top of it."""
    cases = {
        "python -c pass": "pass",
        "import tracer.tracefile, viewer.tui.app": "import tracer.tracefile, viewer.tui.app",
        "import flaskscope.cli (flaskscope)": "import flaskscope.cli, viewer.tui.app",
    }
    out = {}
    for label, code in cases.items():
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
        out[label] = statistics.median(times)
    return out


def first_screen(path: Path, rounds: int) -> dict[str, float]:
    """Median seconds of each phase over `rounds` fresh processes."""
    phases: dict[str, list[float]] = {
        "interpreter + imports": [], "tracefile.load": [], "navigation model": [],
        "UI to first frame": [], "total": [],
    }
    for _ in range(rounds):
        started, marks = child_marks("api", path)
        phases["interpreter + imports"].append(marks["imported"] - started)
        phases["tracefile.load"].append(marks["loaded"] - marks["imported"])
        phases["navigation model"].append(marks["model"] - marks["loaded"])
        phases["UI to first frame"].append(marks["screen"] - marks["model"])
        phases["total"].append(marks["screen"] - started)
    return {name: statistics.median(values) for name, values in phases.items()}


# -- stepping ----------------------------------------------------------------------------


async def stepping(trace: Trace, samples: int) -> dict[str, list[float]]:
    """Time next/previous at `samples` positions spread over the request."""
    from viewer.tui.app import ViewerApp

    app = ViewerApp(trace, freeze_gc=True)  # as `flaskscope view` runs it
    times: dict[str, list[float]] = {"work": [], "frame": []}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        frame_written = asyncio.Event()
        original = app._display

        def _display(screen_, update) -> None:  # type: ignore[no-untyped-def]
            original(screen_, update)
            frame_written.set()

        app._display = _display  # type: ignore[method-assign]
        total = len(trace.requests[0].steps)
        rng = random.Random(3)
        for _ in range(samples):
            app.jump_to(rng.randrange(1, total - 1))
            await pilot.pause()
            for action in (app.action_next_step, app.action_previous_step):
                # The work: the action, then every dirty widget rendered by the compositor.
                started = time.perf_counter()
                action()
                _render_now(screen)
                times["work"].append(time.perf_counter() - started)
                await pilot.pause()
                # The latency: the action until Textual writes the frame.
                frame_written.clear()
                started = time.perf_counter()
                action()
                await frame_written.wait()
                times["frame"].append(time.perf_counter() - started)
                await pilot.pause()
    return times


def _render_now(screen) -> None:  # type: ignore[no-untyped-def]
    """Lay out and render what the last action made dirty, synchronously (what the screen
    does on its next frame tick)."""
    for widget in screen.walk_children(with_self=False):
        if widget._layout_required or widget._repaint_required:
            screen._dirty_widgets.add(widget)
            widget._repaint_required = False
    if any(widget._layout_required for widget in screen._dirty_widgets):
        screen._refresh_layout()
    else:
        screen._compositor.update_widgets(screen._dirty_widgets)
        screen._compositor.render_update(screen_stack=screen.app._background_screens)
    screen._dirty_widgets.clear()


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5, help="processes for first screen")
    parser.add_argument("--samples", type=int, default=100, help="positions for stepping")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.json"
        started = time.perf_counter()
        trace = make_trace(args.steps)
        save(trace, path)
        made = time.perf_counter() - started
        size = os.path.getsize(path) / 1e6
        print(f"trace: {len(trace.requests[0].steps):,} steps, {size:.1f} MB "
              f"(written in {made:.1f} s)")
        byte_compile()
        command = first_screen_cli(path, args.rounds)
        phases = first_screen(path, args.rounds)
        # Stepping through the file as `flaskscope view` opens it: lazily, its chunks
        # decoded in the background or when first shown.
        times = asyncio.run(stepping(load(path, lazy=True), args.samples))
    print(f"\nfirst screen of `flaskscope view big.json`, median of {args.rounds} processes "
          f"(budget {BUDGET_FIRST_SCREEN} s)")
    print(f"  {'process start to frame':<24} {command * 1000:8.0f} ms")
    verdict = "ok" if command <= BUDGET_FIRST_SCREEN else "OVER BUDGET"
    print(f"  {'verdict':<24} {verdict} ({command / BUDGET_FIRST_SCREEN:.2f}x budget)")
    print(f"\nthe same through the API, split (median of {args.rounds} processes)")
    for name, seconds in phases.items():
        print(f"  {name:<24} {seconds * 1000:8.0f} ms")
    print(f"\nimports alone, whole processes (exit included), median of {args.rounds}")
    for label, seconds in import_cost(args.rounds).items():
        print(f"  {label:<38} {seconds * 1000:6.0f} ms")
    print(f"\nnext/previous step, {len(times['work'])} actions (budget p95 "
          f"{BUDGET_STEP_P95 * 1000:.0f} ms)")
    print(f"  {'':<34} {'median':>8} {'p95':>8} {'max':>8}")
    labels = {"work": "action + render (work)", "frame": "action until frame written"}
    for key, values in times.items():
        print(f"  {labels[key]:<34} {statistics.median(values) * 1000:6.1f}ms "
              f"{_p95(values) * 1000:6.1f}ms {max(values) * 1000:6.1f}ms")
    verdict = "ok" if _p95(times["work"]) <= BUDGET_STEP_P95 else "OVER BUDGET"
    print(f"  {'verdict (work p95)':<34} {verdict}")


if __name__ == "__main__":
    main()
