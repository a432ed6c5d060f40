"""From the recording server's events to the live report page: the registration when the
app is ready, then each finished request's trace file."""

from __future__ import annotations

from typing import Any

from flaskscope.report_command import narrator
from flaskscope.web import WebServer
from tracer.errors import FlaskscopeError
from tracer.live.event_traces import EventTraces
from tracer.tracefile import load
from viewer.explain.i18n import SOURCE_LANGUAGE
from viewer.report.live import LiveReport


class LivePage:
    """Starts the page's server when the app is first ready and feeds it each request."""

    def __init__(self, app: str, port: int, lang: str = SOURCE_LANGUAGE) -> None:
        self.app = app
        self.port = port
        self.lang = lang
        self.server: WebServer | None = None
        self._traces = EventTraces()  # each request's trace: its file or its store row

    def handle(self, event: dict[str, Any]) -> str | None:
        """Act on one event; a line for the console, or None."""
        kind = event.get("event")
        try:
            if kind == "ready" and self.server is None:
                report = LiveReport(load(event["registration"]), narrator, lang=self.lang,
                                    title=f"flaskscope serve {self.app}")
                self.server = WebServer(report, port=self.port)
                self.server.start()
                return (f" * live report page on {self.server.url} (loopback only): each "
                        "request's steps appear there as it finishes")
            if kind == "request" and self.server is not None:
                self.server.publish(self.server.report.add(self._traces.of(event)))
        except FlaskscopeError as exc:
            return f" * the live page could not show this: {exc}"
        except OSError as exc:
            return f" * the live page could not start: {exc.strerror}"
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
