"""Django, Tornado and web.py are patched when the app imports them, not when recording
starts: a Flask app recorded where they are installed gets none of their modules, and an
app of theirs imported later is recorded exactly as when they were imported first.

Each case runs in a fresh interpreter, the only place where what `sys.modules` holds at
the start is known."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FOREIGN = {"django": "django_views", "tornado": "tornado_login", "web": "webpy_hello"}

#: Records the seed's Flask app, then each foreign fixture app; prints what it saw as JSON.
CHILD = r"""
import json, sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {tests!r})
eager, lines = sys.argv[1] == "eager", sys.argv[2] == "lines"
foreign = {foreign!r}
if eager:
    for module in foreign:
        __import__(module)
from flaskscope_testing import record_fixture
from tracer.frameworks import active_hooks

def present():
    return sorted(module for module in foreign if module in sys.modules)

seen = {{}}
flask = record_fixture("seed_views", "GET /index", lines=lines)
seen["flask"] = {{"present": present(), "errors": flask.trace.meta["recorder_errors"],
                 "meta": sorted(key for key in flask.trace.meta if key in
                                ("django", "tornado", "web.py"))}}
for module, fixture in foreign.items():
    recording = record_fixture(fixture, "GET /", lines=lines)
    trace = recording.trace
    seen[fixture] = {{
        "error": recording.app_error,
        "errors": trace.meta["recorder_errors"],
        "framework": trace.meta.get("framework"),
        "routes": [(route.rule, route.endpoint) for route in trace.routes],
        "registration": [(s.name, s.role, s.kind) for s in trace.registration.steps
                         if s.kind != "line" and (s.role or not lines)],
        "requests": [(sorted if lines else list)(
            (s.name, s.role or "", s.kind) for s in request.steps if s.kind != "line")
            for request in trace.requests],
        "lines": sum(s.kind == "line" for r in trace.requests for s in r.steps),
    }}
import importlib.machinery
seen["loader_restored"] = "exec_module" not in vars(importlib.machinery.SourceFileLoader)
print(json.dumps(seen))
"""


def _run(mode: str, lines: bool) -> dict:
    for module in FOREIGN:
        pytest.importorskip(module)
    child = CHILD.format(root=str(REPO_ROOT), tests=str(REPO_ROOT / "tests"), foreign=FOREIGN)
    result = subprocess.run([sys.executable, "-c", child, mode, "lines" if lines else "hooks"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("lines", [False, True], ids=["hooks", "lines"])
def test_a_framework_is_patched_when_imported_and_recorded_as_if_it_had_been_first(
        lines: bool) -> None:
    """In line mode the registration also shows the lines of the framework's modules the
    app's import runs, which an eager install had run before recording: there only the
    steps the adapters name (their roles) are compared, and every request step, in any
    order: web.py's reloader walks `sys.modules`, whose order is the order of imports."""
    deferred, eager = _run("deferred", lines), _run("eager", lines)
    assert deferred["flask"] == {"present": [], "errors": 0, "meta": []}
    assert eager["flask"]["present"] == sorted(FOREIGN)
    for fixture in FOREIGN.values():
        assert deferred[fixture]["error"] is None, deferred[fixture]["error"]
        assert deferred[fixture]["errors"] == 0
        assert deferred[fixture]["requests"][0], f"{fixture}: no step recorded"
        assert deferred[fixture] == eager[fixture], fixture
    assert deferred["loader_restored"] and eager["loader_restored"]


class _Hooks:
    def __init__(self) -> None:
        self.active = True

    def install(self) -> None:
        self.active = True

    def uninstall(self) -> None:
        self.active = False


def test_an_adapter_installed_by_another_thread_while_uninstalling_is_uninstalled_too(
        ) -> None:
    import threading
    import time

    import tracer
    from tracer.frameworks import Adapter, uninstall_adapters
    from tracer.frameworks.pending import PendingInstalls

    installing, may_finish = threading.Event(), threading.Event()
    installed: list = []
    late = _Hooks()

    def install(adapter: Adapter) -> None:  # as slow as a real framework's patches
        installing.set()
        may_finish.wait(10)
        installed.append(late)

    with tracer.record() as recorder:
        pending = PendingInstalls([Adapter("late", "late.hooks", "Hooks", "late_framework",
                                           ("", ""), deferred=True)], install, recorder)
        pending.install()
        installed.append(pending)
        importer = threading.Thread(target=pending.module_ran, args=("late_framework",))
        importer.start()
        assert installing.wait(10)
        uninstaller = threading.Thread(target=uninstall_adapters, args=(installed,))
        uninstaller.start()
        deadline = time.monotonic() + 10
        while pending.active and time.monotonic() < deadline:  # it began on the list
            time.sleep(0.001)
        may_finish.set()  # the install under way ends while the uninstall waits for it
        importer.join(10)
        uninstaller.join(10)
    assert not late.active and not pending.active and installed == []
    assert pending.waiting() == []


def test_a_module_that_rebinds_its_name_imports_as_ever(tmp_path, monkeypatch) -> None:
    """The loaders' wrapper reads the name a module was imported under, whatever the
    module made of its own `__name__` (here something no dict can hold)."""
    import tracer
    from tracer.frameworks import Adapter
    from tracer.frameworks.pending import PendingInstalls

    (tmp_path / "renaming_module.py").write_text("__name__ = ['not', 'hashable']\nvalue = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "renaming_module", raising=False)
    installed = []
    with tracer.record() as recorder:
        pending = PendingInstalls([Adapter("late", "late.hooks", "Hooks", "renaming_module",
                                           ("", ""), deferred=True)], installed.append,
                                  recorder)
        pending.install()
        try:
            import renaming_module
        finally:
            pending.uninstall()
    assert renaming_module.value == 1
    assert [adapter.name for adapter in installed] == ["late"]  # known by its import name


def test_an_adapter_failing_part_way_through_its_install_puts_back_what_it_patched(
        tmp_path, monkeypatch) -> None:
    """Installed inside the app's import, a failing adapter must neither break the import
    nor leave half its patches behind."""
    import types

    import tracer
    import tracer.frameworks as frameworks
    from tracer.frameworks import Adapter
    from tracer.patching import PatchSet

    target = types.SimpleNamespace(value="original")

    class HalfInstalled(_Hooks):
        def install(self) -> None:
            self.patches = PatchSet()
            self.patches.replace(target, "value", lambda value: "patched")
            raise RuntimeError("half installed")

        def uninstall(self) -> None:
            self.patches.restore()

    (tmp_path / "half_framework.py").write_text("value = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "half_framework", raising=False)
    fake = Adapter("half", "half.hooks", "Hooks", "half_framework", ("", ""), deferred=True)
    monkeypatch.setattr(frameworks, "ADAPTERS", (*frameworks.ADAPTERS, fake))
    make_hooks = Adapter.make_hooks
    monkeypatch.setattr(Adapter, "make_hooks", lambda self, *args: HalfInstalled()
                        if self.name == "half" else make_hooks(self, *args))
    with tracer.record() as recorder:
        import half_framework
        assert target.value == "original"
        assert recorder.errors == 1
    assert half_framework.value == 1
