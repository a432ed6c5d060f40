"""`flaskscope serve`: run the app on Werkzeug's dev server with recording on, live.

Two processes, like Werkzeug's own reloader:

- The **server** (a child process) installs the recorder, imports the app under it and
  serves it with `werkzeug.serving.run_simple` on a socket the parent opened. After each
  response is closed, a spool thread takes the finished requests from the recorder, writes
  each as a trace file of its own (the registration, the routes and that one request) and
  tells the parent through a pipe, one JSON line per event. A trace that cannot be written
  is reported and the next one written; when the server stops, it writes what is pending
  for up to `stop_timeout` seconds and reports how many traces it wrote and dropped. With
  `--reload`, Werkzeug's reloader runs *in this process*: on a code change it exits with
  status 3 and the parent starts a new server, which installs the recorder again before
  importing the app.
- The **console** (this process) owns the socket, the pipe and the terminal: it starts the
  server again after a reload, and shows requests as they arrive, either in the viewer's
  Requests pane (live mode) or as one printed line per request.

Binding happens here, once, so the port stays open across reloads and `--port 0` picks a
free one. The default host is 127.0.0.1: only this machine can connect.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracer.errors import FlaskscopeError
from viewer.textsafe import visible

if TYPE_CHECKING:
    from tracer.model import Trace
    from tracer.recorder import Recorder

#: The child reads its settings from this variable (JSON of `ServeConfig`).
CONFIG_ENV = "FLASKSCOPE_SERVE"
#: Werkzeug's reloader protocol: the server exits with this status to be started again.
RELOAD_STATUS = 3
_TRACE_NAME = re.compile(r"^(\d+)-")
#: How long a stopping server may take beyond its `stop_timeout` before it is killed.
_STOP_GRACE = 5.0
#: How long a stopping server goes on writing the traces it still holds, by default.
STOP_TIMEOUT = 10.0
#: Requests turned into traces at once: each batch is quick to build, so a stopping
#: server checks its deadline often.
_BATCH = 32
_PATH_WORDS = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")


class ServeError(FlaskscopeError):
    """The server could not be started (port taken, app not importable)."""


@dataclass(frozen=True)
class ServeConfig:
    """What the server process needs to know, passed as JSON in `CONFIG_ENV`."""

    app: str
    host: str
    port: int
    spool: str
    events_fd: int
    reload: bool = False
    redact: bool = True
    lines: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    stop_timeout: float = STOP_TIMEOUT


# == the server process ========================================================================


def trace_file_name(request_id: int, method: str, path: str) -> str:
    """`0007-GET-shop-products.json`: sorted by arrival, readable at a glance.

    Method and path come from the client, so only letters, digits, `_` and single dots
    between them survive: the name never holds a separator, `..` or a control character,
    and never leaves the record directory.
    """
    if not (method.isascii() and method.isalpha() and len(method) <= 16):
        method = "OTHER"
    words = "-".join(_PATH_WORDS.findall(path))[:60].rstrip("-.")
    return f"{request_id:04d}-{method}-{words or 'root'}.json"


def next_free_id(directory: Path) -> int:
    """The first request number no trace file in `directory` uses yet (files from an
    earlier run, or from before a reload, are never overwritten)."""
    numbers = [int(match.group(1)) for match in map(_TRACE_NAME.match, os.listdir(directory))
               if match]
    return max(numbers, default=-1) + 1


class Events:
    """The server's side of the pipe: one JSON object per line, from any thread."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8", closefd=False)
        self._lock = threading.Lock()

    def send(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=False)
        with self._lock:
            try:
                self._file.write(line + "\n")
                self._file.flush()
            except (OSError, ValueError):
                pass  # the console is gone; the server keeps serving until stopped


