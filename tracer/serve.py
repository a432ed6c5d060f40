"""`flaskscope serve`: run the app on Werkzeug's dev server with recording on, live.

Two processes, like Werkzeug's own reloader:

- The **server** (a child process) installs the recorder, imports the app under it and
  serves it with `werkzeug.serving.run_simple` on a socket the parent opened. After each
  response is closed, a spool thread takes the finished requests from the recorder, writes
  each as a trace file of its own (the registration, the routes and that one request) and
  tells the parent through a pipe, one JSON line per event. With `--reload`, Werkzeug's
  reloader runs *in this process*: on a code change it exits with status 3 and the parent
  starts a new server, which installs the recorder again before importing the app.
- The **console** (this process) owns the socket, the pipe and the terminal: it starts the
  server again after a reload, and shows requests as they arrive, either in the viewer's
  Requests pane (live mode) or as one printed line per request.

Binding happens here, once, so the port stays open across reloads and `--port 0` picks a
free one. The default host is 127.0.0.1: only this machine can connect.
"""

from __future__ import annotations

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
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import FlaskscopeError

if TYPE_CHECKING:
    from .model import Trace
    from .recorder import Recorder

#: The child reads its settings from this variable (JSON of `ServeConfig`).
CONFIG_ENV = "FLASKSCOPE_SERVE"
#: Werkzeug's reloader protocol: the server exits with this status to be started again.
RELOAD_STATUS = 3
_TRACE_NAME = re.compile(r"^(\d+)-")
_STOP_GRACE = 5.0


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


# == the server process ========================================================================


def trace_file_name(request_id: int, method: str, path: str) -> str:
    """`0007-GET-shop-products.json`: sorted by arrival, readable at a glance."""
    words = "-".join(part for part in re.split(r"[^A-Za-z0-9_.]+", path) if part)[:60]
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
    and the requests list drained here never grows however long the server runs.
    """

    def __init__(self, recorder: Recorder, directory: Path, events: Events, app: str) -> None:
        self.recorder = recorder
        self.directory = directory
        self.events = events
        self.app = app
        self.next_id = next_free_id(directory)
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="flaskscope-spool", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write every request finished so far (also called once more at shutdown)."""
        with self._lock:
            if not self.recorder.requests:
                return
            try:
                trace = self.recorder.trace(app=self.app)
            except Exception as exc:  # never let bookkeeping take the server down
                self.events.send("problem", message=f"{type(exc).__name__}: {exc}")
                return
            del self.recorder.requests[: len(trace.requests)]
            for request in trace.requests:
                self._write(trace, request)

    def _write(self, trace: Trace, request: Any) -> None:
        from .tracefile import save

        request = replace(request, id=self.next_id)
        self.next_id += 1
        single = replace(trace, requests=(request,))
        path = self.directory / trace_file_name(request.id, request.method, request.path)
        save_atomically(single, path, save)
        self.events.send(
            "request", file=str(path), id=request.id, method=request.method,
            path=request.path, query=request.query, status=request.status,
            outcome=request.outcome, endpoint=request.endpoint,
            duration_ms=round(request.duration_ns / 1e6, 2), steps=len(request.steps),
            thread=request.thread,
        )


def save_atomically(trace: Trace, path: Path, save: Callable[[Trace, Path], Any]) -> None:
    """Write to a temporary name and rename, so a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    save(trace, temporary)
    os.replace(temporary, path)


def recording_app(app: Callable[..., Any], done: Callable[[], None]) -> Callable[..., Any]:
    """`app` with `done()` called once its response is closed (or it raised)."""
    from werkzeug.wsgi import ClosingIterator

    def serve(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
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

    from .api import default_scope, install, registering, uninstall
    from .errors import AppLoadError
    from .frameworks.wsgi_app import load
    from .session import app_root
    from .tracefile import save

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the console prints requests
    events = Events(config.events_fd)
    spool_dir = Path(config.spool)
    scope = (default_scope([app_root(config.app)], config.include, config.exclude)
             if config.lines else None)
    recorder = install(redact=config.redact, lines=config.lines, scope=scope)
    recorder.meta["app"] = config.app
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
            app = recording_app(loaded.app, spool.wake)
        run_simple(config.host, config.port, app, use_reloader=config.reload, threaded=True,
                   use_debugger=False)
        return 0
    finally:
        spool.flush()
        uninstall()


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
            [sys.executable, "-c", "from tracer.serve import server_main; server_main()"],
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
        """Stop the server as Ctrl+C would (it writes what it still holds), then harder."""
        self._stopping = True
        while not self._exited.is_set():
            process = self._process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(_STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._exited.wait(0.1)
        os.close(self._write_fd)  # the reader sees the end of the pipe
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
    """One printed line per finished request."""
    status = "-" if event.get("status") is None else event["status"]
    endpoint = f"  {event['endpoint']}" if event.get("endpoint") else ""
    return (f"#{event['id']} {event['method']} {event['path']} → {status} {event['outcome']}"
            f"{endpoint}  {event['duration_ms']:.1f} ms  {event['steps']} steps")


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
        from .tracefile import load

        kind = event.get("event")
        if kind == "request":
            try:
                trace = load(event["file"])
            except FlaskscopeError as exc:
                self.app.call_from_thread(self.app.notify, str(exc), severity="warning")
                return
            self.app.call_from_thread(self.app.add_requests, trace)
            self.added += 1
        elif kind == "reloading":
            self.app.call_from_thread(self.app.notify, "code changed: restarting the server")
        elif kind in ("error", "problem"):
            self.app.call_from_thread(self.app.notify, event.get("message", ""),
                                      severity="error", timeout=15)
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
def serve(app_ref: str, host: str, port: int, record_dir: str | None, reload: bool,
          viewer: bool | None, no_redact: bool, lines: bool) -> None:
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
                             redact=not no_redact, lines=lines)
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

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "request":
            click.echo(request_line(event))
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
    from .export.progress import working

    for line in said:
        click.echo(line)
    first: queue.Queue[dict[str, Any]] = queue.Queue()
    early: list[dict[str, Any]] = []
    feed: list[LiveFeed] = []
    lock = threading.Lock()

    def on_event(event: dict[str, Any]) -> None:
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
            from viewer.app import ViewerApp

            from .tracefile import load

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
