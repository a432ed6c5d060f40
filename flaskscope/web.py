"""The live report's own web server: `flaskscope serve APP --web`.

It listens on a loopback port of its own (never the app's), serves the report page at `/`
and a stream of server-sent events at `/events`, one message per request the app
finished. It answers only requests whose Host names its own address (a page elsewhere
cannot reach it by pointing a name at 127.0.0.1), and sends the page's
Content-Security-Policy as a header too.
"""

from __future__ import annotations

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from viewer.report.embed import json_for_script
from viewer.report.live import LiveReport
from viewer.report.page import content_security_policy

#: How often an idle event stream says it is alive (seconds).
KEEPALIVE = 15.0


class WebServer:
    """Serves one `LiveReport` until `stop`; `publish` sends new requests to open pages."""

    def __init__(self, report: LiveReport, host: str = "127.0.0.1", port: int = 0) -> None:
        self.report = report
        self._streams: list[queue.Queue[dict[str, Any] | None]] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self.httpd.daemon_threads = True
        address = self.httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="flaskscope-web")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            for stream in self._streams:
                stream.put(None)
        self.httpd.shutdown()
        self.httpd.server_close()

    def publish(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            for stream in self._streams:
                for message in messages:
                    stream.put(message)

    def subscribe(self) -> queue.Queue[dict[str, Any] | None]:
        stream: queue.Queue[dict[str, Any] | None] = queue.Queue()
        with self._lock:
            self._streams.append(stream)
        return stream

    def unsubscribe(self, stream: queue.Queue[dict[str, Any] | None]) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    def allowed_host(self, host: str | None) -> bool:
        return host in (f"{self.host}:{self.port}", f"localhost:{self.port}")


def _event(message: dict[str, Any]) -> bytes:
    """One server-sent event: JSON on a single `data:` line (JSON escapes newlines)."""
    return b"data: " + json_for_script(message).encode("utf-8") + b"\n\n"


def _handler_for(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "flaskscope"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: the console prints the app's requests, not the page's."""

        def _headers(self, status: int, content_type: str, length: int | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", content_security_policy(live=True))
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()

        def _plain(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            self._headers(status, "text/plain; charset=utf-8", len(body))
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            if not server.allowed_host(self.headers.get("Host")):
                self._plain(403, "unknown host\n")
                return
            url = urlsplit(self.path)
            if url.path == "/":
                body = server.report.page().encode("utf-8")
                self._headers(200, "text/html; charset=utf-8", len(body))
                self.wfile.write(body)
            elif url.path == "/events":
                self._stream(parse_qs(url.query).get("from", ["0"])[0])
            else:
                self._plain(404, "not found\n")

        def _stream(self, seen: str) -> None:
            stream = server.subscribe()
            try:
                self._headers(200, "text/event-stream; charset=utf-8")
                last = int(seen) if seen.isdigit() else 0
                for backlog in server.report.since(last):
                    self.wfile.write(_event(backlog))
                    last = max(last, backlog["summary"]["phase"])
                self.wfile.flush()
                while True:
                    try:
                        message = stream.get(timeout=KEEPALIVE)
                    except queue.Empty:
                        self.wfile.write(b": alive\n\n")
                        self.wfile.flush()
                        continue
                    if message is None:
                        return
                    if message["summary"]["phase"] <= last:
                        continue  # already sent from the backlog
                    self.wfile.write(_event(message))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            finally:
                server.unsubscribe(stream)

    return Handler