class Spool:
    """Takes finished requests off the recorder and writes one trace file per request.

    Runs on its own thread, woken after each response: writing never delays a response,
    and the requests list drained here never grows however long the server runs. A trace
    that cannot be written is reported (a `problem` event) and counted, and the next one is
    written: recording never stops silently. Every request that came in ends up written,
    failed, or dropped by `close`, and the counts say which.
    """

    def __init__(self, recorder: Recorder, directory: Path, events: Events, app: str) -> None:
        self.recorder = recorder
        self.directory = directory
        self.events = events
        self.app = app
        self.next_id = next_free_id(directory)
        self.written = 0
        self.failed = 0
        self._started = 0  # requests that came in
        self._running = 0  # requests whose response is not closed yet
        # Guards the counts, and the moment a trace counts as written: its rename.
        self._changed = threading.Condition()
        self._deadline: float | None = None  # once stopping: write nothing after it
        self._closed = False
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one writer at a time
        self._thread = threading.Thread(target=self._run, name="flaskscope-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def request_started(self) -> None:
        with self._changed:
            self._started += 1
            self._running += 1

    def request_finished(self) -> None:
        """A response was closed: its trace is ready to be written."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # never let bookkeeping take recording down
                self._problem(f"writing traces failed: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        """Write every request finished so far."""
        with self._lock:
            self._drain()

    def close(self, timeout: float) -> tuple[int, int, int]:
        """Stop: let running requests finish and write every pending trace, within
        `timeout` seconds in all. How many traces were written, could not be written, and
        were dropped (pending or running at the deadline), over the server's life."""
        deadline = time.monotonic() + timeout
        with self._changed:
            self._changed.wait_for(lambda: self._running <= 0, timeout)
        self._deadline = deadline  # a flush under way on the spool thread stops there too
        if self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            try:
                self._drain()
            finally:
                self._lock.release()
        with self._changed:  # a write still under way now is not renamed, so not counted
            self._closed = True
            pending = len(self.recorder.requests)
            # A request still streaming its response is filed already: count it once.
            dropped = max(pending, self._started - self.written - self.failed)
            return self.written, self.failed, dropped

    def _drain(self) -> None:
        """Write the finished requests a batch at a time, until none is left or, once
        stopping, until the deadline."""
        while batch := self.recorder.requests[:_BATCH]:
            if self._stopped():
                return
            self._write_batch(batch)

    def _stopped(self) -> bool:
        return self._closed or (self._deadline is not None
                                and time.monotonic() >= self._deadline)

    def _write_batch(self, batch: list[Any]) -> None:
        """Write the traces of `batch`, the first requests of the recorder's list, taking
        each off it as it is written or fails: what stays there is what was dropped."""
        try:
            trace = self._snapshot(batch)
        except Exception as exc:
            with self._changed:
                self.failed += len(batch)
                del self.recorder.requests[: len(batch)]
            self._problem(f"{len(batch)} request traces could not be built and are lost: "
                          f"{type(exc).__name__}: {exc}")
            return
        for request in trace.requests:
            if self._stopped():
                return
            self._write(trace, request)

    def _snapshot(self, batch: list[Any]) -> Trace:
        """The trace of `batch` alone: `Recorder.trace` freezes every request it holds, so
        it is asked through a shallow copy holding just these."""
        view = copy.copy(self.recorder)
        view.requests = batch
        return view.trace(app=self.app)

    def _write(self, trace: Trace, request: Any) -> None:
        """Write one request's trace under a temporary name, then rename it and report
        it; a failure is reported and counted instead."""
        from tracer.tracefile import save

        request = replace(request, id=self.next_id)
        self.next_id += 1
        path = self.directory / trace_file_name(request.id, request.method, request.path)
        temporary = path.with_name(f".{path.name}.tmp")
        try:
            save(replace(trace, requests=(request,)), temporary)
            if self._commit(temporary, path, request):
                return
        except Exception as exc:
            with self._changed:
                if not self._closed:
                    self._done(written=False)
            self._problem(f"the trace of request #{request.id} ({request.method} "
                          f"{request.path}) was not written: {type(exc).__name__}: {exc}")
        with suppress(OSError):
            temporary.unlink()

    def _commit(self, temporary: Path, path: Path, request: Any) -> bool:
        """Rename the written trace into place, report and count it, at one moment the
        counts of `close` see whole; False if the server stopped meanwhile (dropped)."""
        with self._changed:
            if self._closed:
                return False
            os.replace(temporary, path)
            self._reported(path, request)
            self._done(written=True)
            return True

    def _done(self, *, written: bool) -> None:
        """Count the first pending request as written or failed, and take it off the list
        (the holder of `_lock` alone takes from the front; call with `_changed` held)."""
        if written:
            self.written += 1
        else:
            self.failed += 1
        del self.recorder.requests[0]

    def _reported(self, path: Path, request: Any) -> None:
        self.events.send(
            "request", file=str(path), id=request.id, method=request.method,
            path=request.path, query=request.query, status=request.status,
            outcome=request.outcome, endpoint=request.endpoint,
            duration_ms=round(request.duration_ns / 1e6, 2), steps=len(request.steps),
            thread=request.thread,
        )

    def _problem(self, message: str) -> None:
        self.events.send("problem", message=visible(message))


def save_atomically(trace: Trace, path: Path, save: Callable[[Trace, Path], Any]) -> None:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    save(trace, temporary)
    os.replace(temporary, path)


def recording_app(app: Callable[..., Any], done: Callable[[], None],
                  started: Callable[[], None] = lambda: None) -> Callable[..., Any]:
    """`app` with `started()` called as a request comes in and `done()` once its response
    is closed (or it raised)."""
    from werkzeug.wsgi import ClosingIterator

    def serve(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        started()
        try:
            result = app(environ, start_response)
        except BaseException:
            done()
            raise
        return ClosingIterator(result, [done])

    return serve


def _error_app(message: str) -> Callable[..., Any]:
    """What the server answers while the app cannot be imported (with `--reload`, until
    a fix is saved)."""
    body = f"flaskscope serve: the app could not be loaded.\n\n{message}\n".encode()

    def app(environ: dict, start_response: Callable[..., Any]) -> list[bytes]:
        start_response("500 INTERNAL SERVER ERROR",
                       [("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body)))])
        return [body]

    return app


def run_server(config: ServeConfig) -> int:
    """The server process: record, load the app, serve until stopped or reloaded."""
    import logging

    from werkzeug.serving import run_simple

    from tracer.api import default_scope, install, registering, uninstall
    from tracer.errors import AppLoadError
    from tracer.frameworks.loading import load
    from tracer.session import app_root
    from tracer.tracefile import save

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the console prints requests
    events = Events(config.events_fd)
    spool_dir = Path(config.spool)
    scope = (default_scope([app_root(config.app)], config.include, config.exclude)
             if config.lines else None)
    recorder = install(redact=config.redact, lines=config.lines, scope=scope)
    recorder.meta["app"] = config.app
    recorder.meta["server"] = url_of(config.host, config.port)
    spool = Spool(recorder, spool_dir, events, config.app)
    try:
        try:
            with registering():
                loaded = load(config.app)
        except AppLoadError as exc:
            events.send("error", message=str(exc))
            if not config.reload:
                return 1
            app: Callable[..., Any] = _error_app(str(exc))
        else:
            recorder.meta["framework"] = loaded.framework
            registration = spool_dir / "registration.json"
            save_atomically(recorder.trace(app=config.app), registration, save)
            events.send("ready", registration=str(registration), framework=loaded.framework,
                        pid=os.getpid())
            spool.start()
            app = recording_app(loaded.app, spool.request_finished, spool.request_started)
        run_simple(config.host, config.port, app, use_reloader=config.reload, threaded=True,
                   use_debugger=False)
        return 0
    finally:
        _ignore_stop_signals()  # the console kills this process if the drain overruns
        if spool.started:
            written, failed, dropped = spool.close(config.stop_timeout)
            events.send("stopped", written=written, failed=failed, dropped=dropped,
                        timeout=config.stop_timeout)
        uninstall()


def _ignore_stop_signals() -> None:
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)


def _stop_with_console(interval: float = 0.5) -> None:
    """End this server the way Ctrl+C would when its console dies without stopping it
    (killed, terminal closed): a server in its own session would otherwise serve on."""
    console = os.getppid()

    def watch() -> None:
        while os.getppid() == console:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="flaskscope-console-watch", daemon=True).start()


def server_main() -> None:
    """Entry of the server process (started by the console, never by hand)."""
    # Ctrl+C semantics even when started from a shell that ignores SIGINT in the
    # background: the console stops the server with SIGINT so that it writes what it holds.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped directly: the same
    _stop_with_console()
    settings = json.loads(os.environ[CONFIG_ENV])
    for key in ("include", "exclude"):
        settings[key] = tuple(settings.get(key, ()))
    sys.exit(run_server(ServeConfig(**settings)))


# == the console process ======================================================================


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host`."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """The listening socket every server process inherits.

    Raises:
        ServeError: The address is taken or cannot be used, with what to do about it.
    """
    from werkzeug.serving import LISTEN_QUEUE, get_sockaddr, select_address_family

    family = select_address_family(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(get_sockaddr(host, port, family))
        sock.listen(LISTEN_QUEUE)
    except OSError as exc:
        sock.close()
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}; pick another port "
                         "with --port (--port 0 takes a free one)") from None
    sock.set_inheritable(True)
    return sock


class Server:
    """Starts the server process, starts it again after each reload, and reads its events.

    Events go to `on_event` on a reader thread, in the order the server sent them, plus
    `reloading` when a reload starts a new server and `exited` when the last one ends.
    """

    def __init__(self, config: ServeConfig, sock: socket.socket,
                 on_event: Callable[[dict[str, Any]], None], *, log: Any = None) -> None:
        self.sock = sock
        self.on_event = on_event
        self.log = log  # where the server's stdout and stderr go (None: this terminal)
        self.exit_status: int | None = None
        self._read_fd, self._write_fd = os.pipe()
        self.config = replace(config, events_fd=self._write_fd)
        self._process: subprocess.Popen | None = None
        self._stopping = False
        #: Whether the last server had to be killed: it never said what it dropped.
        self.killed = False
        self._stop_lock = threading.Lock()
        self._pipe_closed = False
        # Events, not Thread.join: on 3.11 a signal interrupting join() can leave a running
        # thread looking finished.
        self._exited = threading.Event()
        self._drained = threading.Event()
        self._reader = threading.Thread(target=self._read, name="flaskscope-events",
                                        daemon=True)
        self._supervisor = threading.Thread(target=self._supervise, name="flaskscope-server",
                                            daemon=True)

    @property
    def pid(self) -> int | None:
        """The process id of the server running now."""
        return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._reader.start()
        self._supervisor.start()

    def _spawn(self) -> subprocess.Popen:
        env = {**os.environ, CONFIG_ENV: json.dumps(asdict(self.config)),
               "WERKZEUG_RUN_MAIN": "true", "WERKZEUG_SERVER_FD": str(self.sock.fileno()),
               "PYTHONUNBUFFERED": "1"}
        return subprocess.Popen(
            [sys.executable, "-c", "from flaskscope.serve import server_main; server_main()"],
            env=env, pass_fds=(self.sock.fileno(), self._write_fd), stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=self.log, start_new_session=True,
        )

    def _supervise(self) -> None:
        while not self._stopping:
            self._process = self._spawn()
            status = self._process.wait()
            if self._stopping or status != RELOAD_STATUS:
                self.exit_status = status
                break
            self.on_event({"event": "reloading"})
        self._exited.set()
        self.on_event({"event": "exited", "status": self.exit_status})

    def _read(self) -> None:
        try:
            with os.fdopen(self._read_fd, encoding="utf-8") as lines:
                for line in lines:
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    self.on_event(event)
        finally:
            self._drained.set()

    def stop(self) -> None:
        """Stop the server as Ctrl+C would (it writes what it still holds, for up to
        `stop_timeout` seconds), then harder. Stopping again does nothing."""
        with self._stop_lock:
            if not self._pipe_closed:
                self._stop()

    def _stop(self) -> None:
        self._stopping = True
        while not self._exited.is_set():
            process = self._process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(self.config.stop_timeout + _STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    self.killed = True
            self._exited.wait(0.1)
        os.close(self._write_fd)  # the reader sees the end of the pipe
        self._pipe_closed = True
        self._drained.wait(_STOP_GRACE)

    def wait(self) -> int | None:
        """Block until the server exits by itself; its exit status."""
        while not self._exited.wait(0.2):  # wakes up for Ctrl+C
            pass
        return self.exit_status


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}"


def banner(app: str, host: str, port: int, spool: str | None, reload: bool) -> list[str]:
    """What the console says before serving: where, who can connect, where traces go."""
    lines = [f" * flaskscope serving {app} on {url_of(host, port)} with recording on"]
    if is_loopback(host):
        lines.append(f" * listening on {host} only (loopback): only this machine can connect; "
                     "--host 0.0.0.0 would open it to the network")
    else:
        lines.append(f" * WARNING: listening on {host}: anyone who can reach this machine can "
                     "send requests, and their traces may hold what they send")
    if spool:
        lines.append(f" * each request's trace is saved in {spool}")
    if reload:
        lines.append(" * reloader on: a saved change restarts the server, still recording")
    return lines


def request_line(event: dict[str, Any]) -> str:
    """One printed line per finished request (method and path as the client sent them,
    escaped)."""
    status = "-" if event.get("status") is None else event["status"]
    endpoint = f"  {visible(str(event['endpoint']))}" if event.get("endpoint") else ""
    method, path = visible(str(event["method"])), visible(str(event["path"]))
    return (f"#{event['id']} {method} {path} → {status} {visible(str(event['outcome']))}"
            f"{endpoint}  {event['duration_ms']:.1f} ms  {event['steps']} steps")


@dataclass
class StopReport:
    """What the servers said as they stopped (one per reload, summed): traces written,
    not written, and dropped at the deadline."""

    written: int = 0
    failed: int = 0
    dropped: int = 0
    timeout: float = STOP_TIMEOUT
    said: bool = False

    def add(self, event: dict[str, Any]) -> None:
        self.written += int(event.get("written", 0))
        self.failed += int(event.get("failed", 0))
        self.dropped += int(event.get("dropped", 0))
        self.timeout = float(event.get("timeout", self.timeout))
        self.said = True

    @property
    def lost(self) -> bool:
        return bool(self.failed or self.dropped)

    def line(self, killed: bool = False) -> str:
        """The console's last word: every trace accounted for."""
        said = [f"{self.written} trace{'s' if self.written != 1 else ''} written"]
        if self.failed:
            said.append(f"{self.failed} could not be written (see the messages above)")
        if self.dropped:
            said.append(f"{self.dropped} dropped: still pending {self.timeout:g} s after the "
                        "stop (--stop-timeout waits longer)")
        if killed:
            said.append("the server did not stop in time and was killed: traces it still "
                        "held were lost")
        return " * " + "; ".join(said)


class LiveFeed:
    """Hands a running viewer what the server reports: each new request's trace (loaded
    here, on a thread of its own, so the viewer never waits for a file) and notices.

    `handle` may be called before the viewer runs; events wait until it does.
    """

    def __init__(self, app: Any, greeting: Sequence[str] = ()) -> None:
        self.app = app
        self.greeting = list(greeting)
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.added = 0
        self._thread = threading.Thread(target=self._run, name="flaskscope-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def handle(self, event: dict[str, Any]) -> None:
        self.events.put(event)

    def close(self) -> None:
        self.events.put(None)
        self._thread.join(_STOP_GRACE)

    def _run(self) -> None:
        while not self.app.is_running:
            if self.app.return_code is not None:
                return
            time.sleep(0.02)
        try:
            if self.greeting:
                self.app.call_from_thread(self.app.notify, "\n".join(self.greeting),
                                          timeout=8)
            while (event := self.events.get()) is not None:
                self._deliver(event)
        except RuntimeError:
            return  # the viewer has quit

    def _deliver(self, event: dict[str, Any]) -> None:
        from tracer.tracefile import load

        kind = event.get("event")
        if kind == "request":
            try:
                trace = load(event["file"])
            except FlaskscopeError as exc:
                self.app.call_from_thread(self.app.notify, visible(str(exc)),
                                          severity="warning", markup=False)
                return
            self.app.call_from_thread(self.app.add_requests, trace)
            self.added += 1
        elif kind == "reloading":
            self.app.call_from_thread(self.app.notify, "code changed: restarting the server")
        elif kind in ("error", "problem"):
            self.app.call_from_thread(self.app.notify, event.get("message", ""),
                                      severity="error", timeout=15, markup=False)
        elif kind == "exited":
            self.app.call_from_thread(
                self.app.notify, f"the server stopped (status {event.get('status')})",
                severity="error", timeout=30)


@click.command()
@click.argument("app_ref", metavar="APP")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; the default lets only this machine connect.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one).")
@click.option("--record-dir", type=click.Path(file_okay=False),
              help="Save each finished request's trace in DIR (created if missing).")
@click.option("--reload/--no-reload", default=False, show_default=True,
              help="Restart the server, still recording, when the app's code changes.")
@click.option("--viewer/--no-viewer", default=None,
              help="Show requests live in the viewer (default when run in a terminal) or "
                   "print one line per request.")
@click.option("--no-redact", is_flag=True,
              help="Store secrets (passwords, tokens, cookies) as they are.")
@click.option("--lines", is_flag=True,
              help="Also record every line run in Flask, Werkzeug and the app.")
@click.option("--stop-timeout", default=STOP_TIMEOUT, show_default=True, metavar="SECONDS",
              type=click.FloatRange(0, 3600),
              help="On Ctrl+C or SIGTERM, go on writing pending traces this long; those "
                   "still pending then are dropped and counted.")
def serve(app_ref: str, host: str, port: int, record_dir: str | None, reload: bool,
          viewer: bool | None, no_redact: bool, lines: bool, stop_timeout: float) -> None:
    """Serve APP on Werkzeug's dev server and record every request it handles.

    APP is anything `flask --app` accepts (Bottle, Werkzeug and plain WSGI apps too). In a
    terminal the viewer opens in live mode: requests appear in the Requests pane as they
    finish, and stepping through one goes on while more arrive (q quits and stops the
    server). Elsewhere, or with --no-viewer, one line is printed per request.
    """
    if viewer is None:
        viewer = sys.stdin.isatty() and sys.stdout.isatty()
    spool_dir = Path(record_dir) if record_dir else None
    if spool_dir is not None:
        try:
            spool_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServeError(f"cannot create --record-dir {record_dir!r}: {exc.strerror}; "
                             "choose another directory") from None
    sock = listen(host, port)
    bound_port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="flaskscope-serve-") as private:
        spool = spool_dir.resolve() if spool_dir else Path(private, "traces")
        spool.mkdir(exist_ok=True)
        config = ServeConfig(app=_app_for_server(app_ref), host=host, port=bound_port,
                             spool=str(spool), events_fd=-1, reload=reload,
                             redact=not no_redact, lines=lines, stop_timeout=stop_timeout)
        lines_said = banner(app_ref, host, bound_port, record_dir, reload)
        try:
            if viewer:
                _serve_in_viewer(config, sock, lines_said, Path(private, "server.log"),
                                 record_dir)
            else:
                _serve_printing(config, sock, lines_said)
        finally:
            sock.close()


def _app_for_server(app_ref: str) -> str:
    """A file path made absolute: the server may look it up after a reload."""
    path = app_ref.split(":", 1)[0]
    if os.path.exists(path):
        return os.path.abspath(path) + app_ref[len(path):]
    return app_ref


def _serve_printing(config: ServeConfig, sock: socket.socket, said: Sequence[str]) -> None:
    for line in said:
        click.echo(line)
    errors: list[str] = []
    report = StopReport()

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "request":
            click.echo(request_line(event))
        elif kind == "stopped":
            report.add(event)
        elif kind == "ready":
            click.echo(f" * ready ({event['framework']} app, server pid {event['pid']}); "
                       "press CTRL+C to quit")
        elif kind == "reloading":
            click.echo(" * code changed: restarting the server")
        elif kind in ("error", "problem"):
            errors.append(event["message"])
            click.echo(f" * {event['message']}", err=True)

    server = Server(config, sock, on_event)
    with _terminated_as_interrupt():
        server.start()
        try:
            status = server.wait()
        except KeyboardInterrupt:
            status = 0
        finally:
            server.stop()
    if report.said or server.killed:
        click.echo(report.line(server.killed), err=report.lost or server.killed)
    if status not in (0, None, -signal.SIGINT):
        raise ServeError(errors[-1] if errors else f"the server stopped with status {status}")


@contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP end the console like Ctrl+C, so it stops its server first."""
    def interrupt(number: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread
        return
    previous = {number: signal.signal(number, interrupt)
                for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _serve_in_viewer(config: ServeConfig, sock: socket.socket, said: Sequence[str],
                     log_path: Path, record_dir: str | None) -> None:
    from flaskscope.progress import working

    for line in said:
        click.echo(line)
    first: queue.Queue[dict[str, Any]] = queue.Queue()
    early: list[dict[str, Any]] = []
    feed: list[LiveFeed] = []
    lock = threading.Lock()
    report = StopReport()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "stopped":
            report.add(event)
        with lock:
            if feed:
                feed[0].handle(event)
            elif event.get("event") in ("ready", "error", "exited"):
                first.put(event)
            else:
                early.append(event)

    with open(log_path, "w", encoding="utf-8") as log, _terminated_as_interrupt():
        server = Server(config, sock, on_event, log=log)
        server.start()
        try:
            with working(f"starting {config.app}…"):
                event = first.get()
            if event["event"] != "ready":
                log.flush()
                raise ServeError(event.get("message") or _last_line(log_path)
                                 or f"the server stopped with status {event.get('status')}")
            from tracer.tracefile import load
            from viewer.tui.app import ViewerApp

            app = ViewerApp(load(event["registration"]))
            app.title = f"flaskscope serve {config.app}"
            app.sub_title = f"live · {url_of(config.host, config.port)}"
            live = LiveFeed(app, said)
            with lock:
                feed.append(live)
                for waiting in early:
                    live.handle(waiting)
            live.start()
            app.run()
            live.close()
        finally:
            server.stop()
    _echo_log(log_path)
    click.echo(f" * {live.added} request{'s' if live.added != 1 else ''} recorded"
               + (f"; traces saved in {record_dir}" if record_dir else ""))
    if report.lost or server.killed:
        click.echo(report.line(server.killed), err=True)


def _echo_log(path: Path, limit: int = 200) -> None:
    """What the server wrote while the viewer had the terminal (tracebacks, warnings)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    if lines:
        click.echo(" * the server said (while the viewer was open):")
        for line in lines[-limit:]:
            click.echo(line)


def _last_line(path: Path) -> str | None:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError:
        return None
    return lines[-1] if lines else None
