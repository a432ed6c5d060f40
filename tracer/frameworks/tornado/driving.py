"""Send a Tornado app one request in-process: an HTTP/1.1 exchange over a socket pair,
served by Tornado's own `HTTPServer` on an IOLoop flaskscope makes for the request and
closes after it. Nothing listens on a port; the app meets the bytes a client would send
(method, path, headers, body) and the status read back is the one it wrote.
"""

from __future__ import annotations

import json as jsonlib
import socket
from typing import Any
from urllib.parse import quote, urlencode

from tracer.errors import AppLoadError

#: How long one request may take before flaskscope gives up on it (seconds).
TIMEOUT = 60.0


def request_bytes(method: str, path: str, headers: list[tuple[str, str]],
                  body: bytes | None) -> bytes:
    """The request as a client sends it; `Connection: close`, so the response ends the
    exchange."""
    target = quote(path, safe="/?&=%:@!$'()*+,;~#[]")
    names = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append("Host: localhost")
    lines.extend(f"{name}: {value}" for name, value in headers)
    if body is not None and "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + (body or b"")


def spec_bytes(spec: Any) -> bytes:
    """A `RequestSpec` (what `-d`, `-H` and `--json` said) as request bytes."""
    headers = [(str(n), str(v)) for n, v in spec.headers]
    names = {name.lower() for name, _ in headers}
    body: bytes | None = None
    if spec.has_json:
        body = jsonlib.dumps(spec.json).encode()
        if "content-type" not in names:
            headers.append(("Content-Type", "application/json"))
    elif spec.data:
        body = urlencode(list(spec.data)).encode()
        if "content-type" not in names:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    return request_bytes(spec.method, spec.path, headers, body)


def status_of(response: bytes) -> int | None:
    """The status code of a raw HTTP response (None when there is no status line)."""
    first = response.split(b"\r\n", 1)[0].split()
    try:
        return int(first[1]) if len(first) > 1 and first[0].startswith(b"HTTP/") else None
    except ValueError:
        return None


def exchange(app: Any, raw: bytes) -> bytes:
    """Serve `raw` to `app` and return the raw response (empty when none came)."""
    from tornado.ioloop import IOLoop

    loop = IOLoop(make_current=False)
    try:
        return loop.run_sync(lambda: _serve(app, raw), timeout=TIMEOUT)
    except TimeoutError:
        raise AppLoadError(f"the app sent no whole response within {TIMEOUT:.0f} seconds") \
            from None
    finally:
        loop.close(all_fds=True)


async def _serve(app: Any, raw: bytes) -> bytes:
    from tornado.httpserver import HTTPServer
    from tornado.iostream import IOStream, StreamClosedError

    server_end, client_end = socket.socketpair()
    server = HTTPServer(app)
    server.handle_stream(IOStream(server_end), ("127.0.0.1", 0))
    client = IOStream(client_end)
    try:
        await client.write(raw)
        try:
            return bytes(await client.read_until_close())
        except StreamClosedError:
            return b""
    finally:
        client.close()
        server.stop()
        await server.close_all_connections()


def send(app: Any, spec: Any) -> int | None:
    """Send one request; the status the app wrote, or None when no response came."""
    return status_of(exchange(app, spec_bytes(spec)))
