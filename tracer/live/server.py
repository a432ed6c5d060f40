"""The parent's side of a live recording: start the server process, start it again after
each reload, read its events, and stop it so that it writes what it holds.

The socket is bound by the caller, once, so the port stays open across reloads and port 0
picks a free one; every server process inherits it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

from tracer.live.config import CONFIG_ENV, STOP_GRACE, ServeConfig

#: Werkzeug's reloader protocol: the server exits with this status to be started again.
RELOAD_STATUS = 3
#: What the server process runs (`tracer.frameworks.werkzeug.serving`).
SERVER_ENTRY = "from tracer.frameworks.werkzeug.serving import server_main; server_main()"


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
            [sys.executable, "-c", SERVER_ENTRY],
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
                    process.wait(self.config.stop_timeout + STOP_GRACE)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                    self.killed = True
            self._exited.wait(0.1)
        os.close(self._write_fd)  # the reader sees the end of the pipe
        self._pipe_closed = True
        self._drained.wait(STOP_GRACE)

    def wait(self) -> int | None:
        """Block until the server exits by itself; its exit status."""
        while not self._exited.wait(0.2):  # wakes up for Ctrl+C
            pass
        return self.exit_status
