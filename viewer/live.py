"""What a live recording says as requests arrive: the banner, one line per request, the
last word on the traces written, and the feed that hands each new request to a running
viewer.

Everything here reads the server's events (plain dicts, see `tracer.live.spool`) and the
trace files they name; it never starts or stops a server. Event fields come from the
client (method, path) or quote it (a problem's message), so they go through `visible`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracer.errors import FlaskscopeError
from tracer.live.config import STOP_GRACE, STOP_TIMEOUT, is_loopback, url_of
from tracer.live.event_traces import EventTraces
from viewer.textsafe import visible


def banner(app: str, host: str, port: int, spool: str | None, reload: bool, *,
           store: str | None = None, keeping: str = "") -> list[str]:
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
    if store:
        kept = f" (keeping {keeping})" if keeping else ""
        lines.append(f" * requests are stored in {visible(store)}{kept}")
    if reload:
        lines.append(" * reloader on: a saved change restarts the server, still recording")
    return lines


def request_line(event: dict[str, Any]) -> str:
    """One printed line per finished request (method, path and query as the client sent
    them, escaped), as `flaskscope requests` lists it."""
    status = "-" if event.get("status") is None else event["status"]
    endpoint = f"  {visible(str(event['endpoint']))}" if event.get("endpoint") else ""
    query = f"?{event['query']}" if event.get("query") else ""
    method, path = visible(str(event["method"])), visible(str(event["path"]) + str(query))
    return (f"#{event['id']} {method} {path} → {status} {visible(str(event['outcome']))}"
            f"{endpoint}  {event['duration_ms']:.1f} ms  {event['steps']} steps")


def pruned_line(event: dict[str, Any]) -> str:
    """The oldest requests dropped from the store, and the limit that dropped them."""
    count = int(event.get("count", 0))
    return (f"{count} oldest request{'s' if count != 1 else ''} dropped from the store to "
            f"keep {visible(str(event.get('keeping', '')))}")


def message_of(event: dict[str, Any]) -> str:
    """An `error` or `problem` event's message as shown: a problem quotes what the client
    sent (a request's method and path), so it is escaped."""
    message = str(event.get("message", ""))
    return visible(message) if event.get("event") == "problem" else message


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
        self._traces = EventTraces()
        self._thread = threading.Thread(target=self._run, name="flaskscope-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def handle(self, event: dict[str, Any]) -> None:
        self.events.put(event)

    def close(self) -> None:
        self.events.put(None)
        self._thread.join(STOP_GRACE)

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
        kind = event.get("event")
        if kind == "request":
            try:
                trace = self._traces.of(event)
            except FlaskscopeError as exc:
                self.app.call_from_thread(self.app.notify, visible(str(exc)),
                                          severity="warning", markup=False)
                return
            self.app.call_from_thread(self.app.add_requests, trace)
            self.added += 1
        elif kind == "reloading":
            self.app.call_from_thread(self.app.notify, "code changed: restarting the server")
        elif kind in ("error", "problem"):
            self.app.call_from_thread(self.app.notify, message_of(event),
                                      severity="error", timeout=15, markup=False)
        elif kind == "exited":
            self.app.call_from_thread(
                self.app.notify, f"the server stopped (status {event.get('status')})",
                severity="error", timeout=30)


class Relay:
    """The server's events for a live feed that does not exist yet: the viewer is built
    from the registration the `ready` event names, so the first event saying whether the
    server started (`ready`, `error`, `exited`) is `first()`, and the others wait for
    `feed`, which hands them over in order and every later one as it comes."""

    def __init__(self) -> None:
        self._first: queue.Queue[dict[str, Any]] = queue.Queue()
        self._early: list[dict[str, Any]] = []
        self._feed: LiveFeed | None = None
        self._lock = threading.Lock()

    def handle(self, event: dict[str, Any]) -> None:
        with self._lock:
            if self._feed is not None:
                self._feed.handle(event)
            elif event.get("event") in ("ready", "error", "exited"):
                self._first.put(event)
            else:
                self._early.append(event)

    def first(self) -> dict[str, Any]:
        """Block until the server has started or failed to."""
        return self._first.get()

    def feed(self, live: LiveFeed) -> None:
        with self._lock:
            self._feed = live
            for waiting in self._early:
                live.handle(waiting)
