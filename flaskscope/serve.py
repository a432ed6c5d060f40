"""`flaskscope serve`: run the app on Werkzeug's dev server with recording on, live.

The server runs in a child process and stores each finished request in a trace store
(`tracer.store`; `--record-dir`: one trace file per request instead) (`tracer.live`,
`tracer.frameworks.werkzeug.serving`); this process, the console, owns the
socket and the terminal, starts the server again after a reload, and shows requests as
they arrive (`viewer.live`): in the viewer's Requests pane (live mode) or as one printed
line per request.

Binding happens here, once, so the port stays open across reloads and `--port 0` picks a
free one. The default host is 127.0.0.1: only this machine can connect.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tracer.errors import ServeError
from tracer.frameworks.werkzeug.serving import listen
from tracer.live.config import STOP_TIMEOUT, ServeConfig, url_of
from tracer.live.server import Server
from tracer.store import DEFAULT_KEEP, DEFAULT_MAX_BYTES, Retention, StoreWriter
from viewer.live import (
    LiveFeed,
    Relay,
    StopReport,
    banner,
    message_of,
    pruned_line,
    request_line,
)

#: Where `serve` keeps its store by default, beside the app.
STORE_DIR = ".flaskscope"
STORE_NAME = "traces.db"
MB = 1_000_000


@click.command()
@click.argument("app_ref", metavar="APP")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; the default lets only this machine connect.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one).")
@click.option("--store", "store", type=click.Path(dir_okay=False), metavar="FILE",
              help="Store every request in this trace store (SQLite; default: "
                   ".flaskscope/traces.db beside the app).")
@click.option("--keep", default=DEFAULT_KEEP, show_default=True, type=click.IntRange(1),
              metavar="N", help="Keep the newest N requests in the store, dropping older ones.")
@click.option("--max-size", "max_size", default=DEFAULT_MAX_BYTES / MB, show_default=True,
              type=click.FloatRange(1), metavar="MB",
              help="Keep the store under this size, dropping the oldest requests.")
@click.option("--record-dir", type=click.Path(file_okay=False),
              help="Save each finished request's trace as a file of its own in DIR "
                   "(created if missing) instead of the store.")
@click.option("--reload/--no-reload", default=False, show_default=True,
              help="Restart the server, still recording, when the app's code changes.")
@click.option("--viewer/--no-viewer", default=None,
              help="Show requests live in the viewer (default when run in a terminal) or "
                   "print one line per request.")
@click.option("--no-redact", is_flag=True,
              help="Store secrets (passwords, tokens, cookies) as they are.")
@click.option("--lines", is_flag=True,
              help="Also record every line run in Flask, Werkzeug and the app.")
@click.option("--web", is_flag=True,
              help="Also serve the report page live on a loopback port of its own (printed "
                   "at start): each request's steps appear in the browser as it finishes. "
                   "Prints one line per request instead of opening the terminal viewer.")
@click.option("--web-port", default=0, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the --web page (0: a free one).")
@click.option("--stop-timeout", default=STOP_TIMEOUT, show_default=True, metavar="SECONDS",
              type=click.FloatRange(0, 3600),
              help="On Ctrl+C or SIGTERM, go on writing pending traces this long; those "
                   "still pending then are dropped and counted.")
def serve(app_ref: str, host: str, port: int, store: str | None, keep: int, max_size: float,
          record_dir: str | None, reload: bool, viewer: bool | None, no_redact: bool,
          lines: bool, web: bool, web_port: int, stop_timeout: float) -> None:
    """Serve APP on Werkzeug's dev server and record every request it handles.

    APP is anything `flask --app` accepts (Bottle, Werkzeug and plain WSGI apps too). In a
    terminal the viewer opens in live mode: requests appear in the Requests pane as they
    finish, and stepping through one goes on while more arrive (q quits and stops the
    server). Elsewhere, or with --no-viewer, one line is printed per request.
    """
    if viewer and web:
        raise ServeError("--web shows requests in the browser and prints one line each; it "
                         "does not open the terminal viewer: drop --viewer")
    if viewer is None:
        viewer = not web and sys.stdin.isatty() and sys.stdout.isatty()
    if store and record_dir:
        raise ServeError("give --store FILE or --record-dir DIR, not both: requests go to "
                         "one trace store or to one file each")
    retention = Retention(keep=keep, max_bytes=int(max_size * MB))
    store_path = None if record_dir else _checked_store(store or default_store(app_ref),
                                                        retention)
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
                             redact=not no_redact, lines=lines, stop_timeout=stop_timeout,
                             store=store_path, keep=retention.keep,
                             max_bytes=retention.max_bytes)
        lines_said = banner(app_ref, host, bound_port, record_dir, reload,
                            store=store_path, keeping=retention.describe())
        try:
            if viewer:
                _serve_in_viewer(config, sock, lines_said, Path(private, "server.log"),
                                 record_dir)
            else:
                _serve_printing(config, sock, lines_said, web_port if web else None)
        finally:
            sock.close()


def default_store(app_ref: str) -> Path:
    """`.flaskscope/traces.db` beside the app's file, else in the current directory."""
    path = Path(app_ref.split(":", 1)[0])
    folder = path.parent if path.suffix == ".py" and path.is_file() else \
        path if path.is_dir() else Path(".")
    return folder / STORE_DIR / STORE_NAME


