"""Werkzeug's dev server serving an app under the recorder: the server process of a live
recording (`tracer.live`), and the listening socket it inherits.

Any app `tracer.frameworks.loading` finds is served (Flask, Bottle, web.py, plain WSGI):
the server is Werkzeug's, with its reloader and its protocol (`WERKZEUG_SERVER_FD`, exit
status 3 to be started again). The process is started by `tracer.live.server.Server`,
never by hand; it reads its settings from the environment (`tracer.live.config`).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tracer.errors import ServeError, StoreError
from tracer.live.config import CONFIG_ENV, ServeConfig, url_of
from tracer.live.spool import Events, Spool, save_atomically


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


def recording_app(app: Callable[..., Any], done: Callable[[], None],
                  started: Callable[[], None] = lambda: None) -> Callable[..., Any]:
    """`app` with `started()` called as a request comes in and `done()` once its response
    is closed (or it raised), exactly once. Also when the response is dropped unclosed:
    Werkzeug's dev server skips `close()` when the client resets the connection while the
    server reads what is left of the request, and a request never done would hold its
    trace back until the server stops, and the stop for its whole timeout."""
    from werkzeug.wsgi import ClosingIterator

    def serve(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
        started()
        once = _Once(done)
        try:
            result = app(environ, start_response)
        except BaseException:
            once()
            raise
        response = ClosingIterator(result, [once])
        weakref.finalize(response, once)
        return response

    return serve


class _Once:
    """`callback`, run the first time this is called and never again (thread-safe)."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            callback, self._callback = self._callback, None
        if callback is not None:
            callback()


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
    from tracer.frameworks.loading import load, serves_itself
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
    try:
        spool = _spool(config, recorder, spool_dir, events)
    except StoreError as exc:  # changed since the console checked it
        events.send("error", message=str(exc))
        uninstall()
        return 1
    try:
        try:
            with registering():
                loaded = load(config.app)
            if serves_itself(loaded.framework):
                raise AppLoadError(
                    f"serve runs WSGI apps on Werkzeug's dev server, and {config.app!r} is a "
                    f"{loaded.framework} app, which is no WSGI app; record its requests with "
                    "`flaskscope trace`, `view` or `explain` instead")
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


def _spool(config: ServeConfig, recorder: Any, directory: Path, events: Events) -> Spool:
    """Trace files in `directory`, or rows in the store when one is named."""
    if config.store is None:
        return Spool(recorder, directory, events, config.app)
    from tracer.live.store_spool import StoreSpool
    from tracer.store import Retention

    return StoreSpool(recorder, directory, events, config.app, Path(config.store),
                      Retention(keep=config.keep, max_bytes=config.max_bytes))


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

