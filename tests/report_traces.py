"""Traces for the report tests: a fixture app recorded, and a hand-built trace whose every
field holds text that would run as script if a page pasted it in as markup."""

from __future__ import annotations

from flaskscope_testing import record_fixture

from tracer.model import ChainLink, Registration, Request, Role, Route, SourceFile, Step, Trace

#: Each would run `window.__pwned = 1` if it reached the page as markup or as script.
HOSTILE = (
    "</script><script>window.__pwned=1</script>",
    "<img src=x onerror=\"window.__pwned=1\">",
    "\"'><svg onload=window.__pwned=1>",
    "<!--<script>window.__pwned=1</script>",
    "javascript:window.__pwned=1",
    "line\u2028separator\u2029paragraph",
    "`${window.__pwned=1}`",
    "undecodable \udcff byte",
)
EVERYTHING = " ".join(HOSTILE)
HOSTILE_FILE = "/srv/</script><img src=x onerror=window.__pwned=1>.py"


def recorded(name: str, *requests: str) -> Trace:
    """Fixture app `name` recorded serving "METHOD /path" requests."""
    recording = record_fixture(name, *requests)
    assert recording.app_error is None, recording.app_error
    return recording.trace


def hostile_trace() -> Trace:
    """One request whose method, path, endpoint, rule, names, file, source lines, arguments,
    changed locals, result, facts and route all hold `HOSTILE` text."""
    value = EVERYTHING
    steps = (
        Step(0, None, "call", f"view {value}", HOSTILE_FILE, 1, 0, 1, {"arg": value},
             Role.VIEW, {"endpoint": value}),
        Step(1, 0, "line", f"view {value}", HOSTILE_FILE, 2, 1, 1, {"local": value}),
        Step(2, 0, "note", f"note {value}", None, None, 2, 1, {value: value}, Role.SIGNAL,
             {value: [value]}),
        Step(3, 0, "line", f"view {value}", HOSTILE_FILE, 3, 3, 1, {"local": value + "!"}),
        Step(4, 0, "return", f"view {value}", HOSTILE_FILE, 3, 4, 1, {"result": value},
             Role.VIEW),
    )
    request = Request(0, "GET", f"/{value}", 200, value, f"/{value}", {"x": value}, "ok",
                      steps, query=value, duration_ns=1_000_000, thread=1, error=value)
    link = ChainLink("view", value, f"view {value}", HOSTILE_FILE, 1, expression=value)
    route = Route(f"/{value}", value, ("GET",), value, (link,), ("HEAD",), app=value)
    source = {1: f"def view(): # {value}", 2: f"    local = '{value}'",
              3: f"    return {value!r}"}
    return Trace(
        meta={"app": value, "created": "2026-01-01T00:00:00+00:00", "lines": True},
        routes=(route,),
        registration=Registration(),
        requests=(request,),
        sources={HOSTILE_FILE: SourceFile("0" * 64, source)},
    )


def long_trace(total: int) -> Trace:
    """One request of about `total` steps: a view calling a helper in a loop, every line
    recorded with the locals it changed (the shape of a `--lines` trace)."""
    file = "/srv/app/loop.py"
    steps: list[Step] = [Step(0, None, "call", "view", file, 1, 0, 1, {"n": str(total)},
                              Role.VIEW)]
    while len(steps) < total - 1:
        i = len(steps)
        steps.append(Step(i, 0, "line", "view", file, 2, i, 1, {"i": str(i)}))
        steps.append(Step(i + 1, 0, "call", "helper", file, 5, i + 1, 1, {"i": str(i)}))
        steps.append(Step(i + 2, i + 1, "line", "helper", file, 6, i + 2, 1,
                          {"j": str(i * 2)}))
        steps.append(Step(i + 3, i + 1, "return", "helper", file, 6, i + 3, 1,
                          {"result": str(i * 2)}))
    steps.append(Step(len(steps), 0, "return", "view", file, 3, len(steps), 1,
                      {"result": "'done'"}, Role.VIEW))
    request = Request(0, "GET", "/loop", 200, "loop", "/loop", {}, "ok", tuple(steps),
                      duration_ns=1_000_000_000, thread=1)
    source = {1: "def view(n):", 2: "    for i in range(n): helper(i)", 3: "    return 'done'",
              5: "def helper(i):", 6: "    return i * 2"}
    return Trace(meta={"app": "loop", "lines": True}, routes=(), registration=Registration(),
                 requests=(request,), sources={file: SourceFile("0" * 64, source)})