def _checked_store(path: Path | str, retention: Retention) -> str:
    """Create or open the store here, so a bad one is refused before serving starts."""
    writer = StoreWriter(path, retention=retention)
    writer.close()
    return str(Path(path).resolve())


def _app_for_server(app_ref: str) -> str:
    """A file path made absolute: the server may look it up after a reload."""
    path = app_ref.split(":", 1)[0]
    if os.path.exists(path):
        return os.path.abspath(path) + app_ref[len(path):]
    return app_ref


def _serve_printing(config: ServeConfig, sock: socket.socket, said: Sequence[str],
                    web_port: int | None = None) -> None:
    for line in said:
        click.echo(line)
    errors: list[str] = []
    report = StopReport()
    web = None
    if web_port is not None:
        from flaskscope.web_feed import LivePage  # graphs and narrative: only for --web

        web = LivePage(config.app, web_port)

    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if web is not None:
            said = web.handle(event)
            if said:
                click.echo(said)
        if kind == "request":
            click.echo(request_line(event))
        elif kind == "stopped":
            report.add(event)
        elif kind == "ready":
            click.echo(f" * ready ({event['framework']} app, server pid {event['pid']}); "
                       "press CTRL+C to quit")
        elif kind == "reloading":
            click.echo(" * code changed: restarting the server")
        elif kind == "pruned":
            click.echo(f" * {pruned_line(event)}")
        elif kind in ("error", "problem"):
            errors.append(message_of(event))
            click.echo(f" * {errors[-1]}", err=True)

    server = Server(config, sock, on_event)
    with _terminated_as_interrupt():
        server.start()
        try:
            status = server.wait()
        except KeyboardInterrupt:
            status = 0
        finally:
            server.stop()
            if web is not None:
                web.stop()
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
    relay = Relay()
    report = StopReport()

    def on_event(event: dict[str, Any]) -> None:
        if event.get("event") == "stopped":
            report.add(event)
        relay.handle(event)

    with open(log_path, "w", encoding="utf-8") as log, _terminated_as_interrupt():
        server = Server(config, sock, on_event, log=log)
        server.start()
        try:
            with working(f"starting {config.app}…"):
                event = relay.first()
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
            relay.feed(live)
            live.start()
            app.run()
            live.close()
        finally:
            server.stop()
    _echo_log(log_path)
    click.echo(f" * {live.added} request{'s' if live.added != 1 else ''} recorded"
               + (f"; traces saved in {record_dir}" if record_dir else "")
               + (f"; stored in {config.store}" if config.store else ""))
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
