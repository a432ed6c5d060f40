"""httpbin as deployed with its Swagger UI (the `mainapp` extra): a whole third-party app of
sixty routes, imported afresh under the recorder.

Its views go through `decorator`-made layers (`gzip`, `brotli`), an after-request function
on every response, a before-request function that refuses chunked bodies with `abort(501)`,
redirects of every kind, auth challenges, cookies, conditional responses and flasgger's
blueprint. It has no error handler of its own: exceptions reach Flask's default 500.
"""

from __future__ import annotations

import httpbin.core

from .harness import Ask

app = httpbin.core.app

ASKS = [
    Ask("GET", "/get?show=env", 200, body='"show": "env"'),
    Ask("HEAD", "/get", 200),
    Ask("OPTIONS", "/get", 200, headers={"Origin": "https://example.com"}),
    Ask("POST", "/get", 405),
    Ask("POST", "/post", 200, json={"a": 1}, body='"a": 1'),
    Ask("PATCH", "/anything/deep/path", 200, body="deep/path"),
    Ask("GET", "/status/418", 418, body="teapot"),
    Ask("GET", "/status/503", 503),
    Ask("GET", "/status/abc", 400, body="Invalid status code"),
    Ask("GET", "/redirect/2", 302),
    Ask("GET", "/redirect-to?url=/get&status_code=307", 307),
    Ask("GET", "/absolute-redirect/1", 302),
    Ask("GET", "/cookies/set?flavour=oat", 302),
    Ask("GET", "/cookies", 200, body="oat"),
    Ask("GET", "/basic-auth/user/passwd", 401),
    Ask("GET", "/basic-auth/user/passwd", 200,
        headers={"Authorization": "Basic dXNlcjpwYXNzd2Q="}, body="authenticated"),
    Ask("GET", "/bearer", 401),
    Ask("GET", "/cache", 304, headers={"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}),
    Ask("GET", "/etag/abc", 200, headers={"If-Match": "abc"}),
    Ask("GET", "/gzip", 200),
    Ask("GET", "/brotli", 200),
    Ask("GET", "/base64/SFRUUEJJTiBpcyBhd2Vzb21l", 200, body="HTTPBIN is awesome"),
    Ask("GET", "/json", 200, body="slideshow"),
    Ask("GET", "/html", 200, body="Herman Melville"),
    Ask("GET", "/robots.txt", 200),
    Ask("GET", "/delay/soon", 500, body="Internal Server Error"),
    Ask("POST", "/post", 501, headers={"Transfer-Encoding": "chunked"},
        reaches="Flask.handle_http_exception"),
    Ask("GET", "/spec.json", 200, body="httpbin.org"),
    Ask("GET", "/", 200, body="httpbin"),
    Ask("GET", "/flasgger_static/swagger-ui.css", 200),
    Ask("GET", "/nope", 404),
]
