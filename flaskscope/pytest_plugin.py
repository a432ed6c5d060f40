"""pytest plugin: record what Flask does in a test run, off unless asked.

``pytest --flaskscope`` installs the recorder before conftest files and test modules
are imported, so registration is recorded too, and every request any Flask app handles
during the run is recorded. ``--flaskscope-dir DIR`` (which implies ``--flaskscope``)
keeps the trace of each failing test in DIR, one file named after the test id, and the
failure report gets a line ``flaskscope view DIR/<file>``. The ``flaskscope_trace``
fixture returns the trace of the requests the current test has made so far.

Recording never changes a test's outcome: the recorder swallows its own errors, and any
error in this plugin's bookkeeping becomes a line in the report, never a failure. The
requests of a finished test are dropped, so a long run does not grow in memory. Nothing
of flaskscope is imported unless the plugin is switched on.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from tracer.model import Trace
    from tracer.recorder import Recorder
    from tracer.store import StoreWriter

PLUGIN_NAME = "flaskscope-recording"
_MAX_NAME = 120


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flaskscope", "flaskscope: record what Flask does")
    group.addoption("--flaskscope", action="store_true", default=False,
                    help="Record registration and every request Flask apps handle in this run.")
    group.addoption("--flaskscope-dir", metavar="DIR", default=None,
                    help="Keep the trace of each failing test in DIR (implies --flaskscope).")
    group.addoption("--flaskscope-store", metavar="FILE", default=None,
                    help="Store every request of every test in this trace store, with the "
                         "test's id (implies --flaskscope).")


def _enabled(options: Any) -> bool:
    return bool(getattr(options, "flaskscope", False) or getattr(options, "flaskscope_dir", None)
                or getattr(options, "flaskscope_store", None))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """Install before conftest files import the app, so its registration is recorded."""
    _start(early_config)


def pytest_configure(config: pytest.Config) -> None:
    _start(config)  # when loaded with -p or plugins=[...], after the initial conftests


def pytest_unconfigure(config: pytest.Config) -> None:
    recording = config.pluginmanager.get_plugin(PLUGIN_NAME)
    if recording is not None:
        config.pluginmanager.unregister(recording, PLUGIN_NAME)
        recording.stop()


def _start(config: pytest.Config) -> None:
    options = config.known_args_namespace
    if not _enabled(options) or config.pluginmanager.get_plugin(PLUGIN_NAME) is not None:
        return
    directory = getattr(options, "flaskscope_dir", None)
    if directory:
        directory = str(Path(config.invocation_params.dir, directory))
    store = getattr(options, "flaskscope_store", None)
    if store:
        store = str(Path(config.invocation_params.dir, store))
    from tracer.errors import FlaskscopeError

    try:
        recording = _Recording(directory, store)
    except FlaskscopeError as exc:  # a store that is not one, or is newer
        raise pytest.UsageError(f"--flaskscope-store: {exc}") from None
    config.pluginmanager.register(recording, PLUGIN_NAME)


@pytest.fixture
def flaskscope_trace(request: pytest.FixtureRequest) -> Callable[[], Trace]:
    """`flaskscope_trace()` is the trace of the requests this test has made so far.

    Needs ``pytest --flaskscope``: recording has to start before the app is imported.
    """
    recording = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    if recording is None:
        pytest.fail("the flaskscope_trace fixture needs recording switched on: run pytest "
                    "with --flaskscope (or add it to addopts), so that flaskscope is installed "
                    "before your app is imported", pytrace=False)
    return recording.test_trace


class _Recording:
    """The recorder of one pytest run and what it saved."""

    def __init__(self, directory: str | None, store: str | None = None) -> None:
        import tracer

        self.writer: StoreWriter | None = None
        self.store = store
        self.stored = 0
        self.store_problems: list[str] = []
        if store is not None:
            from tracer.store import StoreWriter

            self.writer = StoreWriter(store, on_problem=self.store_problems.append)
        self._installed_here = tracer.installed() is None
        self.recorder: Recorder = tracer.install()
        self.directory = directory
        self.saved: list[str] = []
        self._registration_steps = 0

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self._installed_here:
            import tracer

            tracer.uninstall()

    # -- per test ---------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None
                                ) -> Generator[None, object, object]:
        # Each test starts with no finished request: what is recorded from here on is its own.
        self.recorder.let_go()
        self._registration_steps = self.recorder.registration.size()
        try:
            return (yield)
        finally:
            self._store(item.nodeid)
            self.recorder.let_go()

    def _store(self, test_id: str) -> None:
        """The requests of this test into the store, each tagged with its id; a failure
        is said at the end of the run and never changes the test's outcome."""
        if self.writer is None or not self.recorder.requests:
            return
        try:
            result = self.writer.write(self.recorder.trace(lazy_steps=True), test_id=test_id)
            self.stored += len(result.ids)
        except Exception as exc:
            self.store_problems.append(f"{test_id}: {type(exc).__name__}: {exc}")

    def test_trace(self) -> Trace:
        """The registration so far plus the requests the current test has made."""
        return self.recorder.trace()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if self.store is not None and report.failed and self.recorder.requests:
            shown = shlex.quote(_shown_path(Path(self.store)))
            self._add_line(report, f"this test's requests are stored in {shown}: flaskscope "
                                   f"requests {shown} --test {shlex.quote(item.nodeid)}")
        if self.directory and report.failed:
            try:
                self._keep(item, report)
            except Exception as exc:  # never let bookkeeping change the outcome
                self._add_line(report, f"flaskscope could not save this test's trace: "
                                       f"{type(exc).__name__}: {exc}")
        return report

    def _keep(self, item: pytest.Item, report: pytest.TestReport) -> None:
        grew = self.recorder.registration.size() > self._registration_steps
        if not self.recorder.requests and not grew:
            self._add_line(report, "flaskscope: this test made no request to a Flask app and "
                                   "registered no route, so no trace was kept")
            return
        from tracer.tracefile import save

        assert self.directory is not None
        path = Path(self.directory, trace_file_name(item.nodeid))
        path.parent.mkdir(parents=True, exist_ok=True)
        trace = self.recorder.trace()
        save(trace, path)
        shown = _shown_path(path)
        if shown not in self.saved:
            self.saved.append(shown)
        count = len(trace.requests)
        what = "1 request recorded; step through it" if count == 1 else \
            f"{count} requests recorded; step through them"
        self._add_line(report, f"{what} with: flaskscope view {shlex.quote(shown)}")

    @staticmethod
    def _add_line(report: pytest.TestReport, line: str) -> None:
        longrepr = report.longrepr
        if hasattr(longrepr, "addsection"):  # pytest's ExceptionRepr, or a plugin's own
            cast(Any, longrepr).addsection("flaskscope", line)
        else:
            report.sections.append(("flaskscope", line))

    # -- end of run -------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        recorder = self.recorder
        if not self.saved and not recorder.errors and self.store is None:
            return
        terminalreporter.write_sep("-", "flaskscope")
        if self.store is not None:
            shown_store = shlex.quote(_shown_path(Path(self.store)))
            terminalreporter.write_line(
                f"{self.stored} request{'s' if self.stored != 1 else ''} stored in "
                f"{shown_store}; list them with: flaskscope requests {shown_store}")
            for problem in self.store_problems[:5]:
                terminalreporter.write_line(f"not stored: {problem}")
        if self.saved:
            where = _shown_path(Path(self.directory or "."))
            terminalreporter.write_line(
                f"{len(self.saved)} failing test{'s' if len(self.saved) != 1 else ''} left "
                f"a trace in {where}; open one with: flaskscope view {shlex.quote(self.saved[0])}")
        if recorder.errors:
            terminalreporter.write_line(
                f"the recorder met {recorder.errors} error(s) of its own (the tests were not "
                f"affected): {'; '.join(recorder.error_samples)}")


def trace_file_name(nodeid: str) -> str:
    """A file name for a test id: readable, safe in any shell and file system, unique."""
    name = nodeid.replace("::", "__").replace("/", ".").replace("\\", ".")
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name).strip("-.") or "test"
    if len(name) > _MAX_NAME or name != nodeid.replace("::", "__").replace("/", "."):
        digest = hashlib.sha1(nodeid.encode("utf-8")).hexdigest()[:8]
        name = f"{name[:_MAX_NAME]}-{digest}"
    return f"{name}.json"


def _shown_path(path: Path) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative
